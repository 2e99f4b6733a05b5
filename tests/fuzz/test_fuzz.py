"""The bounded fuzz run of every CI run: the mock's pipeline and the contract tests' reading of answers,
seeded, a few hundred examples each (docs/fuzzing.md has the long, coverage-guided run)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz import answers, mock_pipeline

pytestmark = pytest.mark.fuzz

BOUNDED = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@seed(15)
@BOUNDED
@given(raw=mock_pipeline.requests())
def test_the_mock_answers_any_request_without_a_server_error(raw: bytes) -> None:
    mock_pipeline.check(raw)


@seed(15)
@settings(BOUNDED, max_examples=200)
@given(answer=answers.pieces(), operation_id=answers.operation_ids, valid=st.booleans())
def test_the_contract_tests_read_any_answer(answer: list[bytes], operation_id: str, valid: bool) -> None:
    answers.check(answer, operation_id, valid)


def test_the_oracle_refuses_a_server_error() -> None:
    """The mock's oracle can fail: a 500 without the envelope, and a traceback, are both named."""
    target = mock_pipeline.target()
    outcome = mock_pipeline.Outcome(
        500, [("Content-Type", "text/html")], b"Traceback (most recent call last)", "GET", "/"
    )
    problems = target.check_answer(outcome)
    assert any("answered 500" in p for p in problems)
    assert any("traceback" in p for p in problems)
    assert any("not the error envelope" in p for p in problems)


def test_the_oracle_takes_a_5xx_the_request_asked_for_and_no_other() -> None:
    """`?__code=500` asks for the operation's documented 500: an answer, not a fault; unasked, a fault."""
    path = "/caseManagement/api/public/analytics/st-1/updateCase/ci-1"
    asked = b"POST %s?__code=500 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % path.encode()
    target = mock_pipeline.target()
    outcome = target.serve(asked)
    assert outcome is not None
    assert outcome.status == 500
    assert not target.check_answer(outcome)
    outcome.query = type(outcome.query)()
    assert any("answered 500" in p for p in target.check_answer(outcome))
