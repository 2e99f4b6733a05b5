"""Fuzz target: the contract tests' reading of an answer, from the raw bytes a hostile server sends.

The bytes reach `ContractClient.send` through the very client the contract tests use (httpx, its
h11 parser, content decoders, the one-deadline network stream, the 8 MiB cap); only the socket is
replaced, by httpcore's in-memory backend, which hands the bytes over in the drawn pieces (as a
socket may). Then the judge reads the exchange (`Checks.exchange`), and the report's views of it are
built. The oracle (`check`):

- `send` gives an Exchange, or raises one of the run's own exceptions (budget spent, unsendable);
- an Exchange has a status or a reason there was none, never both;
- the judge reads it without an error, and finds something in anything but a 1xx/2xx answer;
- the report's views of it (excerpt, JSON, findings as text) are built without an error.

A 429 is waited out on a virtual clock, so a target that answers 429 for ever ends the run's
budget, not the fuzzer's patience. A hang is reported by the runner's timeout (pytest-timeout in
the bounded run, libFuzzer's `-timeout` in the long one).
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import zlib
from typing import Any

import httpcore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests._checks import Checks
from contract_tests._client import ClientStats, ContractClient, Exchange, Unsendable
from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket
from spec import ContractSpec, Expect, Expectation, load_spec

CRLF = b"\r\n"
TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE_URL = "http://127.0.0.1:9"
RUN_EXCEPTIONS = (BudgetExhausted, Unsendable)


class VirtualBudget(Budget):
    """The run's budget on a clock that a wait moves forward instead of sleeping."""

    def __init__(self, seconds: float) -> None:
        self.now = 0.0
        super().__init__(seconds, clock=lambda: self.now)

    def sleep(self, seconds: float) -> None:
        if seconds > self.remaining:
            self.now += self.remaining
            raise BudgetExhausted
        self.now += max(seconds, 0.0)


@functools.cache
def contract() -> ContractSpec:
    return load_spec()


@functools.cache
def _client() -> ContractClient:
    # One client for every example: making an httpx client loads the system's certificates (25 ms).
    return ContractClient(BASE_URL, bucket=TokenBucket(None), budget=VirtualBudget(60), timeout=5)


def exchange_of(pieces: list[bytes], operation_id: str) -> Exchange:
    """What `ContractClient.send` makes of a server that answers `pieces` (one per read) and closes."""
    operation = contract().operations[operation_id]
    client = _client()
    # As new: a fresh budget and count, no connection kept from the last example.
    client._budget = VirtualBudget(60)
    client.stats = ClientStats()
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    pool.close()
    # bound_by put the deadline's backend in front of the default one: keep it, swap the socket.
    pool._network_backend._inner = httpcore.MockBackend(pieces)
    values = {name: "st-1" for name in operation.path_parameters}
    request = client.prepare(
        operation,
        values,
        b'{"caseId": "c"}',
        [("Content-Type", "application/json"), ("auth", "t0ken"), ("accountId", "a1")],
        secrets=(("t0ken", "$KORE_JWT"),),
    )
    return client.send(request)


def check(pieces: list[bytes], operation_id: str, valid: bool) -> None:
    """Feed `pieces` as a server's answer; AssertionError when the reading of it breaks the oracle."""
    try:
        exchange = exchange_of(pieces, operation_id)
    except RUN_EXCEPTIONS:
        return
    assert isinstance(exchange, Exchange)
    assert (exchange.status is None) == (exchange.error is not None), exchange
    operation = contract().operations[operation_id]
    refusals = frozenset(status for status in operation.documented_statuses if 400 <= status < 500)
    expectation = (
        Expectation.valid() if valid else Expectation(Expect.INVALID, rule="fuzz", statuses=refusals)
    )
    judgement = Checks(contract(), max_response_time_ms=5000).exchange(operation, exchange, expectation)
    assert judgement.checks
    wrong = exchange.status is None or exchange.status >= (300 if valid else 500)
    if wrong or (not valid and exchange.status is not None and exchange.status < 400):
        assert judgement.findings, f"no finding for {exchange.status} {exchange.error}"
    for finding in judgement.findings:
        assert str(finding)
    exchange.body_excerpt()
    assert exchange.media_type is None or isinstance(exchange.media_type, str)
    exchange.json()


# -- strategies ---------------------------------------------------------------------------------------

