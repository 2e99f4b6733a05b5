"""Shutdown over real sockets: SIGTERM lets in-flight requests finish, stores what they answered, and
stops the mock within gunicorn's graceful timeout (5 s, mockserver/_gunicorn.py)."""

from __future__ import annotations

import copy
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from spec import load_spec
from tests.mockserver.support import STREAM, Server, headers

CONTRACT = load_spec()
GRACEFUL_TIMEOUT_S = 5
# A request in flight when SIGTERM arrives: the mock sleeps this long before answering it.
LATENCY_MS = 1500


def _create_task(server: Server) -> httpx.Response:
    operation = CONTRACT.operation("createTask")
    body = copy.deepcopy(next(iter(operation.request_examples.values())))
    return httpx.post(
        server.url(operation.path(streamId=STREAM)),
        json=body,
        headers=headers(),
        timeout=LATENCY_MS / 1000 + 20,
    )


@pytest.mark.http
def test_sigterm_finishes_requests_in_flight_then_stops(serve: Callable[..., Server], tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    server = serve("--latency", str(LATENCY_MS), "--state-file", str(state), "--empty-world")
    answers: list[httpx.Response | BaseException] = []

    def send() -> None:
        try:
            answers.append(_create_task(server))
        except BaseException as exc:  # reported by the assertion below
            answers.append(exc)

    in_flight = [threading.Thread(target=send) for _ in range(3)]
    for thread in in_flight:
        thread.start()
    time.sleep(LATENCY_MS / 1000 / 3)  # the requests are being answered (sleeping) now
    server.proc.send_signal(signal.SIGTERM)
    for thread in in_flight:
        thread.join(timeout=30)
    try:
        code = server.proc.wait(timeout=GRACEFUL_TIMEOUT_S + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the mock did not stop within its graceful timeout:\n{server.log_text()}")
    statuses = [a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers]
    assert statuses == [CONTRACT.operation("createTask").success_status] * 3
    assert code == 0, server.log_text()
    assert "Traceback" not in server.log_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url("/__admin/health"), timeout=2)

    # What the requests in flight were answered is stored: a restart on the file lists them.
    created = {a.json()["_id"] for a in answers if isinstance(a, httpx.Response)}
    again = serve("--state-file", str(state))
    listing = CONTRACT.operation("getTasks")
    page = httpx.post(again.url(listing.path(streamId=STREAM)), json={}, headers=headers(), timeout=10).json()
    assert created <= {task["_id"] for task in page["results"]}
