"""The proxy's adapter to the one judge: a request judged as the mock judges it, an answer as everyone does.

A request is routed with `ContractSpec.match`; its findings are the mock's own `Violation`s (content
type, a missing `auth` header, then `ContractValidator.validate` for parameters and body), each as a
`spec.Finding`. The upstream's answer to an operation's request is judged by `spec.ContractJudge`,
expecting what those findings call for (`Expectation.from_request_findings`), an update possibly
meeting an id the upstream does not hold (`Sequences.unknown_ids_expectation`). A request on no
operation's path, or with a method its path does not document, is forwarded and reported; its answer
is not judged. Nothing here decides what an answer must be.

The cross-call relations of `x-contract-sequences` are judged by `spec.Sequences.observe` over a
`spec.Store(complete=False)`: the upstream holds objects the proxy never saw, so a listing is judged
only on the objects created, updated or listed through the proxy (a lost update, an object listed to
another account or stream, a changed id). The model is one for all the proxy's workers: `SharedModel`
(`_model.py`) keeps it in the proxy's state file, one row per object, read on demand, judged against and
written back in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from werkzeug.datastructures import Headers

from mockserver._app import ACCOUNT_HEADER
from mockserver._errors import Envelopes, Kind, Violation, explained
from mockserver._state import StateStore
from mockserver._validation import ContractValidator, content_type_violation
from mockserver.proxy._model import SharedModel
from spec import (
    MISSING,
    ContractJudge,
    ContractSpec,
    Exchange,
    Expectation,
    Finding,
    Judgement,
    Operation,
    ReceivedAnswer,
    RouteMatch,
    SentRequest,
    Sequences,
    cut_deep,
    resolve_pointer,
)

# The platform's order of checks: a refused content type before auth, auth before the rest.
_STAGES = {Kind.UNSUPPORTED_MEDIA_TYPE: 0, Kind.UNAUTHORIZED: 1}
# `unique` values remembered per relation; beyond this the oldest are forgotten (memory stays bounded).
UNIQUE_MEMORY = 100_000


@dataclass(frozen=True)
class RequestCheck:
    """A request as the proxy judged it, kept to judge the answer."""

    findings: tuple[Finding, ...]
    # The operation and path parameters the request was routed to; None: its answer is not judged.
    route: RouteMatch | None = None
    body: Any = MISSING
    headers: Mapping[str, str] = field(default_factory=dict)
    # What `--strict` answers instead of forwarding (the first stage's violations); empty: forward.
    refusal: tuple[Violation, ...] = ()
    # The statuses a refusal of this request may have (empty when nothing is wrong with it).
    refusal_statuses: frozenset[int] = frozenset()


class _SharedValues(set[str]):
    """The values of one `unique` relation, kept in the shared state file so every worker sees all answers.

    The relation check asks `key in values` and then, for a new key, `values.add(key)`. Here the
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
    """The judge's `seen` for the proxy's workers: one shared record per `unique` relation of any operation."""
    unique = [r.id for r in contract.relations if r.kind == "unique"]
    keep = UNIQUE_MEMORY * max(1, len(unique))
    return {relation_id: _SharedValues(store, relation_id, keep) for relation_id in unique}


