"""The contract tests ask the one judge (`spec.ContractJudge`) and add only what a run knows."""

from __future__ import annotations

from pathlib import Path

from contract_tests._checks import Checks, check_names, check_of, requires_optional
from contract_tests._client import Exchange, PreparedRequest
from contract_tests._optional import decided_optional
from spec import Expect, Expectation, load_spec
from spec._judge import (
    MAX_RESPONSE_TIME,
    NOT_A_SERVER_ERROR,
    POSITIVE_DATA_ACCEPTANCE,
    RELATION_PREFIX,
    Basis,
    Direction,
)
from tests.madeup import OPERATION_ID, write_madeup_spec

ENVELOPE = b'{"errors":[{"msg":"no","code":400}]}'


def exchange(status: int | None, body: bytes = ENVELOPE, elapsed_ms: float = 5.0) -> Exchange:
    request = PreparedRequest(
        "POST", "http://127.0.0.1:1/x", (("Content-Type", "application/json"),), b"{}", operation="op"
    )
    headers = (("Content-Type", "application/json"),) if status is not None else ()
    error = "refused" if status is None else None
    return Exchange(request, status, headers, body, elapsed_ms, error)


def test_check_names_come_from_the_operations_relations(tmp_path: Path) -> None:
    contract = load_spec(write_madeup_spec(tmp_path))
    names = check_names(contract.operations.values())
    relations = [RELATION_PREFIX + r.id for r in contract.relations]
    assert names[-1] == MAX_RESPONSE_TIME
    assert [n for n in names if n.startswith(RELATION_PREFIX)] == relations
    only = check_names([contract.operation(OPERATION_ID)])
    assert [n for n in only if n.startswith(RELATION_PREFIX)] == [
        RELATION_PREFIX + r.id for r in contract.operation(OPERATION_ID).relations
    ]


def test_check_of_a_key() -> None:
    assert check_of("status_code_conformance[documented]") == "status_code_conformance"
    assert check_of("relation:echo-caseId") == "relation:echo-caseId"


def test_the_judges_findings_come_through_and_slowness_is_the_runs_own() -> None:
    contract = load_spec()
    operation = next(iter(contract.operations.values()))
    checks = Checks(contract, max_response_time_ms=100)
    crashed = checks.exchange(operation, exchange(500, b"boom", 250), Expectation(Expect.VALID))
    assert [f.check for f in crashed.findings] == [NOT_A_SERVER_ERROR, MAX_RESPONSE_TIME]
    slow = crashed.findings[1]
    assert (slow.basis, slow.direction, slow.operation, slow.replayable) == (
        Basis.OPTION,
        Direction.RESPONSE,
        operation.id,
        False,
    )
    assert (
        MAX_RESPONSE_TIME in checks.exchange(operation, exchange(400), Expectation(Expect.DOCUMENTED)).checks
    )
    # No answer at all: the judge's one finding, nothing timed.
    gone = checks.exchange(operation, exchange(None, b""), Expectation(Expect.VALID))
    assert [f.check for f in gone.findings] == [NOT_A_SERVER_ERROR]


def test_a_refusal_cured_by_decided_optional_properties_is_reported_on_the_decision() -> None:
    contract = load_spec()
    operation = next(op for op in contract.operations.values() if decided_optional(op.request_schema))
    required = decided_optional(operation.request_schema)[:1]
    checks = Checks(contract, max_response_time_ms=1000)
    refused = exchange(400)
    judgement = checks.exchange(operation, refused, Expectation(Expect.VALID))
    assert judgement.failed(POSITIVE_DATA_ACCEPTANCE)
    explained = requires_optional(judgement, refused, {}, required, exchange(operation.success_status))
    (finding,) = [f for f in explained.findings if f.check == POSITIVE_DATA_ACCEPTANCE]
    decision = required[0].decision
    assert (finding.subject, finding.basis, finding.decision) == (decision, Basis.DECISION, decision)
    assert f"requires `{required[0].name}`, which the contract makes optional" in finding.received
    assert finding.key in explained.checks and POSITIVE_DATA_ACCEPTANCE not in explained.checks


def test_a_refusal_of_the_media_type_is_not_excused_by_a_decision_on_the_body() -> None:
    contract = load_spec()
    operation = next(iter(contract.operations.values()))
    checks = Checks(contract, max_response_time_ms=1000)
    relied_on = Expectation.valid(decisions=["unknown-properties"])
    excused = checks.exchange(operation, exchange(400), relied_on)
    assert excused.failed(f"{POSITIVE_DATA_ACCEPTANCE}[unknown-properties]")
    refused = checks.exchange(operation, exchange(415), relied_on)
    assert refused.failed(POSITIVE_DATA_ACCEPTANCE)


def test_a_hostile_parameter_may_get_any_documented_status() -> None:
    contract = load_spec()
    operation = next(iter(contract.operations.values()))
    checks = Checks(contract, max_response_time_ms=1000)
    documented = Expectation(Expect.DOCUMENTED)
    assert checks.exchange(operation, exchange(404), documented).ok
    assert checks.exchange(operation, exchange(400), documented).ok
    odd = checks.exchange(operation, exchange(418), documented)
    assert [f.key for f in odd.findings] == ["status_code_conformance[documented]"]
