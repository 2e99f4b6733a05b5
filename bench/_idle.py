"""Idle and stalled clients (issue 15, item 1): what a valid request costs while others hold connections.

Opens `idle` TCP connections that send nothing (a browser's preconnect, a pool's spare connection)
and `stalled` ones that sent half their headers and stopped, then sends `requests` valid requests
one after another from one fresh client (a new connection whenever the server closed the last one)
and times each. Meanwhile it watches the held connections: which the server closes, and when.
"""

from __future__ import annotations

import http.client
import selectors
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

from bench._sample import SampleRequest

# The goal of issue 15, item 1: p99 over 100 sequential requests with 64 idle connections open.
TARGET_P99_MS = 100.0
DEFAULT_IDLE = 64
DEFAULT_REQUESTS = 100
# A request not answered within this is counted as failed (and the goal as not met).
REQUEST_TIMEOUT_S = 10.0


@dataclass
class IdleResult:
    """The sequential requests' latencies and statuses, and what became of the held connections."""

    idle: int
    stalled: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    gave_up: bool = False
    # Seconds from opening to the server closing it, per held connection it closed.
    idle_closed_s: list[float] = field(default_factory=list)
    stalled_closed_s: list[float] = field(default_factory=list)
    watched_s: float = 0.0

    @property
    def p50_ms(self) -> float:
        """Median latency."""
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        """99th percentile latency."""
        return percentile(self.latencies_ms, 99)

    def render(self) -> str:
        """One line per figure."""
        done = len(self.latencies_ms)
        status = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"  {done} sequential requests{' (gave up: time budget spent)' if self.gave_up else ''}: "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max "
            f"{max(self.latencies_ms, default=0.0):.1f} ms; statuses {status or '-'}; "
            f"failed {self.failures}",
            f"  idle connections closed by the server: {_closed(self.idle_closed_s, self.idle, self.watched_s)}",
        ]
        if self.stalled:
            lines.append(
                "  half-header connections closed by the server: "
                + _closed(self.stalled_closed_s, self.stalled, self.watched_s)
            )
        return "\n".join(lines)


def _closed(times: list[float], held: int, watched_s: float) -> str:
    if not held:
        return "-"
    if not times:
        return f"0 of {held} (watched {watched_s:.0f} s)"
    return (
        f"{len(times)} of {held} after {statistics.median(times):.1f} s median "
        f"[{min(times):.1f}-{max(times):.1f}] (watched {watched_s:.0f} s)"
    )


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (0 for no values): p99 of 100 values is the 99th smallest."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def half_headers(sample: SampleRequest, port: int) -> bytes:
    """The first half of the sample request's head: a request line and some headers, no blank line."""
    head = "".join(f"{k}: {v}\r\n" for k, v in sample.headers.items())
    full = f"POST {sample.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}".encode("latin-1")
    return full[: len(full) // 2]


def measure(
    port: int,
    sample: SampleRequest,
    *,
    idle: int,
    stalled: int,
    requests: int = DEFAULT_REQUESTS,
    budget_s: float = 60.0,
    watch_s: float = 15.0,
) -> IdleResult:
    """Hold `idle` silent and `stalled` half-header connections, time `requests` sequential requests."""
    result = IdleResult(idle, stalled)
    held: list[tuple[socket.socket, str, float]] = []
    try:
        for kind, count in (("idle", idle), ("stalled", stalled)):
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                if kind == "stalled":
                    sock.sendall(half_headers(sample, port))
                sock.setblocking(False)
                held.append((sock, kind, time.monotonic()))
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(held, result, stop, watch_s), daemon=True)
        watcher.start()
        time.sleep(0.2)  # the server has seen the connections before the first timed request
        _sequential(port, sample, requests, budget_s, result)
        stop.set()
        watcher.join(timeout=watch_s + 5)
    finally:
        for sock, _, _ in held:
            sock.close()
    return result


def _sequential(port: int, sample: SampleRequest, requests: int, budget_s: float, result: IdleResult) -> None:
    deadline = time.monotonic() + budget_s
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        for _ in range(requests):
            if time.monotonic() > deadline:
                result.gave_up = True
                break
            started = time.perf_counter()
            try:
                conn.request("POST", sample.path, body=sample.body, headers=sample.headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                result.failures += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
            if response.will_close:
                conn.close()  # http.client reconnects on the next request
    finally:
        conn.close()


def _watch(
    held: list[tuple[socket.socket, str, float]], result: IdleResult, stop: threading.Event, watch_s: float
) -> None:
    """Record when the server closes each held connection (EOF or reset): until all are closed, or the
    requests are done (`stop`) and `watch_s` seconds have passed."""
    selector = selectors.DefaultSelector()
    for sock, kind, opened in held:
        selector.register(sock, selectors.EVENT_READ, (kind, opened))
    started = time.monotonic()
    open_count = len(held)
    while open_count and not (stop.is_set() and time.monotonic() - started >= watch_s):
        for key, _ in selector.select(timeout=0.05):
            kind, opened = key.data
            conn = key.fileobj
            if not isinstance(conn, socket.socket):
                continue
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:  # an answer (408, 400...) before the close: keep watching for the close
                continue
            closed_after = time.monotonic() - opened
            (result.idle_closed_s if kind == "idle" else result.stalled_closed_s).append(closed_after)
            selector.unregister(conn)
            open_count -= 1
    result.watched_s = time.monotonic() - started
    selector.close()
