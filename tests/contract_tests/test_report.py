"""Progress: rewritten in place on a terminal, plain lines in CI; the summary table's totals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from contract_tests import ContractReport, Failure
from contract_tests._report import CheckSummary, Progress
from spec import Finding, Judgement
from spec._judge import POSITIVE_DATA_ACCEPTANCE, Basis, Direction


def test_a_terminal_gets_a_live_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    progress.update(3, 1, 42.0)
    progress.phase("valid requests: 3 requests")
    text = stream.getvalue()
    assert text.startswith("\r[contract] 3 requests sent, 1 failing check(s), 42 s left in the budget")
    assert text.endswith("[contract] valid requests: 3 requests\n")


def test_ci_gets_plain_lines_only() -> None:
    stream = io.StringIO()
    progress = Progress(stream, live=False)
    progress.update(3, 1, 42.0)
    progress.phase("done")
    assert stream.getvalue() == "[contract] done\n"


def test_the_report_renders_failures_and_the_table() -> None:
    finding = Finding(
        check="relation:echo-caseId",
        operation="",
        direction=Direction.RESPONSE,
        pointer="",
        basis=Basis.SEED,
        received="'x'",
        documented="'y'",
    )
    failure = Failure(
        finding,
        severity="failure",
        curl="curl -sS -X POST 'http://127.0.0.1:1/x'",
        seed=9,
        occurrences=2,
        shrunk=True,
    )
    report = ContractReport(
        base_url="http://127.0.0.1:1",
        seed=9,
        checks=(CheckSummary("relation:echo-caseId", 4, 2, 0, 2),),
        failures=(failure,),
        warnings=(),
        requests_sent=5,
        rate_limited=1,
        duration_s=2.0,
    )
    text = report.render()
    assert "FAILURE: relation:echo-caseId (basis: seed; response /; seen 2 times)" in text
    assert "Replay the run: --seed 9" in text
    assert "the contract is broken: 1 failure(s) in 1 check(s)" in text
    assert "5 requests in 2.0 s (2.5/s, 1 answered 429 and waited out); seed 9" in text
    assert report.exit_code == 1


def finding(basis: Basis, received: str) -> Finding:
    return Finding(
        check=POSITIVE_DATA_ACCEPTANCE,
        operation="op",
        direction=Direction.RESPONSE,
        pointer="/status",
        basis=basis,
        received=received,
        documented="200",
    )


def test_a_key_that_warned_and_then_fails_is_a_failure() -> None:
    from contract_tests._client import Exchange, PreparedRequest
    from contract_tests._recorder import Recorder

    recorder = Recorder([POSITIVE_DATA_ACCEPTANCE], strict=False)
    first, second = (
        Exchange(PreparedRequest("POST", "http://127.0.0.1:1/x", (), body), status=400)
        for body in (b"1", b"2")
    )
    warned = finding(Basis.DECISION, "excused")
    failed = finding(Basis.SEED, "not excused")
    checked = (POSITIVE_DATA_ACCEPTANCE,)
    assert recorder.record(first, Judgement(checked, (warned,))) == []
    assert recorder.record(second, Judgement(checked, (failed,))) == [failed]
    group = recorder.groups[("op", POSITIVE_DATA_ACCEPTANCE)]
    assert (group.severity, group.finding, group.first, group.count) == ("failure", failed, second, 2)
    assert recorder.failure_count == 1
    assert recorder.tallies[POSITIVE_DATA_ACCEPTANCE].judged == 2


def test_a_failure_carries_the_findings_fields_into_text_and_json(tmp_path: Path) -> None:
    found = Finding(
        check="negative_data_rejection",
        operation="archiveNote",
        direction=Direction.RESPONSE,
        pointer="/status",
        basis=Basis.DECISION,
        received="200: the server accepted a request with a too long `/reason`",
        documented="a refusal with 400",
        fix="refuse the request in the error envelope",
        decision="some-decision",
        subject="too-long:/reason",
    )
    failure = Failure.from_finding(
        found, severity="warning", curl="curl x", seed=3, occurrences=1, shrunk=False
    )
    text = str(failure)
    assert text.startswith(
        "WARNING: negative_data_rejection[too-long:/reason] (basis: decision; decision some-decision; "
        "archiveNote, response /status; seen once)"
    )
    assert "  Fix:        refuse the request in the error envelope" in text
    report = ContractReport(
        base_url="http://127.0.0.1:1",
        seed=3,
        checks=(CheckSummary("negative_data_rejection", 1, 0, 1, 0),),
        failures=(),
        warnings=(failure,),
        requests_sent=1,
        rate_limited=0,
        duration_s=1.0,
        operations=("archiveNote",),
    )
    target = tmp_path / "report.json"
    report.write_json(target)
    document = json.loads(target.read_text())
    (entry,) = document["warnings"]
    assert {
        k: entry[k] for k in ("check", "operation", "direction", "pointer", "basis", "decision", "fix")
    } == {
        "check": "negative_data_rejection",
        "operation": "archiveNote",
        "direction": "response",
        "pointer": "/status",
        "basis": "decision",
        "decision": "some-decision",
        "fix": "refuse the request in the error envelope",
    }
    assert document["operations"] == ["archiveNote"] and document["exit_code"] == 0


def test_a_stop_signal_among_several_bugs_ends_the_run_quietly() -> None:
    # Hypothesis reports several bugs as one group; the budget can run out (the run's stop signal) or
    # an answer change (Flaky) while it replays one of them. Seen once in six runs as a traceback.
    from hypothesis.errors import Flaky

    from contract_tests._runner import CheckFailed, _StopRun, shrunk_failures

    first, second = CheckFailed.__new__(CheckFailed), CheckFailed.__new__(CheckFailed)
    group = ExceptionGroup("bugs", [first, _StopRun(), ExceptionGroup("more", [second, Flaky("changed")])])
    assert shrunk_failures(group) == [first, second]
    with pytest.raises(KeyError):
        shrunk_failures(ExceptionGroup("bugs", [first, KeyError("a bug of the tests themselves")]))
