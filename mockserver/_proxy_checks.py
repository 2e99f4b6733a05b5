"""What the validation proxy checks: a request against the contract, and the upstream's answer to it.

Requests to the createTask operation are checked by the mock's own `ContractValidator` (parameters and
body, with the mock's pointers and explanations), plus the transport rules the mock checks itself
(content type, the `auth` header). Answers are checked for a documented status, the documented media
type, the schema documented for that status (the task for 200, the error envelope otherwise) and, for a
200, every `x-contract-relations` entry. Each finding is a `ContractViolation` with a direction, a
pointer and its basis (`seed`, or `decision` when a seed decision makes the rule).

A body or answer nested deeper than the contract's schemas look (`CHECKED_DEPTH`) is checked with its
deeper containers cut short: the verdicts are the same, and jsonschema, which puts the repr of a failing
value in its message, never meets a value too deep to repr (about 1000 levels raise RecursionError;
orjson parses up to 1024).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from werkzeug.datastructures import Headers

from mockserver._errors import Kind, Violation
from mockserver._state import StateStore
from mockserver._validation import ContractValidator, content_type_violation, missing_required, pointer
from spec import MISSING, ContractSpec, RequestFacts, check_relations

REQUEST = "request"
RESPONSE = "response"
SEED = "seed"
DECISION = "decision"
# The mock's explanations name the decision behind a tightened constraint as "(decision `id`)".
_DECISION_IN_DETAIL = re.compile(r"decision `([^`]+)`")
# Keywords whose `x-decision` on the failing schema means the rule is a decision's, not the page's.
_DECIDED_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format", "minItems", "maxItems"})
# The platform's order of checks: a refused content type before auth, auth before the body.
_STAGES = {Kind.UNSUPPORTED_MEDIA_TYPE: 0, Kind.UNAUTHORIZED: 1}
# `unique` values remembered per relation; beyond this the oldest are forgotten (memory stays bounded).
UNIQUE_MEMORY = 100_000
# Far deeper than any schema of the contract looks (a task's, 4 levels), far shallower than Python's
# recursion limit and orjson's 254-level limit when dumping.
CHECKED_DEPTH = 32
CUT_MARK = f"<nested deeper than {CHECKED_DEPTH} levels: cut for checking>"


@dataclass(frozen=True)
class ContractViolation:
    """One thing the request or the answer does wrong by the contract, as the journal keeps it."""

    direction: str
    check: str
    pointer: str
    msg: str
    basis: str = SEED
    decision: str | None = None
    detail: str = ""

    def entry(self) -> dict[str, Any]:
        """The journal's form: direction, check, pointer, msg, basis (and decision, detail when known)."""
        entry: dict[str, Any] = {
            "direction": self.direction,
            "check": self.check,
            "pointer": self.pointer,
            "msg": self.msg,
            "basis": self.basis,
        }
        if self.decision:
            entry["decision"] = self.decision
        if self.detail:
            entry["detail"] = self.detail
        return entry

    def __str__(self) -> str:
        where = "" if self.msg.startswith(self.pointer) else f"{self.pointer}: "
        label = ""
        if self.basis == DECISION:
            label = f" [decision {self.decision}]" if self.decision else " [decision]"
        return f"{self.direction} {where}{self.msg}{label}"


@dataclass(frozen=True)
class RequestCheck:
    """A request as the proxy judged it, kept to judge the answer."""

    violations: tuple[ContractViolation, ...]
    # True for the documented operation (POST on the createTask path): its answer is checked too.
    operation: bool = False
    stream_id: str = ""
    body: Any = MISSING
    headers: Mapping[str, str] = field(default_factory=dict)
    # What `--strict` answers instead of forwarding (the first stage's violations); empty: forward.
    refusal: tuple[Violation, ...] = ()


