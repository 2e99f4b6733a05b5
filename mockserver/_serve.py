"""Serving, the mock's and the proxy's alike: gunicorn (preloaded app), or Flask's reloader in --dev.

`serve(config, server, banner=...)` runs a `Server` (the mock's is MOCK_SERVER, the proxy's
`mockserver.proxy.PROXY_SERVER`).

The worker model, measured with `python -m bench --compare-workers ...` (docs/performance.md):
`MockThreadWorker`, gunicorn's gthread worker (HTTP keep-alive; a poller holds idle connections; a
pool of threads runs requests) changed so that no client holds a thread it does not use: a new
connection waits in the poller for its first bytes, a silent or idle one is closed after the
keep-alive timeout (`KEEPALIVE_S`, 5 s), and each read or write of a client times out after
CLIENT_TIMEOUT_S. gunicorn's sync worker (one request per connection, `Connection: close`) was
the model before: it spreads load evenly but a few idle connections (a browser's preconnect, a
client pool) stall it (issue 15). Threads: `--threads` per worker (64 by default for the mock: a
thread stalled on a slow client must leave others free; requests are CPU work under one GIL, so
threads add no throughput, only room).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import logging.handlers
import os
import selectors
import socket
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, Response
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.routing import Rule

from mockserver._config import MockConfig, ServerConfig
from mockserver._errors import Envelopes, Kind, Violation
from mockserver._gunicorn import (
    JSON_CONTENT_TYPE,
    Config,
    PreloadedApplication,
    Server,
    state_file_or_temporary,
    trim_heap,
)
from spec import SpecError

log = logging.getLogger("mockserver")

# gunicorn answers an over-long header field itself, before the app sees it. The app's own limit
# (--header-limit, 64 KiB by default) answers 431 with a detail about the header section, so gunicorn's
# limit is raised well above it; only a single field over 1 MiB is gunicorn's (still in the envelope,
# see write_envelope_error).
GUNICORN_FIELD_LIMIT = 1024 * 1024
GUNICORN_FIELD_COUNT = 1000
# gunicorn's default request line limit (4094 bytes) answers 414 to a percent-encoded 1000-character
# non-ASCII path parameter, a status no operation documents; 8190 is the largest gunicorn allows short
# of no limit at all. The generators' hostile path values stay far below it.
GUNICORN_LINE_LIMIT = 8190
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(message)s"
# Each read or write of a request and its answer: a client that stalls mid-request holds a thread at
# most this long per read.
CLIENT_TIMEOUT_S = 5.0
# CLIENT_TIMEOUT_S as the `struct timeval` SO_RCVTIMEO and SO_SNDTIMEO take.
_CLIENT_TIMEVAL = struct.pack("ll", int(CLIENT_TIMEOUT_S), int(CLIENT_TIMEOUT_S % 1 * 1_000_000))


# How often a worker gives its malloc arenas' free pages back (mockserver/_gunicorn.py trim_heap).
TRIM_EVERY_S = 10.0


class _ClientSocket(socket.socket):
    """A client's socket whose read that times out (SO_RCVTIMEO) reads as the end of the stream: the
    request is then incomplete, which gunicorn and the mock answer as a client's error (never a 500 or
    a traceback), and the connection is closed at once, not lingered on (see MockThreadWorker)."""

    timed_out = False

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except BlockingIOError:
            self.timed_out = True
            return b""

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        try:
            return super().recv_into(buffer, nbytes, flags)
        except BlockingIOError:
            self.timed_out = True
            return 0


class MockThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker (keep-alive, a poller for idle connections, a pool of threads), where
    no client can hold a thread it does not use.

    The stock gthread worker hands a new connection to a thread, which waits up to 5 s for its first
    bytes: a browser's speculative connections, or a pool's idle ones, take every thread of a worker
    for that long. Here a new connection waits in the poller, like a kept-alive one, and takes a thread
    only once it is readable; one that sends nothing is closed after the keep-alive timeout, and at
    once when the worker stops. A thread's reads and writes of a client time out after
    CLIENT_TIMEOUT_S; a client that timed out is closed at once (gunicorn's graceful close would wait
    up to 2 s for it on the worker's main thread, holding up every other connection).
    """

    def accept(self, listener: Any) -> None:
        """Accept one connection and wait for its first bytes in the poller, not in a thread."""
        try:
            accepted, addr = listener.accept()
        except OSError as exc:  # another worker took it, or the client gave up
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        client = _ClientSocket(accepted.family, accepted.type, accepted.proto, fileno=accepted.detach())
        self.nr_conns += 1
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _CLIENT_TIMEVAL)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _CLIENT_TIMEVAL)
        conn = TConn(self.cfg, client, addr, listener.getsockname())  # non-blocking until read
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    _trimmed = 0.0

    def notify(self) -> None:
        """gunicorn's heartbeat (each turn of the worker's loop), and every TRIM_EVERY_S the heap trimmed."""
        super().notify()
        now = time.monotonic()
        if now - self._trimmed >= TRIM_EVERY_S:
            self._trimmed = now
            trim_heap()

    def finish_request(self, conn: Any, fs: Any) -> None:
        """gunicorn's, but a client whose read timed out is closed without lingering."""
        if getattr(conn.sock, "timed_out", False):
            self.nr_conns -= 1
            conn.close()
            return
        super().finish_request(conn, fs)

    def _cap_keepalive(self, deadline: float) -> None:
        """On stop: kept-alive connections close by `deadline` (gunicorn's), silent new ones now."""
        super()._cap_keepalive(deadline)
        now = time.monotonic()
        for conn in self.pending_conns:
            conn.timeout = min(conn.timeout, now)


