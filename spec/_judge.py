"""The one judge of the contract: whether an answer keeps it, given the operation and the request.

The mock's self-check, the validation proxy and the contract tests all ask this module, so one
exchange gets one verdict wherever it is judged. A verdict is a `Judgement`: the checks that applied
and a `Finding` for each that failed. A finding carries structured fields (check, operation,
direction, JSON pointer, basis, decision) and the Received / Documented / Fix texts; no field is
written into prose to be parsed back.

Schemas are judged by `SchemaCheck`: jsonschema-rs compiled from the resolved schema with the OpenAPI
3.1 format checks plugged in, in front of `openapi_schema_validator`'s OAS 3.1 validator, which
decides and words anything the compiled check does not accept.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from spec._loader import ContractSpec, Relation, keyword_decision
from spec._operations import Operation
from spec._pointer import MISSING, escape_token
from spec._relations import RequestFacts, check_relation

# The checks, named as Schemathesis names them where it has the check.
NOT_A_SERVER_ERROR = "not_a_server_error"
POSITIVE_DATA_ACCEPTANCE = "positive_data_acceptance"
NEGATIVE_DATA_REJECTION = "negative_data_rejection"
IGNORED_AUTH = "ignored_auth"
STATUS_CODE_CONFORMANCE = "status_code_conformance"
CONTENT_TYPE_CONFORMANCE = "content_type_conformance"
RESPONSE_SCHEMA_CONFORMANCE = "response_schema_conformance"
ERROR_SCHEMA_CONFORMANCE = "error_schema_conformance"
# An answer slower than the run allows (the contract tests' `--max-response-time`; basis `option`).
MAX_RESPONSE_TIME = "max_response_time"
# What a request does wrong by the contract (the mock refuses it, the proxy reports it).
REQUEST_CONFORMANCE = "request_conformance"
RELATION_PREFIX = "relation:"

# Refusals of every request alike, whatever it holds: the caller's token, scope or limit, not the body.
SETUP_STATUSES = frozenset({401, 403, 429})

# Refusals of what a body holds (not of its media type, size, route or method): the ones a decision
# on the body's content can explain.
BODY_REFUSALS = frozenset({400, 422})

# Far deeper than any schema of the contract looks, far shallower than Python's recursion limit and
# orjson's limits: a document nested deeper is judged with its deeper containers cut short (the verdicts
# are the same: no schema of the contract looks that deep).
CHECKED_DEPTH = 32
CUT_MARK = f"<nested deeper than {CHECKED_DEPTH} levels: cut for checking>"


class Basis(enum.StrEnum):
    """What makes a rule: the platform's pages (`seed`), a recorded decision, or the run's own option."""

    SEED = "seed"
    DECISION = "decision"
    OPTION = "option"


class Direction(enum.StrEnum):
    """Which side of the exchange breaks the contract."""

    REQUEST = "request"
    RESPONSE = "response"


@dataclass(frozen=True)
class Finding:
    """One way an exchange breaks the contract.

    `subject` refines the check (a status, a rule, a relation's target); `pointer` is where in the
    exchange (`/status`, `/header/content-type`, `/body/...`, `/path/streamId`).
    """

    check: str
    operation: str
    direction: Direction
    pointer: str
    basis: Basis
    received: str
    documented: str
    fix: str = ""
    decision: str | None = None
    subject: str = ""
    # False when replaying the one request cannot show the fault (a value repeated across calls).
    replayable: bool = True

    @property
    def key(self) -> str:
        """The check and its subject: findings are grouped and reported per key."""
        return f"{self.check}[{self.subject}]" if self.subject else self.check

    def entry(self) -> dict[str, Any]:
        """The finding as a JSON object (journals, reports)."""
        entry: dict[str, Any] = {
            "check": self.check,
            "operation": self.operation,
            "direction": self.direction.value,
            "pointer": self.pointer,
            "basis": self.basis.value,
            "received": self.received,
            "documented": self.documented,
        }
        for name in ("fix", "decision", "subject"):
            value = getattr(self, name)
            if value:
                entry[name] = value
        return entry

    def __str__(self) -> str:
        label = f" [decision {self.decision}]" if self.decision else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return (
            f"{self.key} ({self.operation or 'no operation'}, {self.direction.value} {self.pointer}){label}: "
            f"Received: {self.received.rstrip('.')}. Documented: {self.documented.rstrip('.')}.{fix}"
        )


@dataclass(frozen=True)
class Judgement:
    """The checks that applied to an exchange (as keys) and the findings of those that failed."""

    checks: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.findings

    def failed(self, key: str) -> bool:
        """Whether the check with this key (`check` or `check[subject]`) failed."""
        return any(f.key == key for f in self.findings)


@dataclass(frozen=True)
class SentRequest:
    """The request as sent: its operation's path parameters, headers and parsed JSON body (or MISSING)."""

    path_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = MISSING

    def facts(self) -> RequestFacts:
        """The request as the relations address it."""
        return RequestFacts(
            body=self.body if self.body is not MISSING else {}, path=self.path_params, headers=self.headers
        )


@dataclass(frozen=True)
class ReceivedAnswer:
    """What came back: a status, headers (any case) and body bytes; `error` when no answer came."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = b""
    error: str | None = None

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def media_type(self) -> str | None:
        """The media type without parameters, lower-cased."""
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None


class Expect(enum.Enum):
    """What the request should get, as far as the caller knows."""

    # Valid by the contract, sent with good credentials: the success status is due.
    VALID = "valid"
    # Valid as far as the judge can see (the proxy cannot tell a good token): no refusal but a setup one
    # (nor one of `statuses` when given, by the decision `rule` names, as for VALID_OR_UNKNOWN).
    NO_FAULT_SEEN = "no-fault-seen"
    # Breaks a documented rule: a refusal with one of `statuses` is due.
    INVALID = "invalid"
    # Sent with a missing or bad token: a 401 is due.
    UNAUTHORIZED = "unauthorized"
    # Valid by the schemas but odd (hostile parameter values): the server may take or refuse it, with
    # any status the operation documents; only the status, media type and body are judged.
    DOCUMENTED = "documented"
    # Valid by the contract, but naming (in its path) objects the server may not hold: the success
    # status, or one of `statuses` by the decision `rule` names (an update of an id the run did not
    # create: 200, or 404 by `unknown-ids`). Built by `spec.Sequences.unknown_ids_expectation`.
    VALID_OR_UNKNOWN = "valid-or-unknown"


@dataclass(frozen=True)
class Expectation:
    """What the request should get, and why: the rule it breaks (or the decisions it relies on)."""

    kind: Expect
    # INVALID / UNAUTHORIZED: the rule broken (a generator's rule name, a finding's key, an auth case).
    # VALID_OR_UNKNOWN: the decision that allows `statuses` besides the success status.
    rule: str = ""
    description: str = ""
    basis: Basis = Basis.SEED
    decisions: tuple[str, ...] = ()
    statuses: frozenset[int] = frozenset()

    @classmethod
    def valid(cls, *, decisions: Iterable[str] = ()) -> Expectation:
        """A request valid by the contract, some of whose parts may be valid only by `decisions`."""
        return cls(Expect.VALID, decisions=tuple(sorted(set(decisions))))

    @classmethod
    def from_request_findings(cls, findings: Sequence[Finding], statuses: frozenset[int]) -> Expectation:
        """What a request with these request-side findings should get (none: nothing seen wrong)."""
        if not findings:
            return cls(Expect.NO_FAULT_SEEN)
        decisions = tuple(sorted({f.decision for f in findings if f.decision}))
        by_decision = all(f.basis is Basis.DECISION for f in findings)
        return cls(
            Expect.INVALID,
            rule=findings[0].subject or findings[0].check,
            description=f"{findings[0].pointer}: {findings[0].received}",
            basis=Basis.DECISION if by_decision else Basis.SEED,
            decisions=decisions if by_decision else (),
            statuses=statuses,
        )


# -- schemas ------------------------------------------------------------------------------------


class SchemaCheck:
    """A schema a document must match: a compiled fast path in front of the OAS 3.1 validator.

    The fast path is jsonschema-rs with the same format checks plugged in and int32/int64 bounds
    added, so it never accepts what the validator rejects; whenever it rejects a document, or cannot
    judge one, the validator (given, or OAS31Validator with the OAS 3.1 format checker) decides and
    words the problems.
    """

    def __init__(self, schema: Mapping[str, Any], validator: Any = None) -> None:
        self.schema = schema
        self.validator = (
            validator
            if validator is not None
            else OAS31Validator(dict(schema), format_checker=oas31_format_checker)
        )
        checker = self.validator.format_checker
        formats: dict[str, Callable[..., bool]] = {
            str(name): functools.partial(_conforms, checker, name) for name in checker.checkers
        }
        try:
            self.fast: Any = jsonschema_rs.validator_for(
                _with_integer_bounds(schema), validate_formats=True, formats=formats
            )
        except Exception:  # a schema jsonschema-rs cannot compile: the validator alone
            self.fast = None

    def accepts(self, document: Any) -> bool:
        """True when the compiled check accepts the document (so the validator would too); False: ask it."""
        if self.fast is None:
            return False
        try:
            return bool(self.fast.is_valid(document))
        except Exception:  # a value jsonschema-rs cannot take (an int beyond 64 bits...)
            return False

    def errors(self, document: Any) -> Iterator[Any]:
        """The validator's errors of the document; none when the compiled check accepts it."""
        if self.accepts(document):
            return iter(())
        return iter(self.validator.iter_errors(document))


def _conforms(checker: Any, name: str, instance: Any) -> bool:
    return bool(checker.conforms(instance, name))


_INTEGER_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_NOT_SCHEMAS = frozenset({"const", "enum", "examples", "example", "default"})


def _with_integer_bounds(schema: Any) -> Any:
    """A copy where `format: int32/int64` also bounds the number (jsonschema-rs checks formats on strings only)."""
    if isinstance(schema, list):
        return [_with_integer_bounds(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    copy = {k: (v if k in _NOT_SCHEMAS else _with_integer_bounds(v)) for k, v in schema.items()}
    kind = copy.get("format")
    bounds = _INTEGER_BOUNDS.get(kind) if isinstance(kind, str) else None
    if bounds is not None:
        copy["allOf"] = [*copy.get("allOf", []), {"minimum": bounds[0], "maximum": bounds[1]}]
    return copy


def error_pointer(root: str, error: Any) -> str:
    """The JSON pointer a jsonschema error is about (a missing required property named at its place)."""
    tokens = [str(t) for t in error.absolute_path]
    if error.validator == "required":
        missing = next((n for n in error.validator_value if error.message.startswith(repr(n))), None)
        if missing is not None:
            tokens.append(str(missing))
    return root + "".join("/" + escape_token(t) for t in tokens)


def cut_deep(document: Any, raw: bytes = b"") -> tuple[Any, bool]:
    """The document with containers nested deeper than CHECKED_DEPTH replaced by a one-item stand-in
    of the same type holding CUT_MARK; and whether anything was cut."""
    if raw and raw.count(b"[") + raw.count(b"{") <= CHECKED_DEPTH:
        return document, False  # too few brackets to nest that deep: no walk
    if not _deeper_than(document, CHECKED_DEPTH):
        return document, False
    return _cut(document, CHECKED_DEPTH), True


def _deeper_than(value: Any, levels: int) -> bool:
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


# -- the judge ------------------------------------------------------------------------------------


class ContractJudge:
    """Judges answers against the contract, per operation; built once (it compiles every answer schema).

    Example:
        >>> from spec import load_spec
        >>> contract = load_spec()
        >>> judge = ContractJudge(contract)
        >>> operation = next(iter(contract.operations.values()))
        >>> answer = ReceivedAnswer(401, {"Content-Type": "application/json"}, b'{"errors":[{"msg":"no","code":401}]}')
        >>> judge.answer(operation, SentRequest(), answer, Expectation(Expect.NO_FAULT_SEEN)).ok
        True
    """

    def __init__(self, contract: ContractSpec) -> None:
        self.contract = contract
        self._schemas: dict[tuple[str, int], SchemaCheck] = {}
        # Imported here: spec/_sequences.py builds its findings with this module's types.
        from spec._sequences import Sequences

        self.sequences = Sequences(contract)
        for operation in contract.operations.values():
            for status in operation.documented_statuses:
                schema = operation.response_schema(status)
                if schema is not None:
                    self._schemas[(operation.id, status)] = SchemaCheck(schema)

    def schema_check(self, operation: Operation, status: int) -> SchemaCheck | None:
        """The compiled check of the JSON answer documented for `status`, or None when none is documented."""
        return self._schemas.get((operation.id, status))

    def answer(
        self,
        operation: Operation,
        request: SentRequest,
        answer: ReceivedAnswer,
        expectation: Expectation,
        *,
        seen: MutableMapping[str, set[str]] | None = None,
        relations: Iterable[Relation] | None = None,
    ) -> Judgement:
        """Every check that applies to this answer, and a finding for each it fails.

        `seen` carries the values of `unique` relations across answers; `relations` narrows the
        operation's relations (default: all of them).
        """
        checks: list[str] = []
        findings: list[Finding] = []

        def judge(finding: Finding, failed: bool) -> None:
            checks.append(finding.key)
            if failed:
                findings.append(finding)

        ctx = _Context(operation, answer)
        if answer.error is not None or answer.status is None:
            judge(
                ctx.finding(
                    NOT_A_SERVER_ERROR,
                    "/status",
                    received=f"no answer: {answer.error}",
                    documented="an answer to every request (a 2xx or a documented 4xx)",
                ),
                True,
            )
            return Judgement(tuple(checks), tuple(findings))
        status = answer.status
        judge(
            ctx.finding(
                NOT_A_SERVER_ERROR,
                "/status",
                received=f"{status} {ctx.excerpt()}",
                documented="no 5xx for any request",
            ),
            status >= 500,
        )
        if status >= 500:
            return Judgement(tuple(checks), tuple(findings))
        documented = operation.documented_statuses
        judge(
            ctx.finding(
                STATUS_CODE_CONFORMANCE,
                "/status",
                subject="documented",
                received=f"{status}, a status {operation.id} does not document",
                documented=f"one of {_listing(documented)}",
                fix="answer a documented status, or document this one in the spec",
            ),
            status not in documented,
        )
        self._expectation(ctx, expectation, judge)
        if status in documented:
            body = self._documented_body(ctx, judge)
            if body is not MISSING and status == operation.success_status and isinstance(body, Mapping):
                self._relations(ctx, request, body, seen, relations, judge)
                if relations is None:
                    self._page(ctx, request, body, judge)
        return Judgement(tuple(checks), tuple(findings))

    # -- the parts ------------------------------------------------------------------------------

    def _expectation(
        self, ctx: _Context, expectation: Expectation, judge: Callable[[Finding, bool], None]
    ) -> None:
        status = ctx.answer.status
        assert status is not None
        success = ctx.operation.success_status
        accepted = 200 <= status < 300
        kind = expectation.kind
        if kind is Expect.VALID_OR_UNKNOWN or (
            kind is Expect.NO_FAULT_SEEN and expectation.statuses and status not in SETUP_STATUSES
        ):
            self._valid_or_unknown(ctx, expectation, judge)
            return
        if kind is Expect.VALID or (kind is Expect.NO_FAULT_SEEN and status not in SETUP_STATUSES):
            decisions = expectation.decisions
            # Only a refusal of the body's content can be the decision's: not its media type, size or route.
            excused = bool(decisions) and status in BODY_REFUSALS
            judge(
                ctx.finding(
                    POSITIVE_DATA_ACCEPTANCE,
                    "/status",
                    subject="+".join(decisions) if excused else "",
                    basis=Basis.DECISION if excused else Basis.SEED,
                    decision=", ".join(decisions) if excused else None,
                    received=f"{status} {ctx.excerpt()}",
                    documented=f"{success} for a request valid against the {ctx.operation.id} request"
                    + (f" (valid by decision {', '.join(decisions)})" if decisions else ""),
                ),
                status != success,
            )
            return
        if kind not in (Expect.INVALID, Expect.UNAUTHORIZED):
            return
        check = NEGATIVE_DATA_REJECTION if kind is Expect.INVALID else IGNORED_AUTH
        statuses = expectation.statuses if kind is Expect.INVALID else frozenset({401})
        decision = ", ".join(expectation.decisions) or None
        judge(
            ctx.finding(
                check,
                "/status",
                subject=expectation.rule,
                basis=expectation.basis,
                decision=decision,
                received=f"{status}: the server accepted a request with {expectation.description}",
                documented=f"a refusal with {_listing(statuses)}",
                fix="refuse the request in the error envelope",
            ),
            accepted,
        )
        if accepted or not statuses:
            return
        judge(
            ctx.finding(
                STATUS_CODE_CONFORMANCE,
                "/status",
                subject=expectation.rule,
                basis=expectation.basis,
                decision=decision,
                received=f"{status} for {expectation.description}",
                documented=f"{_listing(statuses)} for this kind of request",
            ),
            status not in statuses,
        )

    def _valid_or_unknown(
        self, ctx: _Context, expectation: Expectation, judge: Callable[[Finding, bool], None]
    ) -> None:
        """A valid request naming objects the server may not hold: the success status or `statuses`.

        The check's key says which was answered: `positive_data_acceptance[<decision>]` when one of
        `statuses` was (so a report tells how many updates met an unknown id), the plain key otherwise.
        """
        status = ctx.answer.status
        assert status is not None
        success = ctx.operation.success_status
        decisions = expectation.decisions
        alternative = status in expectation.statuses
        excused = bool(decisions) and status in BODY_REFUSALS
        subject = expectation.rule if alternative else ("+".join(decisions) if excused else "")
        judge(
            ctx.finding(
                POSITIVE_DATA_ACCEPTANCE,
                "/status",
                subject=subject,
                basis=Basis.DECISION if excused else Basis.SEED,
                decision=", ".join(decisions) if excused else expectation.rule or None,
                received=f"{status} {ctx.excerpt()}",
                documented=(
                    f"{success} for a request valid against the {ctx.operation.id} request"
                    + (f" (valid by decision {', '.join(decisions)})" if decisions else "")
                    + f", or {_listing(expectation.statuses)} when the objects its path names are not the"
                    f" caller's (decision {expectation.rule})"
                ),
            ),
            status != success and not alternative,
        )

    def _documented_body(self, ctx: _Context, judge: Callable[[Finding, bool], None]) -> Any:
        """Media type and schema of a documented answer; the parsed body (MISSING when not JSON)."""
        status = ctx.answer.status
        assert status is not None
        media_types = ctx.operation.response_media_types(status)
        if not media_types:
            return MISSING
        judge(
            ctx.finding(
                CONTENT_TYPE_CONFORMANCE,
                "/header/content-type",
                subject=str(status),
                received=f"Content-Type {ctx.answer.header('content-type')!r} on a {status}",
                documented=f"{' or '.join(media_types)} for {status}",
            ),
            ctx.answer.media_type not in media_types,
        )
        check_name = RESPONSE_SCHEMA_CONFORMANCE if 200 <= status < 300 else ERROR_SCHEMA_CONFORMANCE
        schema = self._schemas.get((ctx.operation.id, status))
        if schema is None:
            return MISSING
        title = str(schema.schema.get("title") or f"{status} answer")
        raw = ctx.answer.body or b""
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            # orjson reads at most 1,024 levels: deeper JSON (`[[[[...`) is refused, not parsed.
            what = (
                "JSON nested deeper than the 1024 levels the judge reads"
                if "depth" in str(exc)
                else "not JSON"
            )
            judge(
                ctx.finding(
                    check_name,
                    "/body",
                    subject=str(status),
                    received=f"a body that is {what}: {ctx.excerpt()!r}",
                    documented=f"a body valid against the {title} schema of the {status} answer",
                ),
                True,
            )
            return MISSING
        checked, _ = cut_deep(document, raw)
        errors = sorted(schema.errors(checked), key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))
        decisions = [keyword_decision(e.schema, str(e.validator)) for e in errors]
        by_decision = bool(errors) and all(decisions)
        shown = [_describe(e) for e in errors[:3]] + (
            [f"and {len(errors) - 3} more"] if len(errors) > 3 else []
        )
        judge(
            ctx.finding(
                check_name,
                error_pointer("/body", errors[0]) if errors else "/body",
                subject=str(status),
                basis=Basis.DECISION if by_decision else Basis.SEED,
                decision=", ".join(sorted({d for d in decisions if d})) if by_decision else None,
                received="; ".join(shown),
                documented=f"a body valid against the {title} schema of the {status} answer",
            ),
            bool(errors),
        )
        return checked  # the relations too read the cut document (a deep value's repr overflows)

    def _relations(
        self,
        ctx: _Context,
        request: SentRequest,
        body: Mapping[str, Any],
        seen: MutableMapping[str, set[str]] | None,
        relations: Iterable[Relation] | None,
        judge: Callable[[Finding, bool], None],
    ) -> None:
        facts = request.facts()
        for relation in ctx.operation.relations if relations is None else relations:
            violation = check_relation(relation, facts, body, seen=seen)
            target = relation.response or (relation.pointers[0] if relation.pointers else "")
            expected = violation.expected if violation else None
            documented = f"{expected!r} - {relation.description}" if violation else relation.description
            if relation.kind == "unique":
                documented += " (send the request twice to see it)"
            judge(
                ctx.finding(
                    RELATION_PREFIX + relation.id,
                    "/body" + target,
                    basis=Basis(relation.basis),
                    decision=relation.decision,
                    received=f"{violation.detail}: {violation.received!r}" if violation else "",
                    documented=documented,
                    replayable=relation.kind != "unique",
                ),
                violation is not None,
            )

    def _page(
        self,
        ctx: _Context,
        request: SentRequest,
        body: Mapping[str, Any],
        judge: Callable[[Finding, bool], None],
    ) -> None:
        """What one page of a listing shows on its own (`Sequences.check_page`); nothing for other operations."""
        relations = self.sequences.page_relations(ctx.operation.id)
        if not relations:
            return
        findings = self.sequences.check_page(ctx.operation.id, request.facts().body, body)
        for relation in relations:
            key = RELATION_PREFIX + relation.id
            # One check per relation; its first finding when it fails (a page breaks a relation once).
            first = next((f for f in findings if f.check == key), None)
            passed = ctx.finding(key, "/body", received="", documented=relation.description)
            judge(first or passed, first is not None)


@dataclass(frozen=True)
class _Context:
    operation: Operation
    answer: ReceivedAnswer

    def excerpt(self, limit: int = 200) -> str:
        text = (self.answer.body or b"").decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[:limit] + f"... ({len(self.answer.body or b'')} bytes)"

    def finding(
        self,
        check: str,
        pointer: str,
        *,
        received: str,
        documented: str,
        subject: str = "",
        basis: Basis = Basis.SEED,
        decision: str | None = None,
        fix: str = "",
        replayable: bool = True,
    ) -> Finding:
        return Finding(
            check=check,
            operation=self.operation.id,
            direction=Direction.RESPONSE,
            pointer=pointer,
            basis=basis,
            received=received,
            documented=documented,
            fix=fix,
            decision=decision,
            subject=subject,
            replayable=replayable,
        )


def _describe(error: Any) -> str:
    where = error_pointer("", error) or "/"
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    schema_path = "/".join(escape_token(str(p)) for p in error.schema_path)
    return f"{where}: {message} (schema {schema_path})"


def _listing(statuses: Iterable[int]) -> str:
    return " or ".join(str(s) for s in sorted(statuses))