class _SharedValues(set[str]):
    """The values of one `unique` relation, kept in the shared state file so every worker sees all answers.

    `check_relations` asks `key in values` and then, for a new key, `values.add(key)`. Here the
    membership test records the key in the same statement (`StateStore.remember`), so two workers
    meeting the same new value at the same moment cannot both find it new; `add` has nothing left to do.
    """

    def __init__(self, store: StateStore, relation_id: str, keep: int) -> None:
        super().__init__()
        self._store = store
        self._kind = f"unique:{relation_id}"
        self._keep = keep

    def __contains__(self, key: object) -> bool:
        return not self._store.remember(self._kind, str(key), keep=self._keep)

    def add(self, key: str) -> None:
        """Recorded already by the membership test."""


def shared_seen(contract: ContractSpec, store: StateStore) -> dict[str, set[str]]:
    """The `seen` of `check_relations` for the proxy's workers: one shared record per `unique` relation."""
    unique = [r.id for r in contract.relations if r.kind == "unique"]
    keep = UNIQUE_MEMORY * max(1, len(unique))
    return {relation_id: _SharedValues(store, relation_id, keep) for relation_id in unique}


class ContractChecker:
    """Judges requests and answers against the contract; one per app, shared by a worker's threads.

    The `unique` relations (a new `_id`, a new `refId`) compare each answer with every earlier answer
    (up to UNIQUE_MEMORY values each): the ones `seen` holds, `shared_seen(...)`, the answers of all
    the proxy's workers, kept in its state file.
    """

    def __init__(self, contract: ContractSpec, *, seen: dict[str, set[str]]) -> None:
        self.contract = contract
        self.validator = ContractValidator(contract)
        self.path_regex = contract.path_regex
        self.methods = frozenset(
            m.upper() for m in contract.resolved["paths"][contract.path_template] if m != "parameters"
        )
        self.auth_header = next(iter(contract.auth_headers.values()), "auth")
        responses = contract.operation["responses"]
        self.documented = frozenset(int(status) for status in responses)
        self.media_types = {
            int(status): tuple(sorted(response.get("content", {}))) for status, response in responses.items()
        }
        self._seen = seen

    # -- requests ------------------------------------------------------------------------------

    def check_request(
        self,
        *,
        method: str,
        path: str,
        headers: Headers,
        query: Mapping[str, Any],
        cookies: Mapping[str, Any],
        body: bytes,
    ) -> RequestCheck:
        """Judge a request: the path and method, then (for the operation) content type, auth and body."""
        header_map = dict(headers.items())
        match = self.path_regex.match(path)
        if match is None:
            return RequestCheck(
                (
                    ContractViolation(
                        REQUEST,
                        "path",
                        "/path",
                        f"path not in the contract: {path}",
                        detail=f"Received: {method} {path}. Documented: POST {self.contract.path_template} only. "
                        "The request was forwarded; its answer is not checked.",
                    ),
                ),
                headers=header_map,
            )
        stream_id = match.group("streamId")
        if method not in self.methods:
            return RequestCheck(
                (
                    ContractViolation(
                        REQUEST,
                        "method",
                        "/method",
                        f"method {method} is not documented on this path",
                        detail=f"Received: {method}. Documented: {', '.join(sorted(self.methods))} "
                        f"{self.contract.path_template}. The request was forwarded; its answer is not checked.",
                    ),
                ),
                stream_id=stream_id,
                headers=header_map,
            )
        found: list[Violation] = []
        content_type = headers.get("Content-Type")
        media_type = content_type_violation(content_type, body)
        if media_type is not None:
            found.append(media_type)
        auth = self._auth_violation(headers)
        if auth is not None:
            found.append(auth)
        parsed: Any = MISSING
        malformed = False
        checked = body  # what the validator reads: the body, or its deep levels cut short
        if body and media_type is None:
            result = self.validator.parse_body(body)
            if result.violation is not None:
                found.append(result.violation)
                malformed = True
            else:
                parsed, cut = cut_deep(result.value, body)
                if cut:
                    checked = orjson.dumps(parsed)
        for violation in self.validator.request_violations(
            stream_id=stream_id,
            headers=headers,
            query=query,
            cookies=cookies,
            content_type=content_type or "",
            body=checked,
            # Auth and the content type are judged above with the mock's own rules, and a body it could
            # not read was reported already.
            security=False,
            check_body=media_type is None and not malformed,
        ):
            if violation.kind is not Kind.UNSUPPORTED_MEDIA_TYPE:
                found.append(violation)
        found.sort(key=lambda v: _STAGES.get(v.kind, 2))
        first_stage = _STAGES.get(found[0].kind, 2) if found else None
        return RequestCheck(
            tuple(_from_request_violation(v) for v in found),
            operation=True,
            stream_id=stream_id,
            body=parsed,
            headers=header_map,
            refusal=tuple(v for v in found if _STAGES.get(v.kind, 2) == first_stage),
        )

    def _auth_violation(self, headers: Headers) -> Violation | None:
        """A missing or empty `auth` header; whether the token is good is the upstream's to say."""
        token = headers.get(self.auth_header)
        if token is not None and token.strip():
            return None
        hint = (
            " An `Authorization` header was sent: the platform reads the JWT from `auth`."
            if headers.get("Authorization") is not None
            else ""
        )
        state = "missing" if token is None else "empty"
        return Violation(
            Kind.UNAUTHORIZED,
            f"the `{self.auth_header}` header is {state}",
            f"/header/{self.auth_header}",
            f"Received: {'no' if token is None else 'an empty'} `{self.auth_header}` header.{hint} "
            f"Documented: the `{self.auth_header}` header carries the app's JWT (security scheme).",
        )

    # -- answers -------------------------------------------------------------------------------

    def check_response(
        self, request: RequestCheck, *, status: int, content_type: str | None, body: bytes | None
    ) -> list[ContractViolation]:
        """Judge the upstream's answer to an operation request; `body` None means it could not be read."""
        if not request.operation:
            return []
        found: list[ContractViolation] = []
        if status not in self.documented:
            found.append(
                ContractViolation(
                    RESPONSE,
                    "status",
                    "/status",
                    f"status {status} is not documented for this operation",
                    detail=f"Received: {status}. Documented: {', '.join(map(str, sorted(self.documented)))}.",
                )
            )
        if request.violations and 200 <= status < 300:
            found.append(_accepted_invalid(request.violations, status))
        expected = self.media_types.get(status) or (("application/json",) if status >= 400 else ())
        if not expected:
            return found
        mimetype = (content_type or "").partition(";")[0].strip().lower()
        if mimetype not in expected:
            found.append(
                ContractViolation(
                    RESPONSE,
                    "content-type",
                    "/header/content-type",
                    f"Content-Type {content_type!r} on a {status}; documented: {' or '.join(expected)}",
                    detail=f"Received: {content_type!r}. Documented: {' or '.join(expected)} for {status}.",
                )
            )
        if body is None:
            return found
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            found.append(
                ContractViolation(
                    RESPONSE,
                    "schema",
                    "/body",
                    f"the {status} answer is not JSON ({exc})",
                    detail=f"Received: {len(body)} bytes starting {body[:60]!r}. "
                    f"Documented: {'the task' if status == 200 else 'the error envelope'} as JSON.",
                )
            )
            return found
        document, _ = cut_deep(document, body)
        found.extend(self._schema_violations(status, document))
        if status == 200 and isinstance(document, Mapping):
            found.extend(self._relation_violations(request, document))
        return found

    def _schema_violations(self, status: int, document: Any) -> Iterable[ContractViolation]:
        title = "Task" if status == 200 else "error envelope"
        for error in self.validator.answer_errors(status, document):
            tokens = list(error.absolute_path)
            if error.validator == "required":
                missing = missing_required(error)
                if missing is not None:
                    tokens.append(missing)
            where = pointer("/body", tokens)
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            decision = schema.get("x-decision") if error.validator in _DECIDED_KEYWORDS else None
            yield ContractViolation(
                RESPONSE,
                "schema",
                where,
                f"{where}: {error.message}",
                basis=DECISION if decision else SEED,
                decision=decision,
                detail=f"Documented: the {title} schema of the {status} answer ({error.validator}).",
            )

    def _relation_violations(
        self, request: RequestCheck, document: Mapping[str, Any]
    ) -> Iterable[ContractViolation]:
        facts = RequestFacts(
            body=request.body if request.body is not MISSING else {},
            path={"streamId": request.stream_id},
            headers=request.headers,
        )
        # No lock: each `unique` relation's check-then-remember is one atomic statement (_SharedValues).
        broken = check_relations(self.contract.relations, facts, document, seen=self._seen)
        for violation in broken:
            relation = violation.relation
            target = relation.response or (relation.pointers[0] if relation.pointers else "")
            yield ContractViolation(
                RESPONSE,
                f"relation:{relation.id}",
                pointer("/body", [t.replace("~1", "/").replace("~0", "~") for t in target.split("/")[1:]]),
                f"{violation.detail} (relation {relation.id}); received {violation.received!r}, "
                f"documented {violation.expected!r}",
                basis=relation.basis,
                decision=relation.decision,
                detail=relation.description,
            )


