"""bench/_idle.py against loopback servers: each timed request on its own connection, half of them
before and half after the held connections' keep-alive expiry, and what the server did to those.
Asserts on what is reported, never on how fast."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench import _idle
from bench._sample import SampleRequest

SAMPLE = SampleRequest("/tasks", {"Content-Type": "application/json", "auth": "token"}, b'{"name": "x"}')
# The fake server's keep-alive: it closes a connection that sent nothing (or half a head) this long.
KEEPALIVE_S = 0.3


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEPALIVE_S
    seen: ClassVar[list[tuple[int, str | None, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.client_address[1], self.headers.get("Connection"), body))
        answer = b'{"ok": true}'
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[tuple[int, str | None, bytes]]]]:
    seen: list[tuple[int, str | None, bytes]] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_each_request_on_a_new_connection_half_after_the_expiry(
    server: tuple[int, list[tuple[int, str | None, bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = server
    monkeypatch.setattr(_idle, "EXPIRY_MARGIN_S", 0.1)
    result = _idle.measure(port, SAMPLE, idle=3, stalled=2, requests=5, watch_s=1.0, keepalive_s=KEEPALIVE_S)
    assert result.failures == 0 and not result.gave_up
    assert result.statuses == {201: 5}
    assert len(result.before_expiry_ms) == 3 and len(result.after_expiry_ms) == 2
    assert result.latencies_ms == result.before_expiry_ms + result.after_expiry_ms
    # The server saw five connections, each asked to close, each with the whole body.
    assert len(seen) == 5 and len({client_port for client_port, _, _ in seen}) == 5
    assert {(connection, body) for _, connection, body in seen} == {("close", SAMPLE.body)}
    # The second half began once the held connections were past the keep-alive timeout, which the
    # server kept: it closed every held connection.
    assert result.second_half_at_s >= KEEPALIVE_S + 0.1
    assert len(result.idle_closed_s) == 3 and len(result.stalled_closed_s) == 2
    halves = result.halves()
    assert halves["before_expiry"]["requests"] == 3 and halves["after_expiry"]["requests"] == 2
    assert halves["after_expiry"]["max_ms"] == max(result.after_expiry_ms)
    shown = result.render()
    assert "5 sequential requests, each on a new connection" in shown
    assert f"before the held connections' {KEEPALIVE_S:g} s keep-alive expiry: 3 answered, p50" in shown
    assert "after it (from " in shown and "s): 2 answered, p50" in shown
    assert "idle connections closed by the server: 3 of 3" in shown
    assert "half-header connections closed by the server: 2 of 2" in shown


def test_a_server_that_closes_without_answering_fails_every_request() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def slam() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=slam, daemon=True)
    thread.start()
    try:
        result = _idle.measure(
            listener.getsockname()[1], SAMPLE, idle=0, stalled=0, requests=4, watch_s=0.0, keepalive_s=0.0
        )
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert result.failures == 4 and result.latencies_ms == [] and result.statuses == {}
    assert result.halves()["before_expiry"] == {"requests": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    assert "before the held connections' 0 s keep-alive expiry: 0 answered" in result.render()


def test_the_closing_request_is_whole_and_asks_for_the_close() -> None:
    with_length = SampleRequest(SAMPLE.path, {**SAMPLE.headers, "Content-Length": "999"}, SAMPLE.body)
    payload = _idle.closing_request(with_length, 4010)
    head, body = payload.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /tasks HTTP/1.1" and body == SAMPLE.body
    assert b"Connection: close" in lines and b"Host: 127.0.0.1:4010" in lines
    assert [line for line in lines if line.lower().startswith(b"content-length")] == [
        f"Content-Length: {len(SAMPLE.body)}".encode()
    ]
