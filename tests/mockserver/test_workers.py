"""The worker model: gthread workers with keep-alive, where idle, silent or stalled clients hold no
thread they do not use; the proxy runs the same worker, by the same serving code. Over real sockets."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from mockserver._config import MockConfig, ProxyConfig
from mockserver._gunicorn import PreloadedApplication
from mockserver._serve import CLIENT_TIMEOUT_S, MockApplication, worker_options
from mockserver.proxy import PROXY_SERVER
from tests.mockserver.support import Server

# gunicorn's keep-alive timeout the mock runs with (mockserver/_gunicorn.py), in seconds.
KEEPALIVE_S = 5


def test_thread_workers_with_room_for_stalled_clients() -> None:
    assert worker_options(MockConfig()) == {
        "worker_class": "mockserver._serve.MockThreadWorker",
        "threads": 64,
    }
    assert worker_options(MockConfig(threads=6))["threads"] == 6


def test_the_worker_class_is_importable_by_gunicorn() -> None:
    from flask import Flask

    application = MockApplication(Flask("t"), MockConfig(port=0))
    assert application.cfg.worker_class.__name__ == "MockThreadWorker"
    assert (application.cfg.proc_name, application.cfg.timeout, application.cfg.keepalive) == (
        "kore-mock",
        60,
        KEEPALIVE_S,
    )


def test_the_proxy_runs_the_same_workers_that_outwait_its_upstream() -> None:
    from flask import Flask

    config = ProxyConfig(upstream="http://127.0.0.1:9", port=0, threads=6, timeout=120, host="::1")
    application = PreloadedApplication(Flask("t"), config, PROXY_SERVER)
    assert (application.cfg.worker_class.__name__, application.cfg.threads) == ("MockThreadWorker", 6)
    assert (application.cfg.proc_name, application.cfg.timeout) == ("kore-proxy", 150)
    assert application.cfg.bind == ["[::1]:0"]


def _address(server: Server) -> tuple[str, int]:
    host, port = server.base.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@contextmanager
def _held(server: Server, count: int, first_bytes: bytes = b"") -> Iterator[list[socket.socket]]:
    """`count` connections to the server that send `first_bytes` (nothing, or half a request) and stall."""
    held = [socket.create_connection(_address(server)) for _ in range(count)]
    try:
        for sock in held:
            if first_bytes:
                sock.sendall(first_bytes)
        yield held
    finally:
        for sock in held:
            sock.close()


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


HALF_REQUEST = b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-Slow: "


@pytest.mark.http
def test_idle_connections_hold_no_thread(serve: Callable[..., Server]) -> None:
    """64 connections that send nothing (a browser's preconnects, a pool's idle sockets) against one
    worker of 2 threads: requests are still answered long before the idle ones time out, and the
    idle ones are closed after the keep-alive timeout."""
    server = serve("--workers", "1", "--threads", "2")
    with _held(server, 64) as idle:
        with httpx.Client(timeout=KEEPALIVE_S - 2) as client:  # a thread waiting on one would exceed it
            for _ in range(10):
                assert client.get(server.url("/__admin/health")).status_code == 200
        assert all(_closed_by_server(sock, KEEPALIVE_S + 5) for sock in idle)


@pytest.mark.http
def test_stalled_clients_are_cut_off_and_leave_threads_free(serve: Callable[..., Server]) -> None:
    """Clients that sent half their headers hold a thread each for at most CLIENT_TIMEOUT_S per read;
    with threads to spare, other requests are answered meanwhile."""
    server = serve("--workers", "1", "--threads", "4")
    with _held(server, 2, HALF_REQUEST) as stalled:
        with httpx.Client(timeout=CLIENT_TIMEOUT_S - 2) as client:
            for _ in range(10):
                assert client.get(server.url("/__admin/health")).status_code == 200
        assert all(_closed_by_server(sock, CLIENT_TIMEOUT_S + 5) for sock in stalled)


@pytest.mark.http
def test_keep_alive_many_requests_on_one_connection(serve: Callable[..., Server]) -> None:
    server = serve("--workers", "1")
    with socket.create_connection(_address(server)) as sock:
        sock.settimeout(10)
        reader = sock.makefile("rb")
        for _ in range(5):
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200")
            assert headers.get("connection", "").lower() != "close"


@pytest.mark.http
def test_a_client_that_times_out_is_cut_off_without_holding_up_the_worker(
    serve: Callable[..., Server],
) -> None:
    """Four clients stall in their headers past CLIENT_TIMEOUT_S: each is closed at once, not lingered on
    for 2 s by the worker's main thread (which held every other connection up for 8 s)."""
    server = serve("--workers", "1", "--threads", "8")
    with _held(server, 4, HALF_REQUEST) as stalled:
        assert all(_closed_by_server(sock, CLIENT_TIMEOUT_S + 5) for sock in stalled)
        with httpx.Client(timeout=1.5) as client:
            assert client.get(server.url("/__admin/health")).status_code == 200
    assert "Traceback" not in server.log_text()


