"""Every crash the fuzzers found, pinned: each request or answer once broke the oracle (docs/fuzzing.md)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver import ProxyConfig, create_proxy_app
from tests.fuzz import mock_pipeline
from tests.mockserver.support import Server, start_server

pytestmark = pytest.mark.fuzz

CREATE_TASK = "/caseManagement/api/public/analytics/st-084d3c5e-376a-559f-9987-a012bb2b1234/createTask"
JSON_HEADERS = b"Content-Type: application/json\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"


def request(method: bytes, path: str, body: bytes, *headers: bytes) -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s" % (method, path.encode(), b"".join(headers), body)


# Found by the mock's fuzz target: a chunked body HTTP cannot read to its end made gunicorn's body reader
# raise inside the mock's read (ChunkMissingTerminator, InvalidChunkSize: ParseException; NoMoreData:
# OSError), which the mock answered as its own bug (500 mock-bug, a traceback in its log).
UNREADABLE = {
    "missing-terminator": b'5\r\n{"cas\r',
    "cut-short": b'5\r\n{"ca',
    "bad-size": b"zz\r\n{}\r\n0\r\n\r\n",
}
REFUSED = [
    pytest.param(request(b"POST", CREATE_TASK, body, CHUNKED, JSON_HEADERS), 400, id=f"operation-{name}")
    for name, body in UNREADABLE.items()
] + [
    # On a path with no operation, where the mock drains the body before its 404 or 405.
    pytest.param(
        request(b"MGHUGPJV", "/caseManagement/api/public/analytics/x/updateTask/?", b'5\r\n{"cas\r', CHUNKED),
        404,
        id="drained-before-404",
    ),
    pytest.param(request(b"GET", CREATE_TASK, b"zz\r\n", CHUNKED), 405, id="drained-before-405"),
    # And the admin import of a world.
    pytest.param(
        request(b"PUT", "/__admin/state", b'5\r\n{"cas\r', CHUNKED, JSON_HEADERS), 400, id="admin-state"
    ),
]


@pytest.mark.parametrize(("raw", "status"), REFUSED)
def test_a_body_http_cannot_read_is_the_clients_fault_not_the_mocks(raw: bytes, status: int) -> None:
    outcome = mock_pipeline.target().serve(raw)
    assert outcome is not None, "gunicorn refused the request itself"
    assert outcome.status == status
    assert not mock_pipeline.target().check_answer(outcome)


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_the_proxy_refuses_a_body_http_cannot_read(tmp_path: Path, body: bytes) -> None:
    """The proxy reads bodies the same way; it refuses, forwards nothing and reports no bug of its own."""
    app = create_proxy_app(ProxyConfig(upstream="http://127.0.0.1:9", state_file=tmp_path / "proxy.sqlite3"))
    outcome = mock_pipeline.answer_raw(app, request(b"POST", CREATE_TASK, body, CHUNKED, JSON_HEADERS))
    assert outcome is not None
    assert outcome.status == 400
    errors = json.loads(outcome.body)["errors"]
    assert "could not be read" in errors[0]["msg"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("mock") / "mock.log", "--seed", "15")
    yield server
    server.stop()


@pytest.mark.http
@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_over_a_socket_a_body_cut_short_gets_a_400_and_no_mock_bug(served: Server, body: bytes) -> None:
    port = int(served.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request(b"POST", CREATE_TASK, body, CHUNKED, JSON_HEADERS))
        sock.shutdown(socket.SHUT_WR)  # the client is done: the body ends where it was cut
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"could not be read" in answer
    health = httpx.get(served.url("/__admin/health"), timeout=5).json()
    assert health["mockBugs"] == 0
    assert "Traceback" not in served.log_text()
