"""Serving, the mock's and the proxy's alike: gunicorn (preloaded app), or Flask's reloader in --dev.

`serve(config, server, banner=...)` runs a `Server` (the mock's is MOCK_SERVER, the proxy's
`mockserver.proxy.PROXY_SERVER`).

The worker model, measured with `python -m bench --compare-workers ...` (docs/performance.md): every
request is CPU work (validation, the task, the self-check) on a GIL, so one request at a time per
process is fastest. gunicorn's sync workers accept a connection only when free, which spreads the
load evenly over the workers; keep-alive workers (gthread, tornado, gevent) keep each client
connection on the worker that accepted it, and one worker often ends up with most of them. So:

- no added latency: `MockSyncWorker`, gunicorn's sync worker (one request per connection) that closes
  a connection sending nothing within FIRST_BYTES_TIMEOUT_S instead of waiting on it;
- with --latency (requests that mostly sleep): gthread workers with --threads threads each.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Response
from gunicorn import util as gunicorn_util
from gunicorn.workers.sync import SyncWorker
from werkzeug.routing import Rule

from mockserver._config import MockConfig, ServerConfig
from mockserver._errors import Envelopes, Kind, Violation
from mockserver._gunicorn import (
    JSON_CONTENT_TYPE,
    Config,
    PreloadedApplication,
    Server,
    state_file_or_temporary,
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
# How long a sync worker waits for the first bytes of a new connection. A client with a request sends
# it right after connecting (well within a second, even across continents); a browser's speculative
# connection sends nothing, and must not hold one of the two workers.
FIRST_BYTES_TIMEOUT_S = 1.0
# Then each read or write of the request and answer: the bound gthread workers use for slow clients.
CLIENT_TIMEOUT_S = 5.0
# CLIENT_TIMEOUT_S as the `struct timeval` SO_RCVTIMEO and SO_SNDTIMEO take.
_CLIENT_TIMEVAL = struct.pack("ll", int(CLIENT_TIMEOUT_S), int(CLIENT_TIMEOUT_S % 1 * 1_000_000))


class MockSyncWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker, with a bound on how long one silent or stalled client can hold it.

    The stock sync worker reads a new connection with no timeout: a connection that sends nothing
    blocks the worker until the arbiter kills it (--timeout, 60 s). Here a connection that sends
    nothing within FIRST_BYTES_TIMEOUT_S is closed, and reads and writes time out after CLIENT_TIMEOUT_S.
    """

    def accept(self, listener: Any) -> None:
        """Accept one connection; serve it once its first bytes arrive, else close it."""
        client, addr = listener.accept()  # close-on-exec already: Python sockets are not inheritable
        client.setblocking(True)
        poller = select.poll()  # not select.select: descriptors above 1023 are fine
        poller.register(client, select.POLLIN)
        if not poller.poll(FIRST_BYTES_TIMEOUT_S * 1000):
            gunicorn_util.close(client)
            return
        # Timeouts kept by the kernel, not settimeout(): the socket stays blocking, so each read and
        # write is one system call instead of a poll() and the call.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _CLIENT_TIMEVAL)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _CLIENT_TIMEVAL)
        self.handle(listener, client, addr)


def worker_options(config: MockConfig) -> dict[str, Any]:
    """gunicorn's worker class and threads for a config (see the module's docstring)."""
    if config.latency.max_ms > 0:
        return {"worker_class": "gthread", "threads": config.threads}
    return {"worker_class": f"{__name__}.MockSyncWorker", "threads": 1}


def _mock_gunicorn_options(config: MockConfig) -> dict[str, Any]:
    """Keep-alive connections get a 5 s idle timeout under gthread (--latency); sync workers answer one
    request per connection (`Connection: close`), which every HTTP client handles."""
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


def configure_logging(level: str) -> None:
    """One stream of lines on stderr for the app's per-request log (the mock's and the proxy's)."""
    handler = logging.StreamHandler(sys.stderr)
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
