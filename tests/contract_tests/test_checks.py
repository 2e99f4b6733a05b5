"""The contract tests ask the one judge (`spec.ContractJudge`) and add only what a run knows."""

from __future__ import annotations

import json
from pathlib import Path

from contract_tests._checks import Checks, check_names, check_of, requires_optional
from contract_tests._client import Exchange, PreparedRequest
from contract_tests._optional import decided_optional
from spec import Expect, Expectation, Sequences, load_spec
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


def test_a_listing_pages_relations_are_checks_of_a_run() -> None:
    contract = load_spec()
    sequences = Sequences(contract)
    listings = [op for op in contract.operations.values() if sequences.page_relations(op.id)]
    assert listings, "the spec has listing operations"
    names = check_names(listings, sequences)
    page = [RELATION_PREFIX + r.id for op in listings for r in sequences.page_relations(op.id)]
    assert [n for n in names if n.startswith(RELATION_PREFIX)][-len(page) :] == list(dict.fromkeys(page))
    assert names[-1] == MAX_RESPONSE_TIME


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


def test_an_update_of_an_id_the_run_did_not_create_may_be_answered_404_by_the_specs_decision() -> None:
    contract = load_spec()
    sequences = Sequences(contract)
    checks = Checks(contract, max_response_time_ms=1000)
    not_found = b'{"errors":[{"msg":"no such case","code":404}]}'
    updates = [
        op for op in contract.operations.values() if (sequences.role(op.id) or (None, ""))[1] == "update"
    ]
    assert updates
    for operation in updates:
        decision = sequences.unknown_ids_decision(operation.id)
        assert decision is not None and decision in {d.id for d in contract.decisions}
        expectation = sequences.unknown_ids_expectation(operation.id)
        assert expectation.kind is Expect.VALID_OR_UNKNOWN
        unknown = checks.exchange(operation, exchange(404, not_found), expectation)
        assert unknown.ok and f"{POSITIVE_DATA_ACCEPTANCE}[{decision}]" in unknown.checks
        refused = checks.exchange(operation, exchange(400), expectation)
        (finding,) = [f for f in refused.findings if f.check == POSITIVE_DATA_ACCEPTANCE]
        assert (
            finding.decision == decision
            and f"{operation.success_status} for a request valid" in finding.documented
        )
        assert "or 404" in finding.documented
        # An invalid body to an unknown id: the 404 of the id is as good a refusal as the 400 of the body.
        invalid = Expectation(Expect.INVALID, rule="wrong-type", statuses=frozenset({400}))
        widened = sequences.unknown_ids_expectation(operation.id, invalid)
        assert checks.exchange(operation, exchange(404, not_found), widened).ok
        assert not checks.exchange(operation, exchange(404, not_found), invalid).ok
        # The proxy's expectation (no fault seen in the request) takes the 404 as well, and still no 400.
        seen = sequences.unknown_ids_expectation(operation.id, Expectation(Expect.NO_FAULT_SEEN))
        assert checks.exchange(operation, exchange(404, not_found), seen).ok
        assert not checks.exchange(operation, exchange(400), seen).ok
        assert checks.exchange(operation, exchange(401), seen).ok
    others = [op for op in contract.operations.values() if op not in updates]
    assert all(sequences.unknown_ids_expectation(op.id).kind is Expect.VALID for op in others)


def test_a_listing_page_is_judged_on_its_own_numbers() -> None:
    contract = load_spec()
    sequences = Sequences(contract)
    checks = Checks(contract, max_response_time_ms=1000)
    listings = [op for op in contract.operations.values() if sequences.page_relations(op.id)]
    empty = {"results": [], "page": 1, "limit": 50, "hasMore": False, "totalPages": 0, "totalResults": 0}
    for operation in listings:
        judged = checks.exchange(operation, exchange(200, json.dumps(empty).encode()), Expectation.valid())
        assert judged.ok, judged.findings
        assert {RELATION_PREFIX + r.id for r in sequences.page_relations(operation.id)} <= set(judged.checks)
        (counts,) = [r for r in sequences.page_relations(operation.id) if r.kind == "total-counts"]
        (pages,) = [r for r in sequences.page_relations(operation.id) if r.kind == "listing-exact"]
        miscounted = {**empty, "totalResults": 1, "totalPages": 1}
        judged = checks.exchange(
            operation, exchange(200, json.dumps(miscounted).encode()), Expectation.valid()
        )
        assert {f.check for f in judged.findings} == {RELATION_PREFIX + counts.id}
        too_large = {**empty, "limit": 500}
        judged = checks.exchange(
            operation, exchange(200, json.dumps(too_large).encode()), Expectation.valid()
        )
        assert {f.check for f in judged.findings} == {RELATION_PREFIX + pages.id}
