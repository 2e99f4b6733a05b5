"""The worker model: sync workers that a silent connection cannot hold, gthread when requests sleep;
the proxy's gthread workers, run by the same serving code."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest

from mockserver._config import Latency, MockConfig, ProxyConfig
from mockserver._gunicorn import PreloadedApplication
from mockserver._serve import FIRST_BYTES_TIMEOUT_S, MockApplication, worker_options
from mockserver.proxy import PROXY_SERVER
from tests.mockserver.support import Server


def test_sync_workers_unless_requests_sleep() -> None:
    assert worker_options(MockConfig()) == {"worker_class": "mockserver._serve.MockSyncWorker", "threads": 1}
    assert worker_options(MockConfig(latency=Latency(100, 300), threads=6)) == {
        "worker_class": "gthread",
        "threads": 6,
    }


def test_the_worker_class_is_importable_by_gunicorn() -> None:
    from flask import Flask

    application = MockApplication(Flask("t"), MockConfig(port=0))
    assert application.cfg.worker_class.__name__ == "MockSyncWorker"
    assert (application.cfg.proc_name, application.cfg.timeout) == ("kore-mock", 60)


def test_the_proxy_runs_gthread_workers_that_outwait_its_upstream() -> None:
    from flask import Flask

    config = ProxyConfig(upstream="http://127.0.0.1:9", port=0, threads=6, timeout=120, host="::1")
    application = PreloadedApplication(Flask("t"), config, PROXY_SERVER)
    assert (application.cfg.worker_class_str, application.cfg.threads) == ("gthread", 6)
    assert (application.cfg.proc_name, application.cfg.timeout) == ("kore-proxy", 150)
    assert application.cfg.bind == ["[::1]:0"]


@pytest.mark.http
def test_silent_connections_do_not_hold_the_workers(serve: Callable[..., Server]) -> None:
    """A browser's speculative connections send nothing; the one worker still answers in about a second."""
    server = serve("--workers", "1")
    host, port = server.base.removeprefix("http://").split(":")
    silent = [socket.create_connection((host, int(port))) for _ in range(2)]
    try:
        started = time.monotonic()
        answer = httpx.get(server.url("/__admin/health"), timeout=10 * FIRST_BYTES_TIMEOUT_S + 5)
        assert answer.status_code == 200
        # Two silent connections ahead of it, each closed after FIRST_BYTES_TIMEOUT_S: not the 60 s the
        # stock sync worker would wait. The margin is for a loaded CI machine.
        assert time.monotonic() - started < 2 * FIRST_BYTES_TIMEOUT_S + 2
        for sock in silent:
            sock.settimeout(10)
            assert sock.recv(1) == b""  # closed by the mock
    finally:
        for sock in silent:
            sock.close()
