"""The contract tests against hostile servers (issue 15, items 4 and 5), over real sockets.

Each target misbehaves in one way (tests/contract_tests/hostile.py). Every run must end within its
`--max-time` (the subprocess's timeout is the budget plus a margin for the interpreter's start and the
report: no timed assertion), exit 1 or 2 with the problem named, never print a traceback, read a
body only up to the cap, and never send or print a credential where it does not belong.

Exit status, per case: a target that accepted the connection is judged, so silence, dripping, an
endless or oversized body, a malformed status line, undecodable or too deeply nested JSON and
redirects are all findings (1); only a target nothing can connect to is unreachable (2, as
test_cli.py shows). An interrupted run prints what it found so far: 1 when that includes a
violation, else 2 (an unfinished run cannot say the contract holds).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from contract_tests._client import NOT_JSON, ContractClient, Exchange, PreparedRequest
from contract_tests._pacing import Budget, TokenBucket
from contract_tests._transport import MAX_ANSWER_BYTES, size_text
from tests.contract_tests import hostile
from tests.contract_tests.apps import CLIENT_ID, SECRET, STREAM_ID, create_app, serving, token
from tests.contract_tests.conftest import invoke

pytestmark = pytest.mark.http

ROOT = Path(__file__).resolve().parents[2]
# What a run may take beyond --max-time: the interpreter's start, loading the spec, the report,
# on a loaded two-core machine. A hang (a request without a deadline) takes far longer.
MARGIN_S = 25.0
TRACEBACK = "Traceback (most recent call last)"


def cli_args(url: str, *extra: str, max_time: float) -> list[str]:
    return [
        "--base-url",
        url,
        "--stream-id",
        STREAM_ID,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        SECRET,
        "--seed",
        "1",
        "--max-examples",
        "3",
        "--operations",
        "createTask",
        "--max-time",
        str(max_time),
        *extra,
    ]


def start(args: list[str]) -> subprocess.Popen[str]:
    """`python -m contract_tests ARGS` in a fresh interpreter."""
    return subprocess.Popen(
        [sys.executable, "-m", "contract_tests", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    # Why the case could not be run as planned (it outlived its time, or ended before its interrupt).
    problem: str = ""


@dataclass(frozen=True)
class Case:
    """A subprocess run: its target (a hostile behaviour, or None for the correct app, slowed), its
    --max-time and other options, and the progress line after which it gets SIGINT (None: never)."""

    behaviour: hostile.Behaviour | None
    max_time: float
    extra: tuple[str, ...] = ()
    interrupt_after: str | None = None


# A request waits until the budget ends; it is reported because it waited past --max-response-time.
WAITS = ("--max-response-time", "500")
CASES = {
    # `python -m contract_tests` itself against a target that never answers: bounded by --max-time.
    "never-answers": Case(hostile.never_answers, 3.0, WAITS),
    # Interrupted once the named examples (each answered 500) were judged.
    "sigint-after-violations": Case(hostile.slow_server_errors, 120.0, (), "named request examples (4):"),
    # Interrupted while the first request waits for an answer that never comes.
    "sigint-before-any-answer": Case(hostile.never_answers, 8.0, (), "named request examples (4)..."),
    # The correct app: interrupted while its valid requests are being sent.
    "sigint-without-violations": Case(None, 120.0, (), "valid requests (up to 3)..."),
}
# Runs at once: each process spends its first seconds importing and loading the spec, on two cores.
WORKERS = 2


def run_case(url: str, case: Case) -> Ran:
    """Run the CLI against `url`; send SIGINT after the case's progress line; collect what it printed."""
    process = start(cli_args(url, *case.extra, max_time=case.max_time))
    seen: list[str] = []
    problem = ""
    if case.interrupt_after is not None:
        assert process.stderr is not None
        for text in process.stderr:
            seen.append(text)
            if case.interrupt_after in text:
                process.send_signal(signal.SIGINT)
                break
        else:
            problem = f"the run ended before {case.interrupt_after!r}"
    try:
        stdout, stderr = process.communicate(timeout=case.max_time + MARGIN_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        problem = f"the run outlived --max-time {case.max_time} + {MARGIN_S} s"
    return Ran(process.returncode, stdout, "".join(seen) + stderr, problem)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Ran]]:
    """Every subprocess case, two at a time, each against its own server."""
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(hostile.hostile(case.behaviour)).url
            if case.behaviour is not None
            else stack.enter_context(serving(create_app(faults=frozenset({"slow"}))))
            for name, case in CASES.items()
        }
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {name: pool.submit(run_case, urls[name], case) for name, case in CASES.items()}
            yield {name: future.result() for name, future in futures.items()}