class ContractChecker:
    """Judges requests and answers for the proxy; one per app, shared by a worker's threads.

    The `unique` relations (a new `_id`, a new `refId`) compare each answer with every earlier answer
    (up to UNIQUE_MEMORY values each) of all the proxy's workers: `seen` is `shared_seen(...)`.
    """

    def __init__(
        self, contract: ContractSpec, *, seen: dict[str, set[str]], model: SharedModel | None = None
    ) -> None:
        self.contract = contract
        self.model = model
        self.validator = ContractValidator(contract)
        self.judge = ContractJudge(contract)
        self.envelopes = Envelopes.from_contract(contract)
        self.sequences = Sequences(contract)
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
        """Route the request, then judge it as the mock would: content type, auth, parameters and body."""
        header_map = dict(headers.items())
        route = self.contract.match(method, path)
        if route is None:
            return RequestCheck((self._unrouted(method, path).finding(""),), headers=header_map)
        operation = route.operation
        found: list[Violation] = []
        has_body = operation.request_body is not None
        media_type = content_type_violation(headers.get("Content-Type"), body) if has_body else None
        if media_type is not None:
            found.append(media_type)
        found.extend(self._auth_violations(operation, headers))
        parsed: Any = MISSING
        malformed = False
        checked = body  # what the validator reads: the body, or its deep levels cut short
        if body and has_body and media_type is None:
            result = self.validator.parse_body(body, operation)
            if result.violation is not None:
                found.append(result.violation)
                malformed = True
            else:
                parsed, cut = cut_deep(result.value, body)
                if cut:
                    checked = orjson.dumps(parsed)
        for violation in self.validator.validate(
            route,
            headers=headers,
            body=checked,
            query=query,
            cookies=cookies,
            # Auth and the content type are judged above by the platform's rules, and a body that
            # could not be read was reported already.
            security=False,
            check_body=media_type is None and not malformed,
        ):
            if violation.kind is not Kind.UNSUPPORTED_MEDIA_TYPE:
                found.append(violation)
        found.sort(key=lambda v: _STAGES.get(v.kind, 2))
        first_stage = _STAGES.get(found[0].kind, 2) if found else None
        refusal = tuple(v for v in found if _STAGES.get(v.kind, 2) == first_stage)
        return RequestCheck(
            tuple(v.finding(operation.id) for v in found),
            route=route,
            body=parsed,
            headers=header_map,
            refusal=refusal,
            refusal_statuses=frozenset({self.envelopes.status_of(refusal, operation)})
            if refusal
            else frozenset(),
        )

    def _unrouted(self, method: str, path: str) -> Violation:
        """A request no operation documents: forwarded, reported, its answer not judged."""
        documented = self.contract.methods_at(path)
        if documented:
            received = f"{method} {path}"
            expected = f"{', '.join(sorted(documented))} on this path"
            return Violation(
                Kind.METHOD_NOT_ALLOWED,
                f"method {method} is not documented on this path",
                "/method",
                explained(received, expected, hint="The request was forwarded; its answer is not judged."),
                rule="method",
                received=received,
                documented=expected,
            )
        listing = ", ".join(f"{op.method} {op.path_template}" for op in self.contract.operations.values())
        return Violation(
            Kind.NOT_FOUND,
            f"path not in the contract: {path}",
            "/path",
            explained(
                f"{method} {path}", listing, hint="The request was forwarded; its answer is not judged."
            ),
            rule="path",
            received=f"{method} {path}",
            documented=f"one of the operations: {listing}",
        )

    def _auth_violations(self, operation: Operation, headers: Headers) -> list[Violation]:
        """A missing or empty auth header the operation requires; whether the token is good is the upstream's."""
        violations = []
        for header in self._auth_headers(operation):
            token = headers.get(header)
            if token is not None and token.strip():
                continue
            hint = (
                "An `Authorization` header was sent: the platform reads the JWT from `auth`."
                if headers.get("Authorization") is not None and header.lower() != "authorization"
                else ""
            )
            state = "missing" if token is None else "empty"
            received = f"{'no' if token is None else 'an empty'} `{header}` header"
            documented = f"the `{header}` header carries the app's JWT (security scheme)"
            violations.append(
                Violation(
                    Kind.UNAUTHORIZED,
                    f"the `{header}` header is {state}",
                    f"/header/{header}",
                    explained(received, documented, f"send the token in `{header}`.", hint=hint),
                    rule="auth",
                    received=received,
                    documented=documented,
                    fix=f"send the token in `{header}`",
                )
            )
        return violations

    def _auth_headers(self, operation: Operation) -> list[str]:
        """The header each security scheme the operation requires is sent in (none for `security: []`)."""
        requirements = operation.definition.get("security", self.contract.resolved.get("security", []))
        schemes = self.contract.auth_headers
        headers: list[str] = []
        for requirement in requirements:
            if not requirement:  # an empty requirement: anonymous requests are allowed
                return []
            headers.extend(
                schemes[name] for name in requirement if name in schemes and schemes[name] not in headers
            )
        return headers

    # -- answers -------------------------------------------------------------------------------

    def check_response(
        self, request: RequestCheck, answer: ReceivedAnswer, *, body_read: bool = True
    ) -> Judgement:
        """The judge's verdict on the upstream's answer to a routed request; `body_read=False` when the
        proxy could not decode the body (its body checks are left out)."""
        if request.route is None:
            return Judgement()
        operation = request.route.operation
        judgement = self.judge.answer(
            operation,
            SentRequest(request.route.path_params, request.headers, request.body),
            answer,
            # The proxy does not know which objects the upstream holds: an update may meet an unknown id.
            self.sequences.unknown_ids_expectation(
                operation.id, Expectation.from_request_findings(request.findings, request.refusal_statuses)
            ),
            seen=self._seen,
        )
        if body_read and self.model is not None:
            observed = self._observe(request, answer)
            if observed:
                judgement = Judgement(judgement.checks, (*judgement.findings, *observed))
        if body_read:
            return judgement
        return Judgement(
            judgement.checks, tuple(f for f in judgement.findings if not f.pointer.startswith("/body"))
        )

    def _observe(self, request: RequestCheck, answer: ReceivedAnswer) -> list[Finding]:
        """The cross-call relations' findings on an exchange of a collection's operation (none for others)."""
        assert request.route is not None and self.model is not None
        operation = request.route.operation
        found = self.sequences.role(operation.id)
        if found is None or request.findings or answer.status is None or not 200 <= answer.status < 300:
            return []
        collection, role = found
        if role == "list" and self._needs_caller(operation.id, request.body):
            return []  # who the caller is, the upstream knows from its token; the proxy does not
        try:
            payload, cut = cut_deep(orjson.loads(answer.body or b""), answer.body or b"")
        except orjson.JSONDecodeError:
            return []
        if cut:
            return []  # nested deeper than any answer of the spec: its schema check reports it
        wanted = ACCOUNT_HEADER.lower()
        account = next((v for k, v in request.headers.items() if k.lower() == wanted), None)
        path_params = dict(request.route.path_params)
        stream = next((v for k, v in path_params.items() if k != collection.path_id), "")
        body = None if request.body is MISSING else request.body
        exchange = Exchange(operation.id, account, stream, body, answer.status, payload, path_params)
        return self.model.observe(self.sequences, exchange)

    def _needs_caller(self, operation_id: str, body: Any) -> bool:
        """Whether a listing's body asks for the caller's own objects (a `caller` flag filter set)."""
        listing = self.sequences.listing(operation_id)
        return any(
            rule.keeps == "caller" and isinstance(body, Mapping) and resolve_pointer(body, rule.field) is True
            for rule in listing.filters
        )
