"""Per-request control with Prism's grammar: `Prefer: code=401, example=name, dynamic=false, seed=7`.

The same preferences can be given as `__code`, `__example`, `__dynamic` and `__seed` query parameters
(a query parameter wins over the header). Unknown preferences are ignored, as RFC 7240 asks, so a
client sending `Prefer: return=representation` is unaffected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers

from mockserver._errors import Kind, Violation
from spec import ContractSpec, Operation

PREFER_KEYS = ("code", "example", "dynamic", "seed")
_SPLIT = re.compile(r"[,;]")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Control:
    """What the client asked the mock for, beyond the request itself."""

    code: int | None = None
    example: str | None = None
    dynamic: bool = True
    seed: int | None = None


@dataclass(frozen=True)
class Canned:
    """A documented answer returned verbatim: a named example of a status, with its documented headers."""

    status: int
    name: str
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class _Documented:
    """One operation's documented answers: its statuses, and its named examples by status and by name."""

    def __init__(self, operation: Operation) -> None:
        self.operation_id = operation.id
        self.success = operation.success_status
        self.statuses = tuple(sorted(operation.documented_statuses))
        self.by_status: dict[int, list[Canned]] = {}
        for status in self.statuses:
            response = operation.responses.get(str(status), {})
            headers = _documented_headers(response)
            self.by_status[status] = [
                Canned(status, name, body, headers)
                for name, body in operation.response_examples(status).items()
            ]
        self.by_name: dict[str, Canned] = {}
        # Success first, so that a name shared by a success and an error example means the success.
        for status in sorted(self.statuses, key=lambda s: (s != self.success, s)):
            for canned in self.by_status[status]:
                self.by_name.setdefault(canned.name, canned)

    def first(self, status: int) -> Canned | None:
        examples = self.by_status.get(status, [])
        return examples[0] if examples else None


class Controls:
    """Parses preferences and finds the documented answers they name, per operation; built once from the contract."""

    def __init__(self, contract: ContractSpec) -> None:
        self._operations = {op.id: _Documented(op) for op in contract.operations.values()}

    def documented(self, operation: Operation, status: int) -> Canned | None:
        """The first named example of one of the operation's statuses."""
        return self._operations[operation.id].first(status)

    def parse(self, operation: Operation, headers: Headers, query: Mapping[str, str]) -> Control | Violation:
        """The request's preferences for one operation, or a 400 violation naming what it does not document."""
        raw: dict[str, tuple[str, str]] = {}
        for item in _SPLIT.split(headers.get("prefer", "") or ""):
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if sep and key in PREFER_KEYS:
                raw[key] = (value.strip().strip('"'), "/header/prefer")
        for key in PREFER_KEYS:
            value = query.get(f"__{key}")
            if value is not None:
                raw[key] = (value.strip(), f"/query/__{key}")
        if not raw:
            return Control()
        documented = self._operations[operation.id]
        code = example = seed = None
        dynamic = True
        if "code" in raw:
            text, where = raw["code"]
            if not text.isdigit() or int(text) not in documented.statuses:
                return self._bad(
                    where,
                    f"code={text} is not a status the {operation.id} operation documents",
                    f"Received: code={text!r}. Documented: {', '.join(map(str, documented.statuses))}. "
                    f"Fix: ask for one of those, for example `Prefer: code={documented.statuses[-1]}`.",
                )
            code = int(text)
        if "example" in raw:
            example, where = raw["example"]
            canned = documented.by_name.get(example)
            candidates = (
                documented.by_status.get(code, []) if code is not None else list(documented.by_name.values())
            )
            names = [c.name for c in candidates]
            if example not in names:
                scope = f" for code {code}" if code is not None else ""
                return self._bad(
                    where,
                    f"example={example} is not a named example{scope}",
                    f"Received: example={example!r}. Documented{scope}: {', '.join(names) or 'none'}. "
                    "Fix: use one of those names.",
                )
            if code is None and canned is not None:
                code = canned.status
        if "dynamic" in raw:
            text, where = raw["dynamic"]
            if text.lower() not in _TRUE | _FALSE:
                return self._bad(
                    where,
                    f"dynamic={text} is not a boolean",
                    f"Received: dynamic={text!r}. Documented: true or false. Fix: `Prefer: dynamic=false`.",
                )
            dynamic = text.lower() in _TRUE
        if "seed" in raw:
            text, where = raw["seed"]
            try:
                seed = int(text)
            except ValueError:
                return self._bad(
                    where,
                    f"seed={text} is not an integer",
                    f"Received: seed={text!r}. Documented: an integer. Fix: `Prefer: seed=7`.",
                )
        return Control(code=code, example=example, dynamic=dynamic, seed=seed)

    def canned(self, operation: Operation, control: Control) -> Canned | None:
        """The documented answer a control asks for, or None when the answer is to be produced."""
        documented = self._operations[operation.id]
        if control.example is not None:
            for canned in documented.by_status.get(control.code or documented.success, []):
                if canned.name == control.example:
                    return canned
        if control.code is not None and control.code != documented.success:
            return documented.first(control.code) or Canned(
                control.code, "", {"errors": [{"msg": f"HTTP {control.code}", "code": control.code}]}
            )
        if not control.dynamic:
            return documented.first(documented.success)
        return None

    @staticmethod
    def _bad(where: str, msg: str, detail: str) -> Violation:
        return Violation(Kind.INVALID_CONTROL, f"{where}: {msg}", where, detail)


def _documented_headers(response: Mapping[str, Any]) -> dict[str, str]:
    """A response's documented headers, each with the first example of its schema (429 Retry-After: 30)."""
    headers = {}
    for name, spec in response.get("headers", {}).items():
        schema = spec.get("schema", {})
        examples = schema.get("examples") or ([spec["example"]] if "example" in spec else [])
        if examples:
            headers[name] = str(examples[0])
    return headers
