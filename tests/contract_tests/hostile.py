"""Hostile HTTP servers on loopback: raw sockets, one thread per connection, each behaviour a function.

Each behaviour takes the accepted connection and the server, and does one bad thing: never answer,
drip bytes, send a gigabyte, send a malformed status line, nest arrays 100,000 deep, redirect. The
server records the head of every request it received (`received`), so a test can tell what a
client sent it, credentials included.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

Behaviour = Callable[[socket.socket, "HostileServer"], None]

ONE_GIGABYTE = 1024**3
NESTING = 100_000


@dataclass
class HostileServer:
    """A listening socket on 127.0.0.1 whose connections are handled by `behaviour`."""

    behaviour: Behaviour
    stop: threading.Event = field(default_factory=threading.Event)
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    listener: socket.socket = field(default_factory=socket.socket)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.settimeout(30)
            self.behaviour(conn, self)

    def read_request(self, conn: socket.socket) -> bytes | None:
        """The head of the next request on `conn` (its body read and dropped), recorded; None at its end."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or b"0")
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        with self.lock:
            self.received.append(head)
        return head


@contextmanager
def hostile(behaviour: Behaviour) -> Iterator[HostileServer]:
    """Serve `behaviour` on a free loopback port until the block ends."""
    server = HostileServer(behaviour)
    server.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.listener.bind(("127.0.0.1", 0))
    server.listener.listen(64)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        with suppress(OSError):
            server.listener.shutdown(socket.SHUT_RDWR)
        server.listener.close()
        thread.join(timeout=5)


def path_of(head: bytes) -> str:
    """The request target of a request head."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) > 1 else "/"


def answer(status: str, body: bytes, *headers: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection."""
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- the behaviours ---------------------------------------------------------------------------------


def never_answers(conn: socket.socket, server: HostileServer) -> None:
    """Accept, read the request, and send nothing until the server stops."""
    server.read_request(conn)
    server.stop.wait()


def drips(conn: socket.socket, server: HostileServer) -> None:
    """A valid-looking answer, one byte a second."""
    if server.read_request(conn) is None:
        return
    body = b'{"errors":[{"msg":"slow","code":400}]}'
    for byte in answer("400 Bad Request", body, "Content-Type: application/json"):
        conn.sendall(bytes([byte]))
        if server.stop.wait(1.0):
            return


def sends_a_gigabyte(conn: socket.socket, server: HostileServer) -> None:
    """A 200 whose JSON body is a gigabyte long, sent as fast as the client reads."""
    if server.read_request(conn) is None:
        return
    head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    conn.sendall(f"{head}Content-Length: {ONE_GIGABYTE}\r\n\r\n".encode())
    chunk = b" " * (1024 * 1024)
    for _ in range(ONE_GIGABYTE // len(chunk)):
        if server.stop.is_set():
            return
        conn.sendall(chunk)  # OSError once the client hangs up ends the behaviour


def sends_an_endless_chunked_body(conn: socket.socket, server: HostileServer) -> None:
    """A chunked answer (no Content-Length to refuse up front) that never ends."""
    if server.read_request(conn) is None:
        return
    conn.sendall(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    while not server.stop.is_set():
        conn.sendall(chunk)


def malformed_status_line(conn: socket.socket, server: HostileServer) -> None:
    """An answer whose status line is not HTTP's."""
    if server.read_request(conn) is not None:
        conn.sendall(b"HTTQ/1.1 two-hundred OK\r\nContent-Length: 2\r\n\r\n{}")


def nested_arrays(conn: socket.socket, server: HostileServer) -> None:
    """A 200 (createTask's success) whose JSON body nests 100,000 arrays."""
    if server.read_request(conn) is not None:
        body = b"[" * NESTING + b"]" * NESTING
        conn.sendall(answer("200 OK", body, "Content-Type: application/json"))


def bad_gzip(conn: socket.socket, server: HostileServer) -> None:
    """A 201 that says its body is gzip and it is not."""
    if server.read_request(conn) is not None:
        conn.sendall(
            answer(
                "201 Created", b"not gzip at all", "Content-Type: application/json", "Content-Encoding: gzip"
            )
        )


def echoes_the_request(conn: socket.socket, server: HostileServer) -> None:
    """A 400 whose body and Location header repeat the request's head, credentials included."""
    head = server.read_request(conn)
    if head is not None:
        text = head.decode("latin-1")
        auth = next((line for line in text.split("\r\n") if line.lower().startswith("auth:")), "")
        body = ('{"errors":[{"msg":' + _quoted(text) + ',"code":400}]}').encode()
        conn.sendall(answer("400 Bad Request", body, "Content-Type: application/json", f"X-Echo: {auth}"))


def redirects_to_itself(conn: socket.socket, server: HostileServer) -> None:
    """A 302 to the very URL asked, for ever."""
    head = server.read_request(conn)
    if head is not None:
        conn.sendall(answer("302 Found", b"", f"Location: {server.url}{path_of(head)}"))


def redirects_to(other: str) -> Behaviour:
    """A 307 (which keeps the method, body and headers) to the same path on `other`."""

    def behaviour(conn: socket.socket, server: HostileServer) -> None:
        head = server.read_request(conn)
        if head is not None:
            conn.sendall(answer("307 Temporary Redirect", b"", f"Location: {other}{path_of(head)}"))

    return behaviour


def records(conn: socket.socket, server: HostileServer) -> None:
    """Another origin: answers 200 `{}` to anything, and keeps what it was sent."""
    while server.read_request(conn) is not None:
        conn.sendall(answer("200 OK", b"{}", "Content-Type: application/json"))
        return


def slow_server_errors(conn: socket.socket, server: HostileServer) -> None:
    """A 500 to everything, each after a fifth of a second: a run that goes on long enough to interrupt."""
    if server.read_request(conn) is not None and not server.stop.wait(0.2):
        conn.sendall(answer("500 Internal Server Error", b'{"errors":[{"msg":"boom","code":500}]}'))


def _quoted(text: str) -> str:
    import json

    return json.dumps(text)


def sends(payload: list[bytes]) -> Behaviour:
    """Whatever bytes `payload[0]` holds at the time, as the whole answer; then the connection closes."""

    def behaviour(conn: socket.socket, server: HostileServer) -> None:
        if server.read_request(conn) is not None:
            conn.sendall(payload[0])

    return behaviour
