"""Same seed, same requests; JUnit XML is written and parseable; the pytest mode runs the same checks."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from contract_tests._checks import check_names
from spec import Sequences, load_spec
from spec._judge import RELATION_PREFIX
from tests.contract_tests.apps import CLIENT_ID, SECRET, STREAM_ID, Journal
from tests.contract_tests.conftest import invoke

pytestmark = pytest.mark.http
ROOT = Path(__file__).resolve().parents[2]


def test_the_same_seed_sends_the_same_requests(serve: Callable[..., str]) -> None:
    journals = [Journal(), Journal(), Journal()]
    for journal, seed in zip(journals, (7, 7, 8), strict=True):
        outcome = invoke(serve(journal=journal), examples=5, seed=seed)
        assert outcome.exit_code == 0, outcome.output
    assert journals[0].bodies == journals[1].bodies
    assert len(journals[0].bodies) > 20
    assert journals[0].bodies != journals[2].bodies


def test_junit_xml_has_one_testcase_per_check(serve: Callable[..., str], tmp_path: Path) -> None:
    target = tmp_path / "out" / "contract.xml"
    outcome = invoke(serve("no-echo-caseId"), "--junit-xml", str(target), examples=5)
    assert outcome.exit_code == 1
    suite = ET.parse(target).getroot()
    cases = {
        case.get("name"): case for case in suite.iter("testcase") if case.get("classname") == "contract_tests"
    }
    assert list(cases) == check_names(load_spec().operations.values(), Sequences(load_spec()), stateful=True)
    # What the run did not exercise is a skipped testcase each, by name.
    coverage = [c for c in suite.iter("testcase") if c.get("classname") == "contract_tests.coverage"]
    assert coverage and all(c.find("skipped") is not None for c in coverage)
    failure = cases["relation:echo-caseId"].find("failure")
    assert failure is not None and "curl" in (failure.text or "")
    assert cases["relation:echo-caseRefId"].find("failure") is None
    assert suite.get("failures") == "1"


def pytest_mode(url: str, *extra: str, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q", *extra]
    if url:
        args += [
            "--base-url",
            url,
            "--stream-id",
            STREAM_ID,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            secret,
        ]
        # apps.py keeps no objects: the single calls are judged here, the sequences in test_stateful.py.
        args += ["--contract-max-examples", "5", "--contract-seed", "3", "--contract-sequences", "0"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def expected_pytest_outcome() -> str:
    """A correct implementation's pytest-mode summary with no sequences: every check passes but the
    relations of the success answers of updates, which single calls never see (the ids they name are
    unknown), and the relations across calls that no single page shows."""
    contract = load_spec()
    sequences = Sequences(contract)
    names = check_names(contract.operations.values(), sequences, stateful=True)
    unseen = {
        RELATION_PREFIX + r.id
        for op in contract.operations.values()
        if sequences.unknown_ids_decision(op.id)
        for r in op.relations
    }
    unseen |= set(names) - set(check_names(contract.operations.values(), sequences))
    return f"{len(names) - len(unseen)} passed, {len(unseen)} skipped"


def test_pytest_mode_passes_a_correct_implementation(serve: Callable[..., str]) -> None:
    done = pytest_mode(serve())
    assert done.returncode == 0, done.stdout + done.stderr
    assert expected_pytest_outcome() in done.stdout, done.stdout


def test_pytest_mode_fails_the_broken_check_only(serve: Callable[..., str]) -> None:
    done = pytest_mode(serve("wrong-iId"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED contract_tests/test_contract.py::test_check[relation:stream-is-path]" in done.stdout
    assert "1 failed" in done.stdout


def test_pytest_mode_skips_without_a_base_url() -> None:
    done = pytest_mode("")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" in done.stdout and "failed" not in done.stdout


def test_pytest_mode_exits_2_when_the_target_is_unreachable() -> None:
    from tests.contract_tests.test_cli import free_port

    done = pytest_mode(f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unreachable" in done.stdout + done.stderr
