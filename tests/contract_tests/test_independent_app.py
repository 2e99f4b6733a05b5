"""A second correct implementation, written differently from `apps.py` and from the mock, passes too."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from tests.contract_tests.apps import ACCOUNT_ID, CLIENT_ID, STREAM_ID
from tests.contract_tests.conftest import invoke
from tests.contract_tests.test_replay import expected_pytest_outcome, pytest_mode
from tests.contract_tests.wsgi_app import SHORT_SECRET, create_wsgi_app, serving_wsgi

pytestmark = pytest.mark.http
PATH = f"/caseManagement/api/public/analytics/{STREAM_ID}/createTask"


@pytest.mark.parametrize(
    ("transport", "extra"),
    [
        ("http/1.0-close", ()),
        ("http/1.1-chunked", ("--account-id", ACCOUNT_ID, "--strict")),
    ],
)
def test_a_differently_written_correct_implementation_passes(transport: str, extra: tuple[str, ...]) -> None:
    # Its client secret is shorter than PyJWT likes, and pytest turns warnings into errors.
    with serving_wsgi(create_wsgi_app(), transport) as url:
        outcome = invoke(url, *extra, examples=30, secret=SHORT_SECRET)
    assert outcome.exit_code == 0, outcome.output
    assert "the contract holds; 0 warning(s)" in outcome.output, outcome.output
    answered = re.search(r"(\d+) answered 429 and waited out", outcome.output)
    assert answered is not None and int(answered[1]) > 0, outcome.output


@pytest.fixture(scope="module")
def token() -> str:
    from contract_tests._auth import Tokens

    return Tokens(
        jwt_token=None, client_id=CLIENT_ID, client_secret=SHORT_SECRET, seed=1, lifetime_s=600
    ).token


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes (HTTP/1.0) or the chunked body ends."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if data.endswith(b"\r\n0\r\n\r\n"):
                break
    return data


def test_the_second_implementation_really_differs(token: str) -> None:
    body = json.dumps(
        {
            "caseId": "ci-1",
            "caseRefId": "CS000131",
            "taskTmp": "ttm-1",
            "source": "rtm",
            "userInfo": {"name": "dummy", "emailId": "dummy@mailinator.com", "x-extra": 1},
        }
    ).encode()
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nauth: {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with serving_wsgi(create_wsgi_app(), "http/1.0-close") as url:
        raw = raw_exchange(url, request)
        assert raw.startswith(b"HTTP/1.0 200") and b"content-length" not in raw.lower()
        task = httpx.post(
            url + PATH, content=body, headers={"auth": token, "Content-Type": "application/json"}
        )
        refused = httpx.post(url + PATH, content=body, headers={"auth": token, "Content-Type": "text/plain"})
    assert task.headers["content-type"] == "application/json;charset=UTF-8"
    document = task.json()
    assert document["userInfo"]["emailId"] == "dummy@mailinator.com" and document["userInfo"]["x-extra"] == 1
    assert "desc" not in document and "name" not in document
    assert re.fullmatch(r"ti-[0-9a-f]{8}-.*", document["_id"]) and re.fullmatch(r"TS\d{7}", document["refId"])
    assert document["createdAt"].endswith("+00:00") and "__v" in document
    assert refused.status_code == 415 and refused.headers["content-type"] == "application/json; charset=utf-8"
    assert isinstance(refused.json()["errors"][0]["code"], str)
    with serving_wsgi(create_wsgi_app(), "http/1.1-chunked") as url:
        raw = raw_exchange(url, request.replace(b"Host: x\r\n", b"Host: x\r\nAccept-Encoding: gzip\r\n"))
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower() and b"content-encoding: gzip" in head.lower()
    assert head.startswith(b"HTTP/1.1 200")
    assert chunked.endswith(b"\r\n0\r\n\r\n")


def test_a_short_client_secret_mints_tokens_without_a_warning() -> None:
    import jwt
    from jwt.warnings import InsecureKeyLengthWarning

    from contract_tests._auth import Tokens

    # PyJWT does warn about such a key, and pytest here turns warnings into errors ...
    with pytest.warns(InsecureKeyLengthWarning):
        jwt.encode({"appId": CLIENT_ID}, SHORT_SECRET, algorithm="HS256")
    # ... but the run's own minting keeps quiet about a secret the platform issued.
    tokens = Tokens(jwt_token=None, client_id=CLIENT_ID, client_secret=SHORT_SECRET, seed=1, lifetime_s=600)
    cases = {case.name: case for case in tokens.cases()}
    assert {"expired-token", "no-appId-claim", "wrong-signature"} <= set(cases)
    with pytest.warns(InsecureKeyLengthWarning):
        claims = jwt.decode(tokens.token, SHORT_SECRET, algorithms=["HS256"])
    assert claims["appId"] == CLIENT_ID


def test_the_pytest_mode_takes_a_short_secret_under_warnings_as_errors() -> None:
    # The project's pytest configuration (filterwarnings = error) applies to `pytest contract_tests`.
    with serving_wsgi(create_wsgi_app(), "http/1.1-chunked") as url:
        done = pytest_mode(url, secret=SHORT_SECRET)
    assert done.returncode == 0, done.stdout + done.stderr
    assert expected_pytest_outcome() in done.stdout, done.stdout
