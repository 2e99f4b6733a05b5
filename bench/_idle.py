"""Idle and stalled clients (issue 15, item 1): what a valid request costs while others hold connections.

Opens `idle` TCP connections that send nothing (a browser's preconnect, a pool's spare connection)
and `stalled` ones that sent half their headers and stopped, then sends `requests` valid requests
one after another, each on a new connection (connect, send with `Connection: close`, read the answer
until the server closes, close), and times each: the first half at once, the second half once the
held connections are past the server's keep-alive timeout (the mock closes an idle connection after
5 s), so a server that stalls new connections while it expires idle ones, or lingers on a close,
shows in one half or the other. Meanwhile it watches the held connections: which the server closes,
and when.
"""

from __future__ import annotations

import selectors
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

from bench._ceiling import KEEPALIVE_S
from bench._sample import SampleRequest

# The goal of issue 15, item 1: p99 over 100 sequential requests with 64 idle connections open.
TARGET_P99_MS = 100.0
DEFAULT_IDLE = 64
DEFAULT_REQUESTS = 100
# A request not answered within this is counted as failed (and the goal as not met).
REQUEST_TIMEOUT_S = 10.0
# The second half of the requests starts this long after the held connections' keep-alive timeout.
EXPIRY_MARGIN_S = 1.0


@dataclass
class IdleResult:
    """The timed requests' latencies and statuses, and what became of the held connections."""

    idle: int
    stalled: int
    # Every timed request's latency; `before_expiry_ms` and `after_expiry_ms` split them into the halves.
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    gave_up: bool = False
    # Seconds from opening to the server closing it, per held connection it closed.
    idle_closed_s: list[float] = field(default_factory=list)
    stalled_closed_s: list[float] = field(default_factory=list)
    watched_s: float = 0.0
    before_expiry_ms: list[float] = field(default_factory=list)
    after_expiry_ms: list[float] = field(default_factory=list)
    # The keep-alive timeout waited out, and when (seconds after the held connections were opened)
    # the second half began.
    keepalive_s: float = KEEPALIVE_S
    second_half_at_s: float = 0.0

    @property
    def p50_ms(self) -> float:
        """Median latency."""
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        """99th percentile latency."""
        return percentile(self.latencies_ms, 99)

    def halves(self) -> dict[str, dict[str, float]]:
        """Requests, p50, p99 and max of each half, for --json."""
        return {
            name: {
                "requests": len(values),
                "p50_ms": percentile(values, 50),
                "p99_ms": percentile(values, 99),
                "max_ms": max(values, default=0.0),
            }
            for name, values in (
                ("before_expiry", self.before_expiry_ms),
                ("after_expiry", self.after_expiry_ms),
            )
        }

    def render(self) -> str:
        """One line per figure."""
        done = len(self.latencies_ms)
        status = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        lines = [
            f"  {done} sequential requests, each on a new connection"
            f"{' (gave up: time budget spent)' if self.gave_up else ''}: "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max "
            f"{max(self.latencies_ms, default=0.0):.1f} ms; statuses {status or '-'}; "
            f"failed {self.failures}",
            f"    before the held connections' {self.keepalive_s:g} s keep-alive expiry: "
            + _half(self.before_expiry_ms),
            f"    after it (from {self.second_half_at_s:.1f} s): " + _half(self.after_expiry_ms),
            f"  idle connections closed by the server: {_closed(self.idle_closed_s, self.idle, self.watched_s)}",
        ]
        if self.stalled:
            lines.append(
                "  half-header connections closed by the server: "
                + _closed(self.stalled_closed_s, self.stalled, self.watched_s)
            )
        return "\n".join(lines)


def _half(values: list[float]) -> str:
    if not values:
        return "0 answered"
    return (
        f"{len(values)} answered, p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
        f"max {max(values):.1f} ms"
    )


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


def closing_request(sample: SampleRequest, port: int) -> bytes:
    """The whole sample request, asking the server to close the connection after its answer."""
    headers = {k: v for k, v in sample.headers.items() if k.lower() not in ("connection", "content-length")}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST {sample.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
        f"Content-Length: {len(sample.body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + sample.body


def measure(
    port: int,
    sample: SampleRequest,
    *,
    idle: int,
    stalled: int,
    requests: int = DEFAULT_REQUESTS,
    budget_s: float = 60.0,
    watch_s: float = 15.0,
    keepalive_s: float = KEEPALIVE_S,
) -> IdleResult:
    """Hold `idle` silent and `stalled` half-header connections, time `requests` sequential requests
    on new connections: half at once, half after the held connections' `keepalive_s` has passed."""
    result = IdleResult(idle, stalled, keepalive_s=keepalive_s)
    held: list[tuple[socket.socket, str, float]] = []
    try:
        opened = time.monotonic()
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
        deadline = time.monotonic() + budget_s
        payload = closing_request(sample, port)
        first = (requests + 1) // 2
        _sequential(port, payload, first, deadline, result, result.before_expiry_ms)
        # Past the keep-alive expiry of the last held connection opened.
        expiry = (held[-1][2] if held else opened) + keepalive_s + EXPIRY_MARGIN_S
        pause = expiry - time.monotonic()
        if pause > 0 and not result.gave_up:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        result.second_half_at_s = time.monotonic() - opened
        _sequential(port, payload, requests - first, deadline, result, result.after_expiry_ms)
        stop.set()
        watcher.join(timeout=watch_s + 5)
    finally:
        for sock, _, _ in held:
            sock.close()
    return result


def _sequential(
    port: int, payload: bytes, requests: int, deadline: float, result: IdleResult, half: list[float]
) -> None:
    for _ in range(requests):
        if time.monotonic() > deadline:
            result.gave_up = True
            break
        answered = one_request(port, payload)
        if answered is None:
            result.failures += 1
            continue
        status, elapsed_ms = answered
        result.latencies_ms.append(elapsed_ms)
        half.append(elapsed_ms)
        result.statuses[status] = result.statuses.get(status, 0) + 1


def one_request(port: int, payload: bytes) -> tuple[int, float] | None:
    """Connect, send, read until the server closes, close: the answer's status and the milliseconds it
    all took, or None when the connection failed, timed out or the answer was not HTTP."""
    started = time.perf_counter()
    chunks: list[bytes] = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT_S) as sock:
            sock.sendall(payload)
            give_up = time.monotonic() + REQUEST_TIMEOUT_S
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if time.monotonic() > give_up:  # a server trickling bytes forever
                    return None
    except OSError:
        return None
    elapsed_ms = (time.perf_counter() - started) * 1000
    status_line = b"".join(chunks).split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        return None
    return int(status_line[1]), elapsed_ms


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
