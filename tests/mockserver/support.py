"""Helpers of the mock's tests: tokens, request headers, and real servers over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

from spec import Operation, SchemaCheck, error_pointer, load_spec

SECRET = "test-client-secret-long-enough-for-hs256-and-even-hs512-0123456789abcdef"
APP_ID = "cs-5f7e1b0a-9c3d-5e2f-8a4b-1c2d3e4f5a6b"
STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b1234"
ACCOUNT = "6639f7bd58c97ffac03b1234"
FROZEN = "2025-06-04T10:18:00.725Z"
START_TIMEOUT = 30.0
# The operation most of these tests call (tests may name it; the package may not).
TASK_OPERATION = "createTask"


def task_operation() -> Operation:
    """The createTask operation of the bundled spec."""
    return load_spec().operation(TASK_OPERATION)


def operation_path(stream: str = STREAM) -> str:
    """The createTask path of a stream."""
    return task_operation().path(streamId=stream)


def schema_problems(status: int, payload: Any, operation: Operation | None = None) -> list[str]:
    """Where an answer breaks the schema documented for its status (the error envelope for a status the
    operation does not document), checked here from the spec, not with the mock's own tables."""
    operation = operation or task_operation()
    schema = operation.response_schema(status) if status in operation.documented_statuses else None
    check = SchemaCheck(schema if schema is not None else load_spec().error_schema)
    return [f"{error_pointer('', e) or '/'}: {e.message}" for e in check.errors(payload)]


def mint(claims: dict[str, Any] | None = None, *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    """A JWT as the platform expects in `auth` (appId claim by default)."""
    payload = {"appId": APP_ID, "sub": "u-test"} if claims is None else claims
    return jwt.encode(payload, secret, algorithm=algorithm)


def headers(**extra: str) -> dict[str, str]:
    """The headers of a well-formed request: a valid token, JSON, an account."""
    return {"auth": mint(), "Content-Type": "application/json", "accountId": ACCOUNT, **extra}


def free_port() -> int:
    """A loopback port nobody listens on (a race with other processes is possible but unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A `python -m mockserver serve` subprocess."""

    base: str
    log: Path
    proc: subprocess.Popen[bytes]
    args: tuple[str, ...] = field(default=())

    def url(self, path: str) -> str:
        """An absolute URL on this server."""
        return self.base + path

    def log_text(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def healthy(self) -> bool:
        """Whether /__admin/health answers 200."""
        try:
            return httpx.get(self.url("/__admin/health"), timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(log: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """Start `python -m mockserver serve --port <free> *args` and wait until it is healthy."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port), *args],
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(f"http://127.0.0.1:{port}", log, proc, args)
    deadline = time.monotonic() + START_TIMEOUT
    while not server.healthy():
        if proc.poll() is not None:
            raise RuntimeError(f"the mock exited with {proc.returncode}:\n{server.log_text()}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the mock was not healthy within {START_TIMEOUT}s:\n{server.log_text()}")
        time.sleep(0.1)
    return server


@dataclass(frozen=True)
class Hostile:
    """One hostile request of the battery, and the status it must get."""

    name: str
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    method: str = "POST"
    path: str = ""
    extra_headers: tuple[tuple[str, str], ...] = ()

    def request_headers(self) -> dict[str, str]:
        """Headers with a valid token, so that the request reaches the stage under test."""
        hdrs = {"auth": mint(), "accountId": ACCOUNT}
        if self.content_type is not None:
            hdrs["Content-Type"] = self.content_type
        hdrs.update(self.extra_headers)
        return hdrs

    def target(self) -> str:
        """The path to send to."""
        return self.path or operation_path()


def _seed_bytes() -> bytes:
    return json.dumps(task_operation().request_examples["seed-sample"]).encode()


def hostile_battery() -> list[Hostile]:
    """Inputs a careless or malicious client sends; none may get a 5xx or a non-envelope answer."""
    seed = _seed_bytes()
    deep_unknown = seed[:-1] + b', "extra": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    return [
        Hostile("malformed JSON", 400, b'{"caseId": '),
        Hostile("truncated JSON", 400, seed[: len(seed) // 2]),
        Hostile("JSON array body", 400, b"[1, 2, 3]"),
        Hostile("JSON string body", 400, b'"a task"'),
        Hostile("JSON null body", 400, b"null"),
        Hostile("empty body", 400, b""),
        Hostile("wrong content type", 415, seed, "text/plain"),
        Hostile("form-encoded", 415, b"caseId=1&caseRefId=2", "application/x-www-form-urlencoded"),
        Hostile("missing content type", 415, seed, None),
        Hostile("latin-1 charset", 415, seed, "application/json; charset=latin-1"),
        Hostile("2 MiB body", 413, b'{"caseId": "' + b"a" * (2 * 1024 * 1024) + b'"}'),
        Hostile("10,000-deep arrays", 400, b"[" * 10_000 + b"]" * 10_000),
        Hostile("10,000-deep objects", 400, b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        Hostile("1,000-deep unknown property", 200, deep_unknown),
        Hostile(
            "300-deep array in a typed field",
            400,
            b'{"caseId": ' + b"[" * 300 + b"]" * 300 + b", " + seed[1:].replace(b'"caseId"', b'"x"', 1),
        ),
        Hostile(
            "300-deep object in a typed field",
            400,
            b'{"caseId": ' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}",
        ),
        Hostile("invalid UTF-8", 400, b'{"caseId": "\xff\xfe"}'),
        Hostile("lone surrogate", 400, b'{"caseId": "\\ud800"}'),
        Hostile("NUL byte in JSON text", 400, b'{"caseId": "a\x00b"}'),
        Hostile("NUL bytes only", 400, b"\x00\x00\x00"),
        Hostile("byte order mark", 400, b"\xef\xbb\xbf" + seed),
        Hostile("huge number", 400, seed[:-1] + b', "n": 1e999999}'),
        Hostile(
            "wrong types everywhere",
            400,
            b'{"caseId": 1, "caseRefId": [], "taskTmp": {}, "userInfo": "u", "source": null}',
        ),
        # 431 is no status createTask documents: the generic 400 of its class answers it there.
        Hostile("huge header", 400, seed, extra_headers=(("X-Huge", "h" * 100_000),)),
        Hostile(
            "huge header, unknown path", 431, seed, path="/nope", extra_headers=(("X-Huge", "h" * 100_000),)
        ),
        Hostile("unknown path", 404, seed, path="/caseManagement/api/public/analytics/createTasks"),
        Hostile("double slash", 404, seed, path="/caseManagement/api/public/analytics//createTask"),
        Hostile("trailing slash", 404, seed, path=operation_path() + "/"),
        Hostile("GET on the operation", 405, b"", None, method="GET"),
        Hostile("DELETE on the operation", 405, seed, method="DELETE"),
        Hostile("unknown method", 405, seed, method="BREW"),
        Hostile("unknown method, unknown path", 404, seed, method="PROPFIND", path="/nope"),
    ]
