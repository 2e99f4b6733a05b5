"""A failing sequence of calls as numbered curl commands, and as a shell script that replays it.

The calls of a sequence name objects earlier calls created (an update's path, a task's `caseId`);
a replay gets new ids, so the script captures each id an answer gave and sends it on in a shell
variable instead of the id the run saw.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from contract_tests._client import Exchange, PreparedRequest
from contract_tests._curl import to_curl
from spec import Finding, resolve_pointer

# The pointer of an object's own id in a create's answer (spec/_sequences.py keys its store by it).
ID_POINTER = "/_id"
# Stands for a captured id while the curl is quoted; then replaced by the variable, quoted for where it is.
_SENTINEL = "KCTVARIABLE{}KCT"
_SENTINEL_RE = re.compile(r"KCTVARIABLE(\d+)KCT")


@dataclass(frozen=True)
class Call:
    """One call of a sequence: what the step did, in words, and the exchange."""

    title: str
    exchange: Exchange

    @property
    def created_id(self) -> str | None:
        """The id the answer gave the object it created (None when it is no create's answer)."""
        if self.exchange.status is None or not 200 <= self.exchange.status < 300:
            return None
        value = resolve_pointer(self.exchange.json(), ID_POINTER)
        return value if isinstance(value, str) and value else None


def step_texts(calls: Sequence[Call], *, show_secrets: bool) -> tuple[str, ...]:
    """Each call as a heading line (what it did, what it was answered) and its curl."""
    return tuple(
        f"{call.title}: answered {_answered(call.exchange)}\n"
        + to_curl(call.exchange.request, show_secrets=show_secrets)
        for call in calls
    )


def shell_script(
    calls: Sequence[Call], finding: Finding, *, seed: int, show_secrets: bool, placeholders: Sequence[str]
) -> str:
    """A bash script that sends the calls in order, each created id captured and reused.

    Example:
        >>> from spec import Basis, Direction, Finding
        >>> request = PreparedRequest("POST", "http://127.0.0.1:1/x", (), b"{}")
        >>> finding = Finding("relation:r", "op", Direction.RESPONSE, "", Basis.SEED, "got", "want")
        >>> script = shell_script([Call("op", Exchange(request, 200, body=b"{}"))], finding, seed=1, show_secrets=False, placeholders=())
        >>> script.splitlines()[0], "answer=$(curl" in script
        ('#!/usr/bin/env bash', True)
    """
    later_text = [_request_text(c.exchange.request) for c in calls]
    variables: dict[str, int] = {}
    lines = [
        "#!/usr/bin/env bash",
        f"# {finding.key} ({finding.operation}): the last call's answer breaks it.",
        f"#   Received:   {_one_line(finding.received)}",
        f"#   Documented: {_one_line(finding.documented)}",
        f"# Written by python -m contract_tests; replay the whole run with --seed {seed}.",
        "set -u",
    ]
    if not show_secrets:
        for name in dict.fromkeys(placeholders):
            bare = name.lstrip("$")
            lines.append(f': "${{{bare}:?export {bare} first (the token the run used)}}"')
    for number, call in enumerate(calls, 1):
        request = call.exchange.request
        for value, index in variables.items():
            request = _substituted(request, value, _SENTINEL.format(index))
        curl = _with_variables(to_curl(request, show_secrets=show_secrets))
        lines += [
            "",
            f"# {number}. {call.title} (the run was answered {_answered(call.exchange)})",
            f"answer=$({curl})",
            "printf '%s\\n' \"$answer\"",
        ]
        made = call.created_id
        if made is not None and any(made in text for text in later_text[number:]):
            variables[made] = number
            lines.append(
                f"ID_{number}=$(printf '%s' \"$answer\" | python3 -c "
                + shlex.quote(f"import json, sys; print(json.load(sys.stdin)[{ID_POINTER.lstrip('/')!r}])")
                + ")"
            )
    return "\n".join(lines) + "\n"


def write_script(directory: Path, number: int, finding: Finding, text: str) -> Path:
    """Write a failure's script as `<number>-<check>-<operation>.sh`, executable; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{finding.key}-{finding.operation}").strip("-")
    path = directory / f"{number:02d}-{slug}.sh"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def _answered(exchange: Exchange) -> str:
    if exchange.status is None:
        return f"nothing ({exchange.error})"
    return f"{exchange.status} {exchange.body_excerpt(160)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _request_text(request: PreparedRequest) -> str:
    return request.url + "\n" + (request.body or b"").decode("utf-8", errors="replace")


def _substituted(request: PreparedRequest, value: str, sentinel: str) -> PreparedRequest:
    body = request.body.replace(value.encode(), sentinel.encode()) if request.body is not None else None
    return replace(request, url=request.url.replace(value, sentinel), body=body)


def _with_variables(command: str) -> str:
    """`command` with each sentinel replaced by its `${ID_n}`, quoted for the shell context it sits in."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(command):
        found = _SENTINEL_RE.match(command, index)
        if found is not None:
            variable = f"${{ID_{found[1]}}}"
            out.append(f"'\"{variable}\"'" if quote == "'" else variable)
            index = found.end()
            continue
        char = command[index]
        if char == "\\" and quote != "'" and index + 1 < len(command):
            out.append(command[index : index + 2])
            index += 2
            continue
        if char in "'\"" and (not quote or quote == char):
            quote = "" if quote else char
        out.append(char)
        index += 1
    return "".join(out)
