"""The checks: what each answer must be, judged from the spec's schemas, statuses and relations.

Every expectation here is read from `load_spec()` (documented statuses and media types, the 200 and
error schemas, `x-contract-relations`) or handed in by the generators (an invalid request's rule,
basis and expected statuses); nothing restates the schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from contract_tests._auth import AuthCase
from contract_tests._client import NOT_JSON, Exchange
from contract_tests._optional import DecidedOptional, describe
from spec import ContractSpec, Relation, RequestFacts, check_relations, escape_token

NOT_A_SERVER_ERROR = "not_a_server_error"
POSITIVE_DATA_ACCEPTANCE = "positive_data_acceptance"
NEGATIVE_DATA_REJECTION = "negative_data_rejection"
IGNORED_AUTH = "ignored_auth"
STATUS_CODE_CONFORMANCE = "status_code_conformance"
CONTENT_TYPE_CONFORMANCE = "content_type_conformance"
RESPONSE_SCHEMA_CONFORMANCE = "response_schema_conformance"
ERROR_SCHEMA_CONFORMANCE = "error_schema_conformance"
MAX_RESPONSE_TIME = "max_response_time"
RELATION_PREFIX = "relation:"

# The status the spec documents for a created task, and for a refused token (responses 200 and 401).
CREATED = 200
UNAUTHORIZED = 401
# Refusals of every request alike, whatever its body: the run's token, scope or URL is wrong.
SETUP_STATUSES = frozenset({UNAUTHORIZED, 403, 404})

# Basis of a check that no spec rule but the run's own option sets.
PERFORMANCE = "performance"


def check_names(contract: ContractSpec) -> list[str]:
    """Every check of a run, in report order (relations as `relation:<id>`, from the spec)."""
    return [
        NOT_A_SERVER_ERROR,
        POSITIVE_DATA_ACCEPTANCE,
        NEGATIVE_DATA_REJECTION,
        IGNORED_AUTH,
        STATUS_CODE_CONFORMANCE,
        CONTENT_TYPE_CONFORMANCE,
        RESPONSE_SCHEMA_CONFORMANCE,
        ERROR_SCHEMA_CONFORMANCE,
        *(RELATION_PREFIX + relation.id for relation in contract.relations),
        MAX_RESPONSE_TIME,
    ]


@dataclass(frozen=True)
class Verdict:
    """One check's judgement of one answer: passed, or what was received against what the spec documents."""

    check: str
    passed: bool
    subject: str = ""
    basis: str = "seed"
    received: str = ""
    documented: str = ""
    # False when replaying the request alone cannot show the fault (timing, repeats across calls),
    # so shrinking it by replay would only chase noise.
    replayable: bool = True

    @property
    def key(self) -> str:
        """The check and its subject: failures are grouped, shrunk and reported per key."""
        return f"{self.check}[{self.subject}]" if self.subject else self.check

    def __str__(self) -> str:
        return f"{self.key}: Received: {self.received.rstrip('.')}. Documented: {self.documented}"


