"""The operations of the contract, read from the resolved document: one `Operation` per `operationId`.

Routing, validation, generation, documentation and judging all start from here; nothing in the
packages names an operation or its path. Adding an operation to the spec adds an `Operation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from spec._pointer import escape_token

if TYPE_CHECKING:
    from spec._loader import Relation

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE = "application/json"
_TEMPLATE_PARAMETER = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, resolved: its route, parameters, bodies, answers and relations.

    Example:
        >>> from spec import load_spec
        >>> operation = load_spec().operations["createTask"]
        >>> operation.method, operation.match_path(operation.path(streamId="st-1"))
        ('POST', {'streamId': 'st-1'})
    """

    id: str
    method: str
    path_template: str
    # JSON pointer of the operation object in the resolved document (`/paths/<path>/<method>`).
    pointer: str
    definition: Mapping[str, Any] = field(repr=False)
    # The path item's parameters, then the operation's own (an operation's entry overrides by name+in).
    parameters: tuple[Mapping[str, Any], ...] = field(repr=False)
    relations: tuple[Relation, ...] = field(repr=False, default=())
    path_parameters: tuple[str, ...] = ()
    path_regex: re.Pattern[str] = field(repr=False, default=re.compile(""))

    # -- the request ---------------------------------------------------------------------------

    @property
    def request_body(self) -> Mapping[str, Any] | None:
        """The `requestBody` object, or None when the operation takes no body."""
        return self.definition.get("requestBody")

    @property
    def body_required(self) -> bool:
        """Whether the operation requires a body."""
        body = self.request_body
        return bool(body and body.get("required", False))

    @property
    def request_media_types(self) -> tuple[str, ...]:
        """The media types the request body is documented in."""
        body = self.request_body
        return tuple(body.get("content", {})) if body else ()

    @property
    def request_schema(self) -> Mapping[str, Any] | None:
        """JSON Schema of the JSON request body, or None."""
        body = self.request_body
        media = body.get("content", {}).get(JSON_MEDIA_TYPE) if body else None
        return media.get("schema") if media else None

    @property
    def request_examples(self) -> dict[str, Any]:
        """Named request examples: name -> body."""
        body = self.request_body
        media = body.get("content", {}).get(JSON_MEDIA_TYPE, {}) if body else {}
        return {name: example["value"] for name, example in media.get("examples", {}).items()}

    def parameters_in(self, location: str) -> tuple[Mapping[str, Any], ...]:
        """The parameters of one location (`path`, `header`, `query`, `cookie`)."""
        return tuple(p for p in self.parameters if p.get("in") == location)

    def path(self, **values: str) -> str:
        """The operation's path with its parameters filled in, each percent-encoded as one segment."""
        missing = sorted(set(self.path_parameters) - set(values))
        if missing:
            raise ValueError(f"{self.id}: no value for path parameter(s) {', '.join(missing)}")
        return _TEMPLATE_PARAMETER.sub(lambda m: quote(str(values[m.group(1)]), safe=""), self.path_template)

    def match_path(self, path: str) -> dict[str, str] | None:
        """The path parameters when `path` (percent-decoded) is this operation's path, else None."""
        match = self.path_regex.match(path)
        if match is None:
            return None
        return {name: match.group(f"p{i}") for i, name in enumerate(self.path_parameters)}

    # -- the answers -----------------------------------------------------------------------------

    @property
    def responses(self) -> Mapping[str, Any]:
        """The `responses` object: status -> response."""
        return self.definition.get("responses", {})  # type: ignore[no-any-return]

    @property
    def documented_statuses(self) -> frozenset[int]:
        """HTTP statuses the operation documents."""
        return frozenset(int(status) for status in self.responses if str(status).isdigit())

    @property
    def success_status(self) -> int:
        """The 2xx status of a successful call (the lowest documented)."""
        return min((s for s in self.documented_statuses if 200 <= s < 300), default=200)

    def response_media_types(self, status: int | str) -> tuple[str, ...]:
        """The media types documented for an answer of `status` (empty when none or undocumented)."""
        response = self.responses.get(str(status))
        return tuple(sorted(response.get("content", {}))) if response else ()

    def response_schema(self, status: int | str | None = None) -> Mapping[str, Any] | None:
        """JSON Schema of the JSON answer documented for `status` (default: the success status)."""
        response = self.responses.get(str(self.success_status if status is None else status))
        media = response.get("content", {}).get(JSON_MEDIA_TYPE) if response else None
        return media.get("schema") if media else None

    def response_examples(self, status: int | str | None = None) -> dict[str, Any]:
        """Named examples of the answer documented for `status` (default: the success status)."""
        response = self.responses.get(str(self.success_status if status is None else status))
        media = response.get("content", {}).get(JSON_MEDIA_TYPE, {}) if response else {}
        return {name: example["value"] for name, example in media.get("examples", {}).items()}

    @property
    def summary(self) -> str:
        """The operation's one-line summary."""
        return str(self.definition.get("summary", self.id))


@dataclass(frozen=True)
class RouteMatch:
    """A request path matched to an operation: the operation and its path parameters."""

    operation: Operation
    path_params: Mapping[str, str]


def path_regex(template: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """The parameter names of a path template and a pattern matching its paths (group `p<i>` each).

    A parameter matches one non-empty segment (any character but `/`, newlines included), and the
    whole path must match (`\\Z`, so a trailing newline is not forgiven as `$` would).
    """
    names: list[str] = []
    parts: list[str] = []
    last = 0
    for match in _TEMPLATE_PARAMETER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<p{len(names)}>[^/]+)")
        names.append(match.group(1))
        last = match.end()
    parts.append(re.escape(template[last:]))
    return tuple(names), re.compile("^" + "".join(parts) + r"\Z", re.DOTALL)


def iter_operations(resolved: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]:
    """(path template, method, path item, operation object) for every operation, in document order."""
    for template, item in resolved.get("paths", {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), Mapping):
                yield str(template), method, item, item[method]


def operation_pointer(template: str, method: str) -> str:
    """JSON pointer of an operation object in the resolved document."""
    return f"/paths/{escape_token(template)}/{method}"


def merged_parameters(item: Mapping[str, Any], operation: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The path item's parameters overridden (by name and location) by the operation's own."""
    own = list(operation.get("parameters", []))
    keys = {(p.get("name"), p.get("in")) for p in own}
    inherited = [p for p in item.get("parameters", []) if (p.get("name"), p.get("in")) not in keys]
    return (*inherited, *own)
