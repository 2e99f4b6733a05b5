"""gunicorn running an already-built Flask app: the mock's and the proxy's, each described by a `Server`.

What the servers share: the preloaded app, the options that do not depend on what is served,
gunicorn's own errors in the platform's envelope, and the temporary state file removed at exit.
"""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from flask import Flask
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import ParseException

from mockserver._config import ServerConfig
from mockserver._errors import Kind, Violation

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# What reading a request's body may raise when its framing breaks HTTP: gunicorn's reader raises a
# ParseException for a malformed chunk (size, terminator, extension) and NoMoreData, an OSError, for a
# body cut short; a client gone mid-body is an OSError too. The client's fault, never the mock's.
UNREADABLE_BODY: tuple[type[Exception], ...] = (OSError, ValueError, ParseException)


def unreadable_body(exc: Exception) -> Violation:
    """The 400 of a body HTTP cannot read to its end (a chunked encoding malformed or cut short)."""
    return Violation(
        Kind.MALFORMED_BODY,
        f"The request's body could not be read: {type(exc).__name__}: {exc}",
        "/body",
        "Received: a body whose framing breaks HTTP/1.1 (a malformed chunk, or a body cut short). "
        "Documented: a JSON body framed by Content-Length or a well-formed chunked encoding. "
        "Fix: frame the body as HTTP/1.1 says (any HTTP client library does).",
    )


Config = TypeVar("Config", bound=ServerConfig)

# gunicorn's `util.write_error(sock, status_int, reason, mesg)`.
ErrorWriter = Callable[[Any, int, str, str], None]


def bind_address(host: str, port: int) -> str:
    """gunicorn's `bind` for a host and port; an IPv6 address goes in brackets."""
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{bracketed}:{port}"


def gunicorn_options(config: ServerConfig, **specific: Any) -> dict[str, Any]:
    """The options both servers run with, then `specific` (worker class, timeouts, proc_name...)."""
    return {
        "bind": bind_address(config.host, config.port),
        "workers": config.workers,
        "preload_app": True,
        "accesslog": None,  # the app logs one line per request itself
        "errorlog": "-",
        "loglevel": "warning" if config.log_level in ("info", "debug") else config.log_level,
        "graceful_timeout": 5,
        "keepalive": 5,
        # Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections
        # over them: with one shared socket, kept-alive clients stay on whichever worker accepted
        # them, and one worker often took most (half the throughput). Port 0 would give each worker
        # a port of its own, so it keeps the shared socket.
        "reuse_port": config.port != 0,
        **specific,
    }


def envelope_error_writer(detail: str) -> ErrorWriter:
    """gunicorn's answer to a request it cannot parse: the platform's envelope with `detail`, not HTML."""

    def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        body = orjson.dumps(
            {
                "errors": [
                    {"msg": f"{reason}: {mesg}" if mesg else reason, "code": status_int, "detail": detail}
                ]
            }
        )
        head = (
            f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: {JSON_CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)

    return write_error


@dataclass(frozen=True)
class Server(Generic[Config]):
    """What tells one server of the package from another; everything else about serving is shared."""

    # gunicorn's process name, and the prefix of the temporary state file's directory.
    name: str
    create: Callable[[Config], Flask]
    # gunicorn's options for this server: worker class, threads, timeouts, limits.
    worker_options: Callable[[Config], dict[str, Any]]
    # The `detail` of gunicorn's own answer to a request it cannot parse.
    rejected: str


class PreloadedApplication(BaseApplication, Generic[Config]):  # type: ignore[misc]
    """gunicorn running an already-built app (`preload_app`: the spec is loaded once, before forking)."""

    def __init__(self, app: Flask, config: Config, server: Server[Config]) -> None:
        self.application = app
        self.options = gunicorn_options(config, proc_name=server.name, **server.worker_options(config))
        write_error = envelope_error_writer(server.rejected)
        # gunicorn writes its own parse errors (bad request line, NUL in a header, Content-Length with
        # Transfer-Encoding...) through this one function, as HTML; this process serves only this app,
        # so its errors too answer the envelope. Workers are forked after this and inherit it.
        gunicorn_util.write_error = write_error
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn's config."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """The WSGI app."""
        return self.application

    def run(self) -> None:
        """Serve until stopped (the workers are forked from here)."""
        release_memory_before_fork()
        super().run()


# glibc's mallopt parameters (malloc.h): the number of malloc arenas, and the size from which a block is
# its own mapping.
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
# glibc's default threshold, made fixed: left dynamic, glibc raises it to the size of every mapped block
# freed (up to 32 MB), and from then on the proxy's buffers of whole pages of answers (~140 KB for 100
# tasks) come from the arenas, where the threads' overlapping ones fragment them: the proxy's workers
# grew by 27-31% in 4 minutes of getTasks, 5% with the threshold fixed (docs/performance.md).
MMAP_THRESHOLD = 128 * 1024


def trim_heap() -> None:
    """Give the pages free in every malloc arena back to the system (glibc's `malloc_trim`; nothing
    elsewhere). Freed memory otherwise stays with a long-running worker's threads' arenas."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def release_memory_before_fork() -> None:
    """Hand the workers a small, settled heap: what building the app freed goes back to the system
    (`malloc_trim`), the objects left are frozen out of the garbage collector's passes (which would
    otherwise write to, and so copy, every shared page in every worker), glibc keeps two malloc
    arenas instead of one per thread (threaded workers grew by tens of MB without the limit), and
    blocks of MMAP_THRESHOLD or more are always mapped apart and unmapped when freed.
    A libc without these functions (not glibc) is left as it is."""
    gc.collect()
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_ARENA_MAX, 2)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    trim_heap()
    gc.freeze()


@contextmanager
def state_file_or_temporary(state_file: Path | None, *, prefix: str) -> Iterator[Path]:
    """`state_file`, or one in a temporary directory that is removed when the block exits."""
    if state_file is not None:
        yield state_file
        return
    owner = os.getpid()
    temp_dir = tempfile.mkdtemp(prefix=prefix)
    try:
        yield Path(temp_dir) / "state.sqlite3"
    finally:
        # gunicorn's workers are forks of this process and unwind through this block on exit; only
        # the process that made the directory may remove it.
        if os.getpid() == owner:
            shutil.rmtree(temp_dir, ignore_errors=True)
