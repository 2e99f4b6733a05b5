"""A made-up second operation (`archiveNote`, tests/madeup.py) is tested from the spec copy alone.

No code of the contract tests names it: its statuses, media types, schemas, parameters, invalid
kinds and relations are read from its `Operation`, and a fault of a small WSGI implementation of it
is caught by its check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contract_tests._checks import check_names
from spec import load_spec
from tests.contract_tests.apps import ACCOUNT_ID
from tests.contract_tests.conftest import invoke
from tests.contract_tests.notes_app import create_notes_app
from tests.contract_tests.test_faults import failing_checks, warning_checks
from tests.contract_tests.wsgi_app import serving_wsgi
from tests.madeup import OPERATION_ID, write_madeup_spec

pytestmark = pytest.mark.http

# fault -> the checks that must fail (and no other).
FAULTS = {
    "rejects-keepDays-over-180": {"positive_data_acceptance"},
    "echoes-wrong-reason": {"relation:archive-echo-reason"},
    "accepts-long-reason": {"negative_data_rejection"},
    "rejects-charset": {"positive_data_acceptance"},
    "needs-notify": {"positive_data_acceptance"},
    # The required `accountId` header left out (InvalidRequest.headers: None) must be refused.
    "accepts-no-account": {"negative_data_rejection"},
}


@pytest.fixture(scope="module")
def madeup_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_madeup_spec(tmp_path_factory.mktemp("madeup"))


@pytest.fixture
def notes_url() -> Iterator[Callable[..., str]]:
    """Serve the archiveNote stub (correct unless faults are named) and give its base URL."""
    started: list[object] = []

    def start(*faults: str) -> str:
        context = serving_wsgi(create_notes_app(faults=frozenset(faults)), "http/1.1-chunked")
        started.append(context)
        return context.__enter__()

    yield start
    for context in reversed(started):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


def run_archive(url: str, spec: Path, *extra: str, examples: int = 20) -> tuple[int, str]:
    outcome = invoke(
        url,
        "--spec",
        str(spec),
        "--operations",
        OPERATION_ID,
        "--account-id",
        ACCOUNT_ID,
        *extra,
        examples=examples,
    )
    return outcome.exit_code, outcome.output


def test_the_correct_implementation_passes_every_check_of_the_operation(
    notes_url: Callable[..., str], madeup_spec: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    code, output = run_archive(notes_url(), madeup_spec, "--json-report", str(report))
    assert code == 0, output
    assert "the contract holds; 0 warning(s)" in output
    document = json.loads(report.read_text())
    assert document["operations"] == [OPERATION_ID]
    operation = load_spec(madeup_spec).operation(OPERATION_ID)
    assert [c["check"] for c in document["checks"]] == check_names([operation])
    judged = {c["check"]: c["judged"] for c in document["checks"]}
    # Every check of the operation was exercised: its relations, refusals, tokens and schemas.
    assert all(judged[name] > 0 for name in judged), judged


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_is_caught_by_its_check(notes_url: Callable[..., str], madeup_spec: Path, fault: str) -> None:
    code, output = run_archive(notes_url(fault), madeup_spec)
    assert code == 1, output
    assert failing_checks(output) == FAULTS[fault], output
    assert warning_checks(output) == set(), output
    assert f"{OPERATION_ID}, response /" in output
    assert "/archiveNote/" in output and "curl -sS -X POST" in output


def test_an_unknown_operation_is_a_usage_error_naming_the_spec_s(madeup_spec: Path) -> None:
    outcome = invoke("http://127.0.0.1:9", "--spec", str(madeup_spec), "--operations", "deleteEverything")
    assert outcome.exit_code == 2, outcome.output
    assert (
        "deleteEverything" in outcome.stderr
        and OPERATION_ID in outcome.stderr
        and "createTask" in outcome.stderr
    )