@pytest.mark.http
def test_a_body_that_stops_coming_is_a_client_error(serve: Callable[..., Server]) -> None:
    """A request whose body stalls past CLIENT_TIMEOUT_S is answered 400 in the envelope, never a 500."""
    server = serve("--workers", "1")
    path = "/caseManagement/api/public/analytics/st-1/createTask"
    with socket.create_connection(_address(server)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            '{"caseId": '.encode()
        )
        sock.settimeout(CLIENT_TIMEOUT_S + 10)
        answer = sock.makefile("rb").read()
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 4"), answer[:300]
    assert b'"errors"' in answer
    assert "Traceback" not in server.log_text()


def test_a_worker_trims_its_heap_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heartbeat gives the malloc arenas' free pages back every TRIM_EVERY_S, not on every turn."""
    from gunicorn.workers.gthread import ThreadWorker

    from mockserver import _serve

    trims: list[float] = []
    clock = [1000.0]
    monkeypatch.setattr(ThreadWorker, "notify", lambda self: None)
    monkeypatch.setattr(_serve, "trim_heap", lambda: trims.append(clock[0]))
    monkeypatch.setattr(_serve.time, "monotonic", lambda: clock[0])
    worker = _serve.MockThreadWorker.__new__(_serve.MockThreadWorker)
    for _ in range(50):  # 50 turns of the loop, 0.5 s apart
        worker.notify()
        clock[0] += 0.5
    assert trims == [1000.0 + k * _serve.TRIM_EVERY_S for k in range(len(trims))]
    assert len(trims) == int(25 / _serve.TRIM_EVERY_S) + 1


_MAPPED_BLOCKS = """
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if FIXED:
    from mockserver._gunicorn import release_memory_before_fork
    release_memory_before_fork()
freed = bytearray(1_000_000)  # mapped apart; freeing it raises a dynamic threshold to 1 MB
del freed
before = libc.mallinfo2().hblks
page = bytearray(200_000)  # a getTasks page read by the proxy is ~140 KB
print(libc.mallinfo2().hblks - before)
"""


def test_large_blocks_stay_mapped_apart_after_a_larger_one_was_freed() -> None:
    """glibc's threshold is fixed before the fork (its dynamic rise let the proxy's page buffers fragment
    the arenas): a 200 KB block is still a mapping of its own after a 1 MB one was freed."""
    import ctypes
    import subprocess
    import sys
    from pathlib import Path

    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("not glibc 2.33 or later")

    def mapped(fixed: bool) -> int:
        done = subprocess.run(
            [sys.executable, "-c", f"FIXED = {fixed}\n" + _MAPPED_BLOCKS],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return int(done.stdout)

    assert mapped(True) == 1
    assert mapped(False) == 0  # glibc's default: the threshold rose, so the block came from an arena
