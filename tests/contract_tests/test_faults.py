"""Each faulty app is caught by the right check; the correct app passes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import jwt
import pytest

from spec import load_spec
from tests.contract_tests.apps import ACCOUNT_ID, token
from tests.contract_tests.conftest import invoke

pytestmark = pytest.mark.http

# fault -> the checks that must fail (and no other).
FAULTS = {
    "accepts-missing-caseId": {"negative_data_rejection"},
    "wrong-status-invalid": {"status_code_conformance"},
    "crash-on-desc": {"not_a_server_error"},
    "schema-missing-refId": {"response_schema_conformance"},
    "schema-bad-id": {"response_schema_conformance"},
    "no-echo-caseId": {"relation:echo-caseId"},
    "wrong-lname": {"relation:lname-is-lowercased-name"},
    "wrong-iId": {"relation:stream-is-path"},
    "ignores-account-header": {"relation:account-is-header"},
    "updated-differs": {"relation:created-equals-updated"},
    "reuses-_id": {"relation:new-task-id"},
    "refId-repeats": {"relation:new-ref-id"},
    "status-not-open": {"relation:default-status-open", "relation:default-status-name"},
    "accepts-missing-token": {"ignored_auth"},
    "accepts-malformed-token": {"ignored_auth"},
    "accepts-wrong-signature": {"ignored_auth"},
    "accepts-expired-token": {"ignored_auth"},
    "error-not-envelope": {"error_schema_conformance"},
    "slow": {"max_response_time"},
    # Valid media-type spellings are positive data (the seed page's curl sends `;charset=UTF-8`).
    "rejects-charset": {"positive_data_acceptance"},
    # Hostile but schema-valid path values must get a status the operation documents.
    "odd-stream-teapot": {"status_code_conformance"},
    # A valid update of an id the server does not hold is answered 200 or 404 (decision unknown-ids), never 400.
    "update-refuses-unknown": {"positive_data_acceptance"},
}
# The operation a fault is seen on, when not createTask (each fault test runs that operation only).
FAULT_OPERATIONS = {"update-refuses-unknown": "updateTask", "listing-total-off": "getTasks"}
# fault -> the check that warns: each breaks a rule the spec decided beyond the seed page.
DECISION_FAULTS = {
    "accepts-empty-strings": "negative_data_rejection",
    "accepts-bad-email": "negative_data_rejection",
    "rejects-unknown-properties": "positive_data_acceptance",
    "taskTmp-not-echoed": "relation:echo-taskTmp",
    "timestamp-off": "relation:same-instant",
    "requires-desc": "positive_data_acceptance",
    "requires-name": "positive_data_acceptance",
    # One page that counts an item more than it lists.
    "listing-total-off": "relation:tasks-total-counts",
}
# fault -> the decision its warning names.
DECISION_NAMED = {
    "accepts-empty-strings": "non-empty-required-strings",
    "accepts-bad-email": "email-format",
    "rejects-unknown-properties": "unknown-properties",
    "taskTmp-not-echoed": "response-taskTmp-echoes-request",
    "timestamp-off": "timestamp-tolerance",
    "requires-desc": "desc-optional",
    "requires-name": "task-name-optional",
    "listing-total-off": "pagination",
}
FAILURE_LINE = re.compile(r"^FAILURE: (?P<check>[^\s\[]+)", re.M)
WARNING_LINE = re.compile(r"^WARNING: (?P<check>[^\s\[]+)", re.M)


def failing_checks(output: str) -> set[str]:
    return {m["check"] for m in FAILURE_LINE.finditer(output)}


def warning_checks(output: str) -> set[str]:
    return {m["check"] for m in WARNING_LINE.finditer(output)}


def only(fault: str) -> tuple[str, str]:
    """The option that runs the one operation a fault shows on."""
    return "--operations", FAULT_OPERATIONS.get(fault, "createTask")


def test_correct_app_passes(serve: Callable[..., str]) -> None:
    outcome = invoke(serve(), "--account-id", ACCOUNT_ID)
    assert outcome.exit_code == 0, outcome.output
    assert "the contract holds; 0 warning(s)" in outcome.output


def test_correct_app_passes_with_a_given_token(serve: Callable[..., str]) -> None:
    outcome = invoke(serve(), *only(""), "--jwt", token())
    assert outcome.exit_code == 0, outcome.output
    assert "need --client-id/--client-secret" in outcome.output


def test_rate_limited_app_is_waited_out_not_failed(serve: Callable[..., str]) -> None:
    outcome = invoke(serve("rate-limited"), *only(""))
    assert outcome.exit_code == 0, outcome.output
    answered = re.search(r"(\d+) answered 429 and waited out", outcome.output)
    assert answered is not None and int(answered[1]) > 0, outcome.output


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_by_its_check(serve: Callable[..., str], fault: str) -> None:
    extra = ["--account-id", ACCOUNT_ID, *only(fault)]
    if fault == "slow":
        extra += ["--max-response-time", "40"]
    outcome = invoke(serve(fault), *extra)
    assert outcome.exit_code == 1, outcome.output
    assert failing_checks(outcome.output) == FAULTS[fault], outcome.output
    assert "Received:" in outcome.output and "Documented:" in outcome.output
    assert "curl -sS -X POST" in outcome.output and "--seed 1" in outcome.output


@pytest.mark.parametrize("fault", sorted(DECISION_FAULTS))
def test_a_decision_broken_is_a_warning_unless_strict(serve: Callable[..., str], fault: str) -> None:
    url = serve(fault)
    lenient = invoke(url, *only(fault), examples=20)
    assert lenient.exit_code == 0, lenient.output
    assert warning_checks(lenient.output) == {DECISION_FAULTS[fault]}, lenient.output
    assert "basis: decision" in lenient.output
    assert DECISION_NAMED[fault] in lenient.output, lenient.output
    strict = invoke(url, "--strict", *only(fault), examples=20)
    assert strict.exit_code == 1, strict.output
    assert failing_checks(strict.output) == {DECISION_FAULTS[fault]}, strict.output


def test_a_target_refusing_the_runs_own_token_says_so(serve: Callable[..., str]) -> None:
    wrong = jwt.encode(
        {"appId": "cs-1", "sub": "u-1"}, "not-the-apps-secret-0123456789abcdef", algorithm="HS256"
    )
    outcome = invoke(serve(), "--jwt", wrong)
    assert outcome.exit_code == 1
    assert "refused the run's own token" in outcome.output


def test_the_time_budget_bounds_the_run(serve: Callable[..., str]) -> None:
    started = time.monotonic()
    outcome = invoke(serve("slow"), "--max-time", "1.5", examples=100)
    assert time.monotonic() - started < 10
    assert outcome.exit_code == 0, outcome.output
    assert "stopped early: the --max-time budget" in outcome.output


def test_a_short_budget_still_sends_every_operation_its_valid_requests(serve: Callable[..., str]) -> None:
    # Scenario after scenario over all operations: the last operation is not starved by the first.
    outcome = invoke(serve("slow"), "--max-time", "4", "--account-id", ACCOUNT_ID, examples=100)
    assert outcome.exit_code == 0, outcome.output
    for operation in load_spec().operations:
        sent = re.search(
            rf"\[contract\] {operation}: valid requests \(up to 100\): (\d+) requests", outcome.stderr
        )
        assert sent is not None and int(sent[1]) > 0, outcome.stderr


def test_a_token_signed_with_the_client_secret_is_never_shown(serve: Callable[..., str]) -> None:
    outcome = invoke(serve("accepts-expired-token"), *only(""))
    assert "FAILURE: ignored_auth[expired-token]" in outcome.output
    assert '-H "auth: $KORE_EXPIRED_JWT"' in outcome.output
    assert "eyJ" not in outcome.output


@pytest.mark.parametrize(
    ("fault", "property_", "decision"),
    [("requires-desc", "desc", "desc-optional"), ("requires-name", "name", "task-name-optional")],
)
def test_requiring_a_property_the_contract_makes_optional_names_its_decision(
    serve: Callable[..., str], fault: str, property_: str, decision: str
) -> None:
    url = serve(fault)
    # Enough examples that some send the property blank, which the app refuses as well.
    lenient = invoke(url, *only(""), examples=60)
    assert lenient.exit_code == 0, lenient.output
    assert warning_checks(lenient.output) == {"positive_data_acceptance"}, lenient.output
    assert f"WARNING: positive_data_acceptance[{decision}] (basis: decision" in lenient.output
    assert (
        f"the implementation requires `{property_}`, which the contract makes optional (decision {decision})"
        in lenient.output
    )
    strict = invoke(url, *only(""), "--strict", examples=20)
    assert strict.exit_code == 1, strict.output
    assert f"FAILURE: positive_data_acceptance[{decision}] (basis: decision" in strict.output


def test_a_refusal_that_filling_optional_properties_does_not_cure_is_a_failure(
    serve: Callable[..., str],
) -> None:
    outcome = invoke(serve("refuses-valid", "requires-desc"), *only(""))
    assert outcome.exit_code == 1, outcome.output
    assert failing_checks(outcome.output) == {"positive_data_acceptance"}, outcome.output
    assert "FAILURE: positive_data_acceptance (basis: seed" in outcome.output
    assert "desc-optional" not in outcome.output


def test_bad_tokens_are_judged_on_bodies_every_reading_of_the_page_accepts(serve: Callable[..., str]) -> None:
    # The target reads the body before the token, and requires what a decision makes optional: the
    # bad-token requests must still get their 401, not a 400 for the body.
    outcome = invoke(
        serve("body-before-auth", "requires-desc", "rejects-unknown-properties"), *only(""), examples=20
    )
    assert outcome.exit_code == 0, outcome.output
    assert warning_checks(outcome.output) == {"positive_data_acceptance"}, outcome.output
    assert "WARNING: ignored_auth" not in outcome.output and "status_code_conformance" not in (
        "\n".join(line for line in outcome.output.splitlines() if line.startswith("WARNING"))
    )


def test_a_redirecting_target_is_reported_as_a_setup_problem() -> None:
    from flask import Flask, redirect
    from werkzeug.wrappers import Response

    from tests.contract_tests.apps import serving

    app = Flask(__name__)

    @app.route("/<path:anything>", methods=["GET", "POST"])
    def moved(anything: str) -> Response:
        return redirect(f"https://tasks.example.com/{anything}", code=308)

    with serving(app) as url:
        outcome = invoke(url)
    assert outcome.exit_code == 1, outcome.output
    assert "no valid request was accepted: the target redirects (308) to https://tasks.example.com/" in (
        outcome.output
    )


def test_an_ignored_account_header_is_caught_on_loopback_without_an_account(
    serve: Callable[..., str],
) -> None:
    # No --account-id: on loopback the suite names a made-up account on every other request.
    outcome = invoke(serve("ignores-account-header"), *only(""))
    assert outcome.exit_code == 1, outcome.output
    assert failing_checks(outcome.output) == {"relation:account-is-header"}, outcome.output
