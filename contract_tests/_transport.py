"""The client's guards against hostile targets: a deadline on a whole request, and a cap on an answer's size.

httpx times each socket operation on its own: a server that drips a byte a second never trips a read
timeout, and one that sends a gigabyte is read into memory whole. Here every read and write of a
request shares one deadline (the request's time limit, or what is left of `--max-time`), and a body
is read up to `MAX_ANSWER_BYTES` and then cut off.
"""

from __future__ import annotations

import socket
import ssl
import time
import weakref
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

import httpcore
import httpx

# The most of one answer's body the contract tests read, decoded. The platform's largest answer is a
# listing page of at most 100 objects (decision `pagination`), well under a mebibyte; a body past
# this cap is cut off and reported, so a target streaming without end costs bounded memory and time.
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class DeadlinePassed(httpcore.TimeoutException):
    """The request's deadline passed before its answer was read in full."""


class Deadline:
    """When the request in flight must be done (`time.monotonic()`); None: no deadline beyond httpx's own."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.cut_off = False
        self._streams: weakref.WeakSet[_DeadlineStream] = weakref.WeakSet()

    def bound(self, timeout: float | None) -> float | None:
        """A socket operation's timeout, shortened to the deadline; DeadlinePassed once it is past."""
        if self.cut_off:
            raise DeadlinePassed("the run was interrupted")
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlinePassed("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def cut(self) -> None:
        """End every request now and for good: a blocked read of any open connection returns at once.

        Safe in a signal handler: it only shuts sockets down, which wakes the read blocked on one.
        """
        self.cut_off = True
        for stream in list(self._streams):
            stream.shutdown()


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline
        deadline._streams.add(self)

    def shutdown(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, self._deadline.bound(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_by(client: httpx.Client, deadline: Deadline) -> None:
    """Make every connection `client` opens (directly or through an environment proxy) keep `deadline`.

    httpx does not expose the network backend of its transports: this sets the one their httpcore
    pool reads when it connects (tests/contract_tests/test_hostile_servers.py shows it holds).
    A transport given by a caller (a test's in-process app) is left as it is.
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore.ConnectionPool):
            pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)


def read_capped(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes | None:
    """The decoded body of a streamed response, or None when it is longer than `limit` (reading stops there)."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def size_text(limit: int = MAX_ANSWER_BYTES) -> str:
    """The cap as people read it.

    Example:
        >>> size_text()
        '8 MiB'
    """
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
