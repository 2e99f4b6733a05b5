"""The contract tests' side of the one judge (`spec.ContractJudge`): an exchange as the judge reads it.

Whether an answer keeps the contract is decided in `spec/_judge.py`, as it is for the mock and the
proxy; this module hands it the exchange and the expectation, and adds what only a run knows: the
answer's time against `--max-response-time`, and the refinement of a refused valid request that was
accepted once the properties a decision makes optional were filled in.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from contract_tests._client import Exchange
from contract_tests._optional import DecidedOptional, describe
from spec import (
    MISSING,
    ContractJudge,
    ContractSpec,
    Expectation,
    Judgement,
    Operation,
    ReceivedAnswer,
    SentRequest,
    Sequences,
)
from spec._judge import (
    CONTENT_TYPE_CONFORMANCE,
    ERROR_SCHEMA_CONFORMANCE,
    IGNORED_AUTH,
    MAX_RESPONSE_TIME,
    NEGATIVE_DATA_REJECTION,
    NOT_A_SERVER_ERROR,
    POSITIVE_DATA_ACCEPTANCE,
    RELATION_PREFIX,
    RESPONSE_SCHEMA_CONFORMANCE,
    STATUS_CODE_CONFORMANCE,
    Basis,
    Direction,
    Finding,
)

# Every check of a run but the relations, in report order.
_CHECKS = (
    NOT_A_SERVER_ERROR,
    POSITIVE_DATA_ACCEPTANCE,
    NEGATIVE_DATA_REJECTION,
    IGNORED_AUTH,
    STATUS_CODE_CONFORMANCE,
    CONTENT_TYPE_CONFORMANCE,
    RESPONSE_SCHEMA_CONFORMANCE,
    ERROR_SCHEMA_CONFORMANCE,
)


def check_names(
    operations: Iterable[Operation], sequences: Sequences | None = None, *, stateful: bool = False
) -> list[str]:
    """Every check of a run over `operations`, in report order (relations as `relation:<id>`, from the spec).

    With `sequences`, the relations across calls one listing page can break on its own come after
    the operations' own; with `stateful` too, every relation across calls that involves one of them.
    """
    chosen = tuple(operations)
    relations = [RELATION_PREFIX + r.id for operation in chosen for r in operation.relations]
    if sequences is not None:
        relations += [RELATION_PREFIX + r.id for op in chosen for r in sequences.page_relations(op.id)]
    if sequences is not None and stateful:
        ids = {op.id for op in chosen}
        relations += [RELATION_PREFIX + r.id for r in sequences.relations if ids & set(r.operations)]
    return [*_CHECKS, *dict.fromkeys(relations), MAX_RESPONSE_TIME]


def check_of(key: str) -> str:
    """The check of a key (`check[subject]` -> `check`)."""
    return key.partition("[")[0]


class Checks:
    """Asks the judge about each exchange; holds the run's `unique` values and its time limit."""

    def __init__(self, contract: ContractSpec, *, max_response_time_ms: float) -> None:
        self.judge = ContractJudge(contract)
        self.max_response_time_ms = max_response_time_ms
        # Values of `unique` relations seen so far: must persist across the whole run.
        self.seen: dict[str, set[str]] = {}

    def exchange(
        self, operation: Operation, exchange: Exchange, expectation: Expectation, *, relations: bool = True
    ) -> Judgement:
        """The judge's verdict on one exchange, with the run's time limit; `relations=False` leaves them out."""
        request = exchange.request
        sent = SentRequest(
            path_params=dict(request.path_params), headers=dict(request.headers), body=_parsed(request.body)
        )
        answer = ReceivedAnswer(exchange.status, dict(exchange.headers), exchange.body, exchange.error)
        judgement = self.judge.answer(
            operation, sent, answer, expectation, seen=self.seen, relations=None if relations else ()
        )
        if exchange.error is not None:
            return judgement
        slow = Finding(
            check=MAX_RESPONSE_TIME,
            operation=operation.id,
            direction=Direction.RESPONSE,
            pointer="",
            basis=Basis.OPTION,
            received=f"an answer after {exchange.elapsed_ms:.0f} ms",
            documented=f"at most {self.max_response_time_ms:.0f} ms (--max-response-time)",
            fix="answer faster, or run with a larger --max-response-time",
            replayable=False,
        )
        failed = exchange.elapsed_ms > self.max_response_time_ms
        return Judgement((*judgement.checks, slow.key), (*judgement.findings, *((slow,) if failed else ())))


def requires_optional(
    judgement: Judgement,
    exchange: Exchange,
    body: Any,
    required: Sequence[DecidedOptional],
    accepted_with: Exchange,
) -> Judgement:
    """The judgement of a refused valid request, its refusal explained: the target requires properties
    that the contract makes optional by a decision (the same request with them was answered `accepted_with`)."""
    names, decisions = describe(required, body)
    added, _ = describe(required)
    ids = sorted({p.decision for p in required})

    def explained(finding: Finding) -> Finding:
        if finding.check != POSITIVE_DATA_ACCEPTANCE:
            return finding
        return dataclasses.replace(
            finding,
            subject="+".join(ids),
            basis=Basis.DECISION,
            decision=", ".join(ids),
            received=(
                f"{exchange.status} {exchange.body_excerpt(200)}; the same request with {added} filled in was "
                f"answered {accepted_with.status}: the implementation requires {names}, which the contract "
                f"makes optional ({decisions})"
            ),
            documented=(
                f"{finding.documented.split(' (valid by', 1)[0]}, which may leave out {added} ({decisions})"
            ),
            fix=f"accept the request without {added}",
        )

    findings = tuple(explained(f) for f in judgement.findings)
    keys = {f.key: e.key for f, e in zip(judgement.findings, findings, strict=True)}
    return Judgement(tuple(keys.get(k, k) for k in judgement.checks), findings)


def _parsed(body: bytes | None) -> Any:
    """A request body as the judge reads it: parsed JSON, or MISSING."""
    if not body:
        return MISSING
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return MISSING