def worker_options(config: ServerConfig) -> dict[str, Any]:
    """gunicorn's worker class and threads for a config (see the module's docstring)."""
    return {"worker_class": f"{__name__}.MockThreadWorker", "threads": config.threads}


def _mock_gunicorn_options(config: MockConfig) -> dict[str, Any]:
    """Keep-alive, idle connections closed after gunicorn's `keepalive` (5 s), gunicorn's limits."""
    return {
        **worker_options(config),
        "limit_request_field_size": GUNICORN_FIELD_LIMIT,
        "limit_request_fields": GUNICORN_FIELD_COUNT,
        "limit_request_line": GUNICORN_LINE_LIMIT,
        "timeout": 60,
    }


def _create_mock(config: MockConfig) -> Flask:
    from mockserver._app import create_app  # on serving: --help need not import the app

    return create_app(config)


MOCK_SERVER = Server(
    name="kore-mock",
    create=_create_mock,
    worker_options=_mock_gunicorn_options,
    rejected="The HTTP server rejected the request before the mock could read it "
    "(malformed HTTP, an invalid header, or a request line or header field over its limits).",
)


class MockApplication(PreloadedApplication[MockConfig]):
    """gunicorn running the already-built mock with the mock's worker model."""

    def __init__(self, app: Flask, config: MockConfig) -> None:
        super().__init__(app, config, MOCK_SERVER)


# --log-file: rotated at this size, this many older files kept.
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 5


class SharedRotatingFileHandler(logging.handlers.WatchedFileHandler):
    """A log file every worker appends to, rotated by whichever process finds it full.

    `RotatingFileHandler` is for one process: each worker would rotate on its own count. Here the
    rotation is serialised by an exclusive lock on `FILE.lock`, and decided by the file's size on disk;
    every process reopens the file when it was renamed under it (`WatchedFileHandler`), so lines
    written meanwhile land in `FILE.1`, none lost.
    """

    def __init__(
        self, path: Path, *, max_bytes: int = LOG_FILE_BYTES, backups: int = LOG_FILE_BACKUPS
    ) -> None:
        super().__init__(str(path), encoding="utf-8")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        try:
            if self.stream is not None and self.stream.tell() >= self.max_bytes:
                self._rotate()
        except OSError:
            self.handleError(record)

    def _rotate(self) -> None:
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.path.stat().st_size < self.max_bytes:
                    return  # another process rotated it first
            except FileNotFoundError:
                return
            for number in range(self.backups - 1, 0, -1):
                older = Path(f"{self.path}.{number}")
                if older.exists():
                    older.replace(f"{self.path}.{number + 1}")
            self.path.replace(f"{self.path}.1")
        self.reopenIfNeeded()


def configure_logging(level: str, file: Path | None = None) -> None:
    """One stream of lines for the app's per-request log (the mock's and the proxy's): stderr, or a
    rotated file shared by the workers."""
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if file is None else SharedRotatingFileHandler(file)
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("mockserver")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


def spec_files(config: ServerConfig) -> list[str]:
    """Every YAML file of the contract (the ones the loader reads), watched by --dev."""
    from spec import SPEC_PATH
    from spec import spec_files as contract_files

    return [str(p) for p in contract_files((config.spec_path or SPEC_PATH).resolve())]


def serve(
    config: Config, server: Server[Config], *, banner: Callable[[Config], None], dev: bool = False
) -> None:
    """Run `server` until interrupted; the default state file lives in a temporary directory removed at exit."""
    with state_file_or_temporary(config.state_file, prefix=f"{server.name}-") as state_file:
        if config.state_file is None:
            config = config.replace(state_file=state_file)
            if dev:
                # Flask's reloader restarts this command in a child process: it must find the same
                # file (the option's variable, read by click in the child).
                os.environ[f"{config.ENV_PREFIX}STATE_FILE"] = str(state_file)
        if dev:
            _serve_dev(config, server, banner)
        else:
            app = server.create(config)
            banner(config)
            PreloadedApplication(app, config, server).run()


def spec_error_app(problem: str) -> Flask:
    """The app of `--dev` while the spec does not load: every path answers 503 naming the fault."""
    violation = Violation(
        Kind.SPEC_BROKEN,
        "the spec does not load",
        "",
        f"{problem}. Fix the file; the mock restarts by itself (--dev).",
    )
    body = orjson.dumps(Envelopes({}).envelope([violation]))
    app = Flask("mockserver-spec-error")

    def answer(**_: str) -> Response:
        return Response(body, violation.status, content_type=JSON_CONTENT_TYPE)

    app.url_map.add(Rule("/", endpoint="spec_error", methods=None))
    app.url_map.add(Rule("/<path:_path>", endpoint="spec_error", methods=None))
    app.view_functions["spec_error"] = answer
    return app


def _serve_dev(config: Config, server: Server[Config], banner: Callable[[Config], None]) -> None:
    try:
        app = server.create(config)
    except SpecError as exc:
        # Keep serving and watching: the reloader restarts the server once the spec is fixed, instead
        # of the whole command dying on a typo in a YAML file.
        log.error("the spec does not load, answering 503 until it is fixed: %s", exc)
        app = spec_error_app(str(exc))
    else:
        if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            banner(config)
    # The app logs one line per request itself; werkzeug's access log would double every line.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(
        host=config.host,
        port=config.port,
        debug=False,
        use_reloader=True,
        extra_files=spec_files(config),
        threaded=True,
    )