def ran(runs: dict[str, Ran], name: str) -> Ran:
    outcome = runs[name]
    assert not outcome.problem, f"{outcome.problem}\n{outcome.stdout}\n{outcome.stderr}"
    assert TRACEBACK not in outcome.stdout + outcome.stderr, outcome.stderr
    return outcome


def test_a_target_that_never_answers_is_a_finding_within_the_budget(runs: dict[str, Ran]) -> None:
    outcome = ran(runs, "never-answers")
    assert outcome.code == 1, outcome.stdout + outcome.stderr
    assert "FAILURE: not_a_server_error" in outcome.stdout, outcome.stdout
    assert "no complete answer within" in outcome.stdout, outcome.stdout
    assert "stopped early: the --max-time budget of 3 s ran out" in outcome.stdout


def test_sigint_prints_the_report_so_far_and_exits_1_with_violations(runs: dict[str, Ran]) -> None:
    outcome = ran(runs, "sigint-after-violations")
    assert outcome.code == 1, outcome.stdout + outcome.stderr
    assert "FAILURE: not_a_server_error" in outcome.stdout
    assert "stopped early: interrupted (Ctrl-C, SIGINT)" in outcome.stdout


def test_sigint_without_a_violation_exits_2_not_0(runs: dict[str, Ran]) -> None:
    outcome = ran(runs, "sigint-without-violations")
    assert outcome.code == 2, outcome.stdout + outcome.stderr
    assert "no violation found before the run was interrupted" in outcome.stdout
    assert "stopped early: interrupted (Ctrl-C, SIGINT)" in outcome.stdout


def test_sigint_before_any_answer_exits_2_with_a_message(runs: dict[str, Ran]) -> None:
    outcome = ran(runs, "sigint-before-any-answer")
    assert outcome.code == 2, outcome.stdout + outcome.stderr
    assert "no answer could be judged: interrupted (Ctrl-C, SIGINT)" in outcome.stderr


# -- in-process runs (real sockets, pytest-timeout bounds them) -----------------------------------

# case -> (behaviour, options, the failing check, what its finding says)
INPROCESS_CASES: dict[str, tuple[hostile.Behaviour, tuple[str, ...], str, str]] = {
    # (A target that never answers is run as a subprocess above.)
    "drips-a-byte-a-second": (hostile.drips, WAITS, "not_a_server_error", "no complete answer within"),
    "sends-a-gigabyte": (hostile.sends_a_gigabyte, (), "not_a_server_error", f"went past {size_text()}"),
    "endless-chunked-body": (
        hostile.sends_an_endless_chunked_body,
        (),
        "not_a_server_error",
        f"went past {size_text()}",
    ),
    "malformed-status-line": (hostile.malformed_status_line, (), "not_a_server_error", "illegal status line"),
    "100000-nested-arrays": (
        hostile.nested_arrays,
        (),
        "response_schema_conformance",
        "JSON nested deeper than the 1024 levels the judge reads",
    ),
    "bad-gzip": (hostile.bad_gzip, (), "not_a_server_error", "a body its Content-Encoding does not decode"),
    "redirects-to-itself": (
        hostile.redirects_to_itself,
        (),
        "status_code_conformance",
        "302, a status createTask",
    ),
}


# pytest-timeout bounds each run: a request without a deadline would hang it far longer.
@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(INPROCESS_CASES))
def test_a_hostile_answer_is_a_finding(case: str) -> None:
    behaviour, options, check, message = INPROCESS_CASES[case]
    with hostile.hostile(behaviour) as server:
        outcome = invoke(server.url, "--operations", "createTask", "--max-time", "3", *options, examples=3)
    assert outcome.exit_code == 1, outcome.output + outcome.stderr
    assert f"FAILURE: {check}" in outcome.output, outcome.output
    assert message in outcome.output, outcome.output


