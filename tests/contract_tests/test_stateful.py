"""The stateful phase: correct implementations pass, each state fault is caught by its check, failures replay.

The implementations are served on loopback (werkzeug; the mock under gunicorn in
test_against_mock.py's fixture). Runs are seeded and bounded (`--only-sequences`, a few sequences).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from contract_tests import ContractConfig
from contract_tests._report import ContractReport
from contract_tests._runner import _Run, run_contract
from spec import Sequences, load_spec
from tests.contract_tests.apps import CLIENT_ID, SECRET, STREAM_ID, serving, token
from tests.contract_tests.stateful_app import STATE_FAULT_COMPANIONS, STATE_FAULTS, create_app
from tests.contract_tests.test_against_mock import SECRET as MOCK_SECRET
from tests.contract_tests.test_against_mock import mock_url  # noqa: F401 (the fixture)

pytestmark = pytest.mark.http

# Faults that 20 seeded sequences show in a few seconds each; the others run in the slow suite.
QUICK_FAULTS = ("lname-stale", "not-listed", "read-only-changed", "unknown-id-200", "update-not-persisted")
# What the sequences also see broken beside a fault's check, besides the companions stateful_app.py
# lists for its own scripted scenarios: a walk or a page the scenarios do not send, the answer's own
# relation to its request, the schema of an answer holding a forged value.
ALSO_BROKEN = {
    "has-more-wrong": {"relation:tasks-total-counts"},
    "lname-stale": {"relation:updated-task-lname"},
    "not-joined": {"relation:case-update-merged"},
    "page-lost": {"relation:tasks-total-counts"},
    # As with page-lost: the pages walked to the end hold one entry more than the total counts.
    "page-repeated": {"relation:case-listed-after-create", "relation:cases-total-counts"},
    "read-only-changed": {"response_schema_conformance"},
    # A total counting objects the filters drop makes the short page after the last kept one claim more.
    "total-wrong": {"relation:cases-pages-partition", "relation:cases-last-page"},
    "wrong-scope": {"relation:tasks-last-page"},
}
SEQUENCE_RELATIONS = {f"relation:{r.id}" for r in Sequences(load_spec()).relations}


@pytest.fixture
def stateful_app() -> Iterator[Callable[..., str]]:
    """Serve the hand-written stateful app (with the faults named) and give its base URL."""
    stack: list[object] = []

    def start(*faults: str) -> str:
        context = serving(create_app(faults=frozenset(faults)))
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


def sequences_run(url: str, *, sequences: int = 10, seed: int = 1, **extra: object) -> ContractReport:
    config = ContractConfig(
        base_url=url,
        stream_id=STREAM_ID,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        seed=seed,
        strict=True,
        single_calls=False,
        sequences=sequences,
        **extra,  # type: ignore[arg-type]
    )
    return run_contract(config)


def broken(report: ContractReport) -> set[str]:
    """Every check the run saw broken: the failures, and the relations the same answers also broke."""
    return {f.check for f in report.failures} | {c for f in report.failures for c in f.also}


def test_the_correct_stateful_app_passes_a_few_sequences(stateful_app: Callable[..., str]) -> None:
    report = sequences_run(stateful_app(), sequences=5)
    assert report.ok, report.render()
    assert report.requests_sent > 20


@pytest.mark.slow
def test_the_correct_stateful_app_passes_and_exercises_the_sequence_relations(
    stateful_app: Callable[..., str],
) -> None:
    report = sequences_run(stateful_app(), sequences=20)
    assert report.ok, report.render()
    assert report.coverage is not None
    exercised = {rid for rid, done in report.coverage.relations if done}
    # Every relation across calls but the rarest ones is exercised by a handful of sequences.
    assert len({f"relation:{r}" for r in exercised} & SEQUENCE_RELATIONS) >= len(SEQUENCE_RELATIONS) - 3, (
        exercised
    )
    assert dict(report.coverage.isolation) == {"accounts": "exercised", "streams": "exercised"}
    assert report.marker and all(c.name.startswith(report.marker) for c in report.created if c.name)


def check_fault(url: str, fault: str) -> ContractReport:
    report = sequences_run(url, sequences=20)
    wanted = STATE_FAULTS[fault]
    allowed = {wanted} | STATE_FAULT_COMPANIONS.get(fault, frozenset()) | ALSO_BROKEN.get(fault, set())
    # The fault's check fails; what the same answers also broke is named under the first relation an
    # answer breaks, and is only what the spec's interpreter necessarily reports beside the fault.
    assert wanted in {f.check for f in report.failures}, report.render()
    assert broken(report) <= allowed, (sorted(broken(report) - allowed), report.render())
    assert all(f.steps and f.curl for f in report.failures)
    return report


@pytest.mark.parametrize("fault", QUICK_FAULTS)
def test_a_state_fault_is_caught_by_its_check(stateful_app: Callable[..., str], fault: str) -> None:
    check_fault(stateful_app(fault), fault)


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(set(STATE_FAULTS) - set(QUICK_FAULTS)))
def test_every_state_fault_is_caught_by_its_check(stateful_app: Callable[..., str], fault: str) -> None:
    check_fault(stateful_app(fault), fault)


def test_a_failing_sequence_is_printed_as_numbered_curls_and_written_as_a_script(
    stateful_app: Callable[..., str], tmp_path: Path
) -> None:
    url = stateful_app("update-not-persisted")
    report = sequences_run(url, sequences=20, repro_dir=tmp_path)
    (failure,) = [f for f in report.failures if f.check == "relation:task-update-merged"]
    text = str(failure)
    assert "Reproduce (" in text and "\n    1. " in text and "curl -sS -X POST" in text
    assert "--seed 1" in text and "$KORE_JWT" in text
    script = Path(failure.script)
    assert script.parent == tmp_path and os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
    # Replayed against the same faulty app, the script sends the calls in order: each created id is
    # captured and sent on, so the update names the task the replay created, and the last answer
    # is a listing again.
    done = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KORE_JWT": token()},
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == len(failure.steps)
    assert all("errors" not in a for a in answers), done.stdout
    assert "${ID_" in script.read_text()


def test_secrets_are_redacted_unless_asked(stateful_app: Callable[..., str], tmp_path: Path) -> None:
    url = stateful_app("update-not-persisted")
    shown = sequences_run(url, sequences=20, show_secrets=True, repro_dir=tmp_path)
    failure = next(f for f in shown.failures if f.steps)
    assert "$KORE_JWT" not in "".join(failure.steps) and "KORE_JWT" not in Path(failure.script).read_text()


def test_coverage_names_what_was_not_exercised(stateful_app: Callable[..., str]) -> None:
    report = sequences_run(stateful_app(), sequences=5, operations=("createTask", "getTasks"))
    assert report.coverage is not None
    missing = report.coverage.not_exercised()
    # The updates were not selected: the relations that need them are listed by name, never passed.
    assert "relation task-update-merged" in missing and "relation task-ids-unchanged" not in [
        r for r, done in report.coverage.relations if done
    ]
    assert any(m.startswith("status createTask ") for m in missing)
    entry = report.entry()["coverage"]
    assert "relation task-update-merged" in entry["not_exercised"]
    assert 'name="relation task-update-merged"' in report.junit_xml()
    assert "not exercised: " in report.render()


def test_isolation_is_not_run_without_a_second_account_off_loopback() -> None:
    config = ContractConfig(
        base_url="https://staging.example.com", stream_id=STREAM_ID, jwt=token(), allow_writes=True, seed=1
    )
    run = _Run(config, load_spec(), tuple(load_spec().operations.values()), _silent(), 1)
    assert [s.label for s in run.stateful.slots(1)] == ["own"]
    run.stateful.ran = True
    isolation = dict(run.stateful.isolation())
    assert isolation["accounts"].startswith("not run: no --second-account-id"), isolation
    assert isolation["streams"].startswith("not run: no --second-stream-id"), isolation
    given = ContractConfig(
        base_url="https://staging.example.com",
        stream_id=STREAM_ID,
        jwt=token(),
        allow_writes=True,
        second_account_id="7a1b2c3d4e5f60718293a4b5",
    )
    labels = [s.label for s in _Run(given, load_spec(), (), _silent(), 1).stateful.slots(1)]
    assert labels == ["own", "second account"]


def test_the_cli_runs_sequences_by_default_and_reports_what_it_created(
    stateful_app: Callable[..., str],
) -> None:
    from contract_tests.__main__ import cli

    result = CliRunner().invoke(
        cli,
        [
            "--base-url",
            stateful_app(),
            "--stream-id",
            STREAM_ID,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            SECRET,
            "--seed",
            "1",
            "--max-examples",
            "2",
            "--operations",
            "createCase,getCases",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "sequences: up to" in result.stderr
    assert result.stdout.rstrip().splitlines()[-2].startswith("created by this run")
    assert "[kct-" in result.stdout


def _silent() -> object:
    from contract_tests._report import SilentProgress

    return SilentProgress()


def test_the_mock_passes_the_sequences_over_http(mock_url: str) -> None:  # noqa: F811 (the fixture)
    """The project's mock (gunicorn, started as the help shows) keeps every relation across calls that
    the seed page grounds; rules the spec decided may warn (see the report's warnings)."""
    config = ContractConfig(
        base_url=mock_url,
        stream_id=STREAM_ID,
        client_id=CLIENT_ID,
        client_secret=MOCK_SECRET,
        seed=1,
        single_calls=False,
        sequences=10,
    )
    report = run_contract(config)
    assert report.ok, report.render()
    assert report.coverage is not None
    assert dict(report.coverage.isolation) == {"accounts": "exercised", "streams": "exercised"}
    assert any(done for rid, done in report.coverage.relations if rid == "task-update-merged")
