"""Every crash the fuzzers found, pinned: each request or answer once broke the oracle (docs/fuzzing.md)."""

from __future__ import annotations

import pytest

from tests.fuzz import mock_pipeline

pytestmark = pytest.mark.fuzz

CREATE_TASK = "/caseManagement/api/public/analytics/st-084d3c5e-376a-559f-9987-a012bb2b1234/createTask"
JSON_HEADERS = b"Content-Type: application/json\r\n"


def request(method: bytes, path: str, body: bytes, *headers: bytes) -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s" % (method, path.encode(), b"".join(headers), body)


CUT_CHUNKED = b"Transfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        # A chunk without its CRLF: gunicorn's reader raised ChunkMissingTerminator in the mock's read (500).
        request(b"POST", CREATE_TASK, b'5\r\n{"cas\r', CUT_CHUNKED, JSON_HEADERS),
        # A chunked body cut short: NoMoreData.
        request(b"POST", CREATE_TASK, b'5\r\n{"ca', CUT_CHUNKED, JSON_HEADERS),
        # A chunk size that is not hexadecimal: InvalidChunkSize.
        request(b"POST", CREATE_TASK, b"zz\r\n{}\r\n0\r\n\r\n", CUT_CHUNKED, JSON_HEADERS),
        # The same on a path with no operation, where the mock drains the body before its 404.
        request(
            b"MGHUGPJV", "/caseManagement/api/public/analytics/x/updateTask/?", b'5\r\n{"cas\r', CUT_CHUNKED
        ),
        request(b"POST", "/nowhere", b"5\r\nab", CUT_CHUNKED),
        # And on the admin import of a world.
        request(b"PUT", "/__admin/state", b'5\r\n{"cas\r', CUT_CHUNKED, JSON_HEADERS),
    ],
    ids=[
        "missing-terminator",
        "cut-short",
        "bad-size",
        "unknown-method-drained",
        "not-found-drained",
        "admin-state",
    ],
)
def test_a_body_http_cannot_read_is_refused_not_a_mock_bug(raw: bytes) -> None:
    outcome = mock_pipeline.target().serve(raw)
    assert outcome is not None, "gunicorn refused the request itself"
    assert (
        outcome.status == 400 if b"/nowhere" not in raw and b"MGHUGPJV" not in raw else outcome.status < 500
    )
    assert not mock_pipeline.target().check_answer(outcome)