@pytest.mark.parametrize("behaviour", [hostile.sends_a_gigabyte, hostile.sends_an_endless_chunked_body])
def test_a_huge_answer_is_read_only_up_to_the_cap(behaviour: hostile.Behaviour) -> None:
    with hostile.hostile(behaviour) as server:
        client = ContractClient(server.url, bucket=TokenBucket(None), budget=Budget(60), timeout=30)
        request = PreparedRequest("POST", server.url + "/x", (("Content-Type", "application/json"),), b"{}")
        tracemalloc.start()
        try:
            exchange = client.send(request)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            client.close()
    assert exchange.error is not None and f"went past {size_text()}" in exchange.error
    assert exchange.body == b""
    assert peak < 2 * MAX_ANSWER_BYTES < hostile.ONE_GIGABYTE


@pytest.mark.timeout(60)
def test_a_redirect_to_another_origin_is_not_followed_and_carries_no_credential() -> None:
    with (
        hostile.hostile(hostile.records) as other,
        hostile.hostile(hostile.redirects_to(other.url)) as server,
    ):
        outcome = invoke(
            server.url, "--operations", "createTask", "--max-time", "3", "--jwt", token(), examples=3
        )
        assert other.connections == 0 and other.received == []
        assert server.received  # the run did send its requests, all to the origin it was given
        elsewhere = other.url
    assert outcome.exit_code == 1, outcome.output
    assert "FAILURE: status_code_conformance" in outcome.output
    assert f"the target redirects (307) to {elsewhere}/" in outcome.output


@pytest.mark.timeout(90)
def test_a_credential_a_target_echoes_is_never_printed(tmp_path: Path) -> None:
    given = token()
    report = tmp_path / "report.json"
    short = ("--operations", "createTask", "--max-time", "2")
    with hostile.hostile(hostile.echoes_the_request) as server:
        with_token = invoke(server.url, *short, "--jwt", given, "--json-report", str(report), examples=3)
        # The target received the token, and echoed it in its body and a header.
        assert any(f"auth: {given}".encode() in head for head in server.received)
        server.received.clear()
        minting = invoke(server.url, *short, examples=3)  # --client-id/--client-secret
        # The run's own token: on its first requests (the bad tokens come last).
        minted = next(m for head in server.received if (m := re.search(rb"^auth: (\S+)\r?$", head, re.M)))
        shown = invoke(server.url, *short, "--jwt", given, "--show-secrets", examples=3)
    assert with_token.exit_code == 1 and minting.exit_code == 1, with_token.output + minting.output
    assert '-H "auth: $KORE_JWT"' in with_token.output
    for text in (with_token.output, with_token.stderr, report.read_text()):
        assert given not in text
    for text in (minting.output, minting.stderr):
        assert SECRET not in text and minted[1].decode() not in text
    # --show-secrets shows it in the reproduction commands, as it says.
    assert given in shown.output


def test_deeply_nested_json_does_not_crash_the_exchange_reader() -> None:
    depth = hostile.NESTING
    exchange = Exchange(
        PreparedRequest("GET", "http://127.0.0.1/", (), None), 200, (), b"[" * depth + b"]" * depth
    )
    assert exchange.json() is NOT_JSON


def test_an_error_hypothesis_raises_from_an_interrupt_is_the_interrupt() -> None:
    # Regression: a SIGINT while Hypothesis set up its engine came out as its AssertionError (the
    # KeyboardInterrupt as its context) and was printed as a traceback.
    from contract_tests._runner import _caused_by_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AssertionError("state._runner is not None") from None
    except AssertionError as wrapped:
        assert wrapped.__context__ is not None
        assert _caused_by_interrupt(wrapped)
    assert _caused_by_interrupt(BaseExceptionGroup("two", [ValueError(), KeyboardInterrupt()]))
    assert not _caused_by_interrupt(ValueError("a bug of the contract tests is raised, not hidden"))


def test_the_sigint_handler_is_the_callers_again_after_the_run() -> None:
    from contract_tests._interrupt import StopOnSigint

    before = signal.getsignal(signal.SIGINT)
    stops: list[int] = []
    with StopOnSigint(lambda: stops.append(1)):
        assert signal.getsignal(signal.SIGINT) is not before
        signal.raise_signal(signal.SIGINT)  # the first asks the run to stop, and raises nothing
        assert stops == [1]
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second aborts
    assert signal.getsignal(signal.SIGINT) is before