_statuses = st.sampled_from([200, 201, 204, 304, 400, 401, 404, 429, 500, 503]).map(lambda n: str(n).encode())
_reasons = st.sampled_from([b"OK", b"Created", b"Bad Request", b"", b"\xe9t\xe9"])
# Mostly lines HTTP can read (so the headers and body are read too), some that it cannot.
_good_lines = st.builds(lambda code, reason: b"HTTP/1.1 " + code + b" " + reason, _statuses, _reasons)
_bad_lines = st.builds(
    lambda version, code, reason: version + b" " + code + b" " + reason,
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 ", b"HTTQ/1.1", b"http/1.1", b""]),
    _statuses | st.integers(0, 1200).map(lambda n: str(n).encode()) | st.binary(max_size=4),
    _reasons | st.binary(max_size=20),
)
status_lines = st.one_of(_good_lines, _good_lines, _good_lines, _bad_lines, st.binary(max_size=40))
header_values = st.one_of(
    st.sampled_from(
        [
            b"application/json",
            b"application/json; charset=utf-8",
            b"application/json; charset=utf-16",
            b"application/json; charset=nonsense",
            b"application/problem+json",
            b"text/html",
            b"",
            b"0",
            b"-1",
            b"1, 2",
            b"18446744073709551616",
            b"Thu, 01 Jan 1970 00:00:00 GMT",
            b"close",
            b"keep-alive",
        ]
    ),
    st.integers(-5, 10**12).map(lambda n: str(n).encode()),
    st.sampled_from(
        [b"gzip", b"deflate", b"br", b"zstd", b"identity", b"chunked", b"gzip, gzip", b"x-unknown"]
    ),
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=30
    ).map(lambda text: text.encode("latin-1")),
    st.binary(max_size=30),
)
header_names = (
    st.sampled_from(
        [
            b"Content-Type",
            b"Content-Length",
            b"Transfer-Encoding",
            b"Content-Encoding",
            b"Retry-After",
            b"Location",
            b"Connection",
            b"X-A",
        ]
    )
    | st.text(TCHAR, min_size=1, max_size=12).map(str.encode)
    | st.binary(min_size=1, max_size=12)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def documented_answers(draw: st.DrawFn) -> bytes:
    """A body in the shape the spec documents (an example of some status), perhaps mangled."""
    examples = [
        example
        for operation in contract().operations.values()
        for status in operation.documented_statuses
        for example in operation.response_examples(status).values()
    ]
    document: Any = json.loads(json.dumps(draw(st.sampled_from(examples)))) if examples else {}
    if isinstance(document, dict) and document and draw(st.booleans()):
        document[draw(st.sampled_from(sorted(document)))] = draw(json_values)
    return json.dumps(document).encode()


json_bodies = json_values.map(lambda value: json.dumps(value).encode())
bodies = st.one_of(
    st.binary(max_size=200),
    json_bodies,
    documented_answers(),
    documented_answers().map(gzip.compress),
    json_bodies.map(zlib.compress),
    st.integers(1, 200_000).map(lambda size: gzip.compress(b" " * size)),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 5000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.sampled_from([b"NaN", b"1e999", b'"\\ud800"', b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00"]),
)


@st.composite
def raw_answers(draw: st.DrawFn) -> bytes:
    """The bytes of one answer: status line, headers, a body framed right, wrongly or not at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    line: bytes = draw(status_lines)
    fields = draw(st.lists(st.tuples(header_names, header_values), max_size=5))
    body: bytes = draw(bodies)
    framing = draw(
        st.sampled_from(["length", "none", "chunked", "chunked-cut", "wrong-length", "informational"])
    )
    if framing == "length":
        fields.append((b"Content-Length", str(len(body)).encode()))
    elif framing == "wrong-length":
        fields.append((b"Content-Length", str(draw(st.integers(0, 2 * len(body) + 10))).encode()))
    elif framing in ("chunked", "chunked-cut"):
        fields.append((b"Transfer-Encoding", b"chunked"))
        size = draw(st.integers(1, 4096))
        body = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
                for i in range(0, len(body), size)
            )
            + b"0\r\n\r\n"
        )
        if framing == "chunked-cut":
            body = body[: draw(st.integers(0, len(body)))]
    head = line + CRLF + b"".join(name + b": " + value + CRLF for name, value in fields) + CRLF
    if framing == "informational":
        head = b"HTTP/1.1 100 Continue\r\n\r\n" + head
    return head + body


@st.composite
def pieces(draw: st.DrawFn) -> list[bytes]:
    """One raw answer (sometimes two, for a 429 retried on a kept-alive connection), cut into reads."""
    data = draw(raw_answers())
    if draw(st.integers(0, 4)) == 0:
        data += draw(raw_answers())
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


operation_ids = st.deferred(lambda: st.sampled_from(sorted(contract().operations)))


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(answer=pieces(), operation_id=operation_ids, valid=st.booleans())
def fuzz_answers(answer: list[bytes], operation_id: str, valid: bool) -> None:
    """The long run's target (`python -m tests.fuzz answers`): any answer, read by the oracle."""
    check(answer, operation_id, valid)