def cut_deep(document: Any, raw: bytes = b"") -> tuple[Any, bool]:
    """The document with containers nested deeper than CHECKED_DEPTH replaced by a one-item stand-in
    of the same type holding CUT_MARK; and whether anything was cut."""
    if raw and raw.count(b"[") + raw.count(b"{") <= CHECKED_DEPTH:
        return document, False  # too few brackets to nest that deep: no walk
    if not _deeper_than(document, CHECKED_DEPTH):
        return document, False
    return _cut(document, CHECKED_DEPTH), True


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether a container lies `levels` or more containers below `value` (recursing at most that deep)."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if children is None:
        return False
    if levels == 0:
        return True
    return any(_deeper_than(child, levels - 1) for child in children if isinstance(child, (dict, list)))


def _cut(value: Any, levels: int) -> Any:
    if not isinstance(value, (dict, list)):
        return value
    if levels == 0:
        return {CUT_MARK: CUT_MARK} if isinstance(value, dict) else [CUT_MARK]
    if isinstance(value, dict):
        return {k: _cut(v, levels - 1) for k, v in value.items()}
    return [_cut(v, levels - 1) for v in value]


def _from_request_violation(violation: Violation) -> ContractViolation:
    check = {
        Kind.UNSUPPORTED_MEDIA_TYPE: "content-type",
        Kind.UNAUTHORIZED: "auth",
        Kind.MALFORMED_BODY: "body",
    }.get(violation.kind, "body" if violation.pointer.startswith("/body") else "parameter")
    decided = _DECISION_IN_DETAIL.search(violation.detail)
    return ContractViolation(
        REQUEST,
        check,
        violation.pointer,
        violation.msg,
        basis=DECISION if decided else SEED,
        decision=decided.group(1) if decided else None,
        detail=violation.detail,
    )


def _accepted_invalid(violations: Iterable[ContractViolation], status: int) -> ContractViolation:
    """A 2xx to a request the contract rejects; a decision's when every rule it broke is a decision's."""
    broken = list(violations)
    decisions = sorted({v.decision for v in broken if v.decision})
    by_decision = all(v.basis == DECISION for v in broken)
    return ContractViolation(
        RESPONSE,
        "acceptance",
        "/status",
        f"the upstream answered {status} to a request the contract rejects ({broken[0]})",
        basis=DECISION if by_decision else SEED,
        decision=", ".join(decisions) if by_decision else None,
        detail=f"Received: {status} for a request with {len(broken)} violation(s). "
        "Documented: an invalid request is refused (400, 401 or 415) in the error envelope.",
    )