class Judge:
    """Judges answers against the spec; holds the compiled validators and the run's `unique` values."""

    def __init__(self, contract: ContractSpec, *, stream_id: str, max_response_time_ms: float) -> None:
        self.contract = contract
        self.stream_id = stream_id
        self.max_response_time_ms = max_response_time_ms
        # Values of `unique` relations seen so far: must persist across the whole run.
        self.seen: dict[str, set[str]] = {}
        self._statuses = contract.documented_statuses
        self._validators = {
            status: Draft202012Validator(
                dict(contract.response_schema(str(status))),
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            for status in sorted(self._statuses)
        }
        self._titles = {
            status: str(contract.response_schema(str(status)).get("title", f"{status} answer"))
            for status in self._statuses
        }

    # -- the three kinds of request ---------------------------------------------------------

    def valid(
        self,
        exchange: Exchange,
        body: Any,
        relied_on: Iterable[str] = (),
        *,
        required: Sequence[DecidedOptional] = (),
        accepted_with: Exchange | None = None,
    ) -> list[Verdict]:
        """Judge the answer to a request valid by the spec: 200, JSON, the Task schema, the relations.

        `required` and `accepted_with`: the refused request was accepted once these properties, which
        the contract makes optional by a decision, were filled in (the answer to that request).
        """
        verdicts = self._common(exchange)
        if exchange.status is None or exchange.status >= 500:
            return verdicts
        decisions = sorted(set(relied_on))
        accepted = exchange.status == CREATED
        # A body refusal that the decisions explain is reported apart from the refusals nothing excuses.
        excused = bool(decisions) and 400 <= exchange.status < 500 and exchange.status not in SETUP_STATUSES
        if not accepted and required and accepted_with is not None:
            verdicts.append(self._requires_optional(exchange, body, required, accepted_with))
        else:
            verdicts.append(
                Verdict(
                    POSITIVE_DATA_ACCEPTANCE,
                    accepted,
                    subject="+".join(decisions) if excused else "",
                    basis="decision" if excused else "seed",
                    received=f"{exchange.status} {exchange.body_excerpt(200)}",
                    documented=f"{CREATED} for a request valid against the request schema"
                    + (f" (valid by decision {', '.join(decisions)})" if decisions else ""),
                )
            )
        verdicts.extend(self._documented_body(exchange))
        if accepted:
            verdicts.extend(self._relations(exchange, body))
        return verdicts

    def _requires_optional(
        self, exchange: Exchange, body: Any, required: Sequence[DecidedOptional], accepted_with: Exchange
    ) -> Verdict:
        """The refusal of a valid request that only lacked properties a decision makes optional."""
        names, decisions = describe(required, body)
        added, _ = describe(required)
        return Verdict(
            POSITIVE_DATA_ACCEPTANCE,
            False,
            subject="+".join(sorted({p.decision for p in required})),
            basis="decision",
            received=(
                f"{exchange.status} {exchange.body_excerpt(200)}; the same request with {added} filled in was "
                f"answered {accepted_with.status}: the implementation requires {names}, which the contract "
                f"makes optional ({decisions})"
            ),
            documented=(
                f"{CREATED} for a request valid against the request schema, which may leave out {added} "
                f"({decisions})"
            ),
        )

    def invalid(
        self, exchange: Exchange, rule: str, basis: str, expected: frozenset[int], description: str
    ) -> list[Verdict]:
        """Judge the answer to a request that breaks one documented rule: a documented 4xx, in the envelope."""
        return self._refusal(
            exchange,
            check=NEGATIVE_DATA_REJECTION,
            subject=rule,
            basis=basis,
            request=f"an invalid request ({description})",
            cause=description,
            documented_refusal=f"a rejection with {_statuses(expected)}",
            expected=expected,
            documented_status=f"{_statuses(expected)} for this kind of request",
        )

    def auth(self, exchange: Exchange, case: AuthCase) -> list[Verdict]:
        """Judge the answer to a valid body sent with a bad or missing token: 401 in the envelope."""
        return self._refusal(
            exchange,
            check=IGNORED_AUTH,
            subject=case.name,
            basis="seed",
            request=f"a request with {case.description}",
            cause=case.description,
            documented_refusal=f"{UNAUTHORIZED}: a missing, malformed, expired or wrongly signed token is refused",
            expected=frozenset({UNAUTHORIZED}),
            documented_status=f"{UNAUTHORIZED} for a missing, malformed, expired or wrongly signed token",
        )

    # -- the parts ----------------------------------------------------------------------------

    def _refusal(
        self,
        exchange: Exchange,
        *,
        check: str,
        subject: str,
        basis: str,
        request: str,
        cause: str,
        documented_refusal: str,
        expected: frozenset[int],
        documented_status: str,
    ) -> list[Verdict]:
        """Judge an answer that must refuse the request: `check` that it did, then its status and body.

        `request` names what was sent, `cause` what should make it refused; `documented_refusal` and
        `documented_status` are what the spec documents for it (any refusal, then the `expected` statuses).
        """
        verdicts = self._common(exchange)
        if exchange.status is None or exchange.status >= 500:
            return verdicts
        refused = not 200 <= exchange.status < 300
        verdicts.append(
            Verdict(
                check,
                refused,
                subject=subject,
                basis=basis,
                received=f"{exchange.status}: the server accepted {request}",
                documented=documented_refusal,
            )
        )
        if not refused:
            return verdicts
        verdicts.append(
            Verdict(
                STATUS_CODE_CONFORMANCE,
                exchange.status in expected,
                subject=subject,
                basis=basis,
                received=f"{exchange.status}{self._undocumented(exchange.status)} for {cause}",
                documented=documented_status,
            )
        )
        verdicts.extend(self._documented_body(exchange))
        return verdicts

    def _common(self, exchange: Exchange) -> list[Verdict]:
        """Checks every answer gets: no 5xx (nor no answer at all), and within the time limit."""
        if exchange.error is not None:
            return [
                Verdict(
                    NOT_A_SERVER_ERROR,
                    False,
                    received=f"no answer: {exchange.error}",
                    documented="an answer to every request (a 2xx or a documented 4xx)",
                )
            ]
        assert exchange.status is not None
        return [
            Verdict(
                NOT_A_SERVER_ERROR,
                exchange.status < 500,
                received=f"{exchange.status} {exchange.body_excerpt(200)}",
                documented="no 5xx for any request the generators make",
            ),
            Verdict(
                MAX_RESPONSE_TIME,
                exchange.elapsed_ms <= self.max_response_time_ms,
                basis=PERFORMANCE,
                received=f"an answer after {exchange.elapsed_ms:.0f} ms",
                documented=f"at most {self.max_response_time_ms:.0f} ms (--max-response-time)",
                replayable=False,
            ),
        ]

    def _documented_body(self, exchange: Exchange) -> list[Verdict]:
        """The media type and body schema the spec documents for the answer's status."""
        status = exchange.status
        assert status is not None
        if status not in self._statuses:
            return []
        media_types = sorted(self.contract.operation["responses"][str(status)].get("content", {}))
        if not media_types:
            return []
        verdicts = [
            Verdict(
                CONTENT_TYPE_CONFORMANCE,
                exchange.media_type in media_types,
                subject=str(status),
                received=f"Content-Type {exchange.header('content-type')!r} on a {status}",
                documented=f"{' or '.join(media_types)} for {status}",
            )
        ]
        check = RESPONSE_SCHEMA_CONFORMANCE if status == CREATED else ERROR_SCHEMA_CONFORMANCE
        document = exchange.json()
        title = self._titles[status]
        if document is NOT_JSON:
            problems = [f"a body that is not JSON: {exchange.body_excerpt(200)!r}"]
        else:
            problems = _schema_problems(self._validators[status], document)
        verdicts.append(
            Verdict(
                check,
                not problems,
                subject=str(status),
                received="; ".join(problems),
                documented=f"a body valid against the {title} schema of the {status} answer",
            )
        )
        return verdicts

    def _relations(self, exchange: Exchange, body: Any) -> list[Verdict]:
        """Every `x-contract-relations` entry, judged against the request that produced the answer."""
        document = exchange.json()
        if not isinstance(document, Mapping):
            return []
        facts = RequestFacts(
            body=body,
            path={"streamId": self.stream_id},
            headers={name: value for name, value in exchange.request.headers},
        )
        verdicts = []
        for relation in self.contract.relations:
            violations = check_relations([relation], facts, document, seen=self.seen)
            violation = violations[0] if violations else None
            verdicts.append(
                Verdict(
                    RELATION_PREFIX + relation.id,
                    violation is None,
                    basis=relation.basis,
                    received=f"{violation.detail}: {violation.received!r}" if violation else "",
                    documented=_relation_documented(relation, violation.expected if violation else None),
                    replayable=relation.kind != "unique",
                )
            )
        return verdicts

    def _undocumented(self, status: int) -> str:
        return "" if status in self._statuses else " (a status the operation does not document)"


def _relation_documented(relation: Relation, expected: Any) -> str:
    text = f"{expected!r} - {relation.description}"
    if relation.kind == "unique":
        text += " (send the request twice to see it)"
    if relation.decision:
        text += f" (decision {relation.decision})"
    return text


def _schema_problems(validator: Draft202012Validator, document: Any, limit: int = 3) -> list[str]:
    """Up to `limit` schema errors as `<pointer>: <message>`, deepest first."""
    errors = sorted(
        validator.iter_errors(document), key=lambda e: (-len(e.absolute_path), str(e.absolute_path))
    )
    return [_describe(error) for error in errors[:limit]] + (
        [f"and {len(errors) - limit} more"] if len(errors) > limit else []
    )


def _describe(error: ValidationError) -> str:
    pointer = "/" + "/".join(escape_token(str(p)) for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return f"{pointer}: {message} (schema {'/'.join(escape_token(str(p)) for p in error.schema_path)})"


def _statuses(statuses: Iterable[int]) -> str:
    return " or ".join(str(s) for s in sorted(statuses))
