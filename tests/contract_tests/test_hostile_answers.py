"""Any bytes a target answers give an Exchange (an answer or a reason there was none), and the judge
reads it without an error: generated status lines, headers and bodies, sent over a real socket."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests._checks import Checks
from contract_tests._client import ContractClient, Exchange
from contract_tests._pacing import Budget, TokenBucket
from spec import Expectation, load_spec
from tests.contract_tests import hostile

pytestmark = pytest.mark.http

CONTRACT = load_spec()
OPERATION = CONTRACT.operations["createTask"]
CRLF = b"\r\n"

status_lines = st.one_of(
    st.builds(
        lambda version, code, reason: b"%s %s %s" % (version, code, reason),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 ", b"HTTQ/1.1", b""]),
        st.one_of(st.integers(0, 1200).map(lambda n: str(n).encode()), st.binary(max_size=4)),
        st.binary(max_size=20),
    ),
    st.binary(max_size=40),
)
header_values = st.one_of(
    st.sampled_from([b"application/json", b"application/json; charset=utf-8", b"text/html", b""]),
    st.integers(-5, 10**12).map(lambda n: str(n).encode()),
    st.sampled_from([b"gzip", b"deflate", b"br", b"zstd", b"identity", b"chunked", b"x-unknown"]),
    st.binary(max_size=30),
)
headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                b"Content-Type",
                b"Content-Length",
                b"Transfer-Encoding",
                b"Content-Encoding",
                b"Location",
                b"X-A",
            ]
        )
        | st.binary(min_size=1, max_size=12),
        header_values,
    ),
    max_size=5,
)
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
).map(lambda value: json.dumps(value).encode())
bodies = st.one_of(
    st.binary(max_size=200),
    json_bodies,
    json_bodies.map(gzip.compress),
    json_bodies.map(zlib.compress),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)
answers = st.one_of(
    st.builds(
        lambda line, fields, body: (
            line + CRLF + b"".join(n + b": " + v + CRLF for n, v in fields) + CRLF + body
        ),
        status_lines,
        headers,
        bodies,
    ),
    st.binary(max_size=300),
)


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[str, list[bytes]]]:
    payload = [b""]
    with hostile.hostile(hostile.sends(payload)) as server:
        yield server.url, payload


@given(answer=answers)
def test_any_answer_is_an_exchange_the_judge_reads(target: tuple[str, list[bytes]], answer: bytes) -> None:
    url, payload = target
    payload[0] = answer
    with ContractClient(url, bucket=TokenBucket(None), budget=Budget(60), timeout=5) as client:
        request = client.prepare(
            OPERATION,
            {"streamId": "st-1"},
            b'{"caseId": "c"}',
            [("Content-Type", "application/json"), ("auth", "t0ken")],
            secrets=(("t0ken", "$KORE_JWT"),),
        )
        exchange = client.send(request)
    assert isinstance(exchange, Exchange)
    assert (exchange.status is None) == (exchange.error is not None)
    judgement = Checks(CONTRACT, max_response_time_ms=5000).exchange(OPERATION, exchange, Expectation.valid())
    assert judgement.checks
    if exchange.status is None or exchange.status >= 300:
        assert judgement.findings
