"""The reproduction command sends exactly the request's bytes, with secrets redacted."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from flask import Flask, Response, request

from contract_tests._client import PreparedRequest
from contract_tests._curl import to_curl
from tests.contract_tests.apps import serving

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhcHBJZCI6ImNzLTEifQ.c2lnbmF0dXJl"


def prepared(url: str, body: bytes | None, content_type: str | None = "application/json") -> PreparedRequest:
    headers = [("auth", TOKEN)]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return PreparedRequest("POST", url, tuple(headers), body, ((TOKEN, "$KORE_JWT"),))


def test_the_token_is_redacted_unless_asked() -> None:
    command = to_curl(prepared("http://127.0.0.1:1/x", b"{}"))
    assert TOKEN not in command and '-H "auth: $KORE_JWT"' in command
    assert TOKEN in to_curl(prepared("http://127.0.0.1:1/x", b"{}"), show_secrets=True)


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    """An app that answers with what it received: the body bytes and the content type."""
    app = Flask(__name__)

    @app.post("/x")
    def received() -> Response:
        return Response(
            request.get_data(),
            headers={
                "X-Content-Type": request.headers.get("Content-Type", "<none>"),
                "X-Auth": request.headers.get("auth", "<none>"),
            },
        )

    with serving(app) as url:
        yield url + "/x"


BODIES = [
    b'{"name": "it\'s \\"quoted\\" $HOME `id` \\\\ %s"}',
    '{"name": "Ünïcödé 名前 \U0001f600"}'.encode(),
    b"@/etc/passwd",
    b"\x00\x01binary\xff\xfe",
    b'{"a": 1}\n\n',
    b"line one\nline two\ttab",
    b"",
]


@pytest.mark.http
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
@pytest.mark.parametrize("content_type", ["application/json", None])
def test_curl_sends_exactly_the_same_bytes(echo: str, body: bytes, content_type: str | None) -> None:
    command = to_curl(prepared(echo, body, content_type)) + " -D /dev/stderr"
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        timeout=30,
        env={"KORE_JWT": TOKEN, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == body
    headers = done.stderr.decode().lower()
    assert f"x-content-type: {(content_type or '<none>').lower()}" in headers
    assert f"x-auth: {TOKEN.lower()}" in headers
