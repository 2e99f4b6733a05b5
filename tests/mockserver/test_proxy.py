"""The validation proxy: forwards unchanged, counts violations both ways, journals them; 502/504; --strict.

Upstreams are real HTTP servers on loopback (werkzeug, in a thread): a correct one answering tasks
that keep the relations, a faulty one whose fault the request picks with `X-Fault`, and the mock
itself. The proxy runs as the Flask test client of `create_proxy_app` for most tests, and as
`python -m mockserver proxy` (gunicorn) for the end-to-end ones.
"""

from __future__ import annotations

import copy
import gzip
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from flask import Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import TestResponse

from generators import Caller, SeededIds, build_task, system_clock
from mockserver import MockConfig, create_app
from mockserver.__main__ import cli
from mockserver._proxy import VIOLATIONS_HEADER, create_proxy_app, decode_body
from mockserver._proxy_config import ProxyConfig
from mockserver._validation import ContractValidator
from spec import ContractSpec, load_spec
from tests.mockserver.support import ACCOUNT, APP_ID, free_port, headers, operation_path

pytestmark = pytest.mark.http

ENVELOPE_401 = {"errors": [{"msg": "Invalid SDK credentials", "code": 4002}]}
REQUIRED = ("caseId", "caseRefId", "taskTmp", "userInfo", "source")


# -- upstreams ---------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Upstream:
    """A werkzeug server in a thread, recording what it receives and the bytes it answers."""

    server: BaseWSGIServer
    received: list[Seen] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    @property
    def base(self) -> str:
        """Its URL."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def header(self, seen: Seen, name: str) -> str | None:
        """A received header (any case)."""
        return next((v for k, v in seen.headers if k.lower() == name.lower()), None)


def start_upstream(app: Flask) -> Iterator[Upstream]:
    """Serve `app` on a free loopback port until the generator is closed."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    upstream = Upstream(server)
    app.config["UPSTREAM"] = upstream
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        thread.join(5)


def upstream_app(*, faulty: bool) -> Flask:
    """The implementation behind the proxy: correct, or with the fault named by `X-Fault`."""
    app = Flask("upstream")
    ids = SeededIds(11)
    contract = load_spec()

    def answer(status: int, payload: bytes, content_type: str = "application/json", **extra: str) -> Response:
        app.config["UPSTREAM"].sent.append(payload)
        response = Response(payload, status, content_type=content_type)
        response.headers["X-Upstream-Trace"] = "trace-1; ok=yes"
        response.headers.update(extra)
        return response

    def task(body: dict[str, Any]) -> dict[str, Any]:
        return build_task(
            body,
            stream_id=request.path.split("/")[-2],
            account_id=request.headers.get("accountId", ACCOUNT),
            caller=Caller.for_app(APP_ID),
            clock=system_clock(),
            ids=ids,
            spec=contract,
        )

    def special(kind: str) -> Response:
        if kind == "cookies":
            response = Response(b"two cookies", 200, content_type="text/plain")
            response.headers.add("Set-Cookie", "a=1; Path=/")
            response.headers.add("Set-Cookie", "b=2; Path=/; HttpOnly")
            return response
        if kind == "redirect":
            return Response(b"", 302, headers={"Location": "/special/cookies?from=redirect"})
        if kind == "empty":
            response = Response(b"", 204)
            del response.headers["Content-Type"]
            return response
        return Response(b"x" * 1234, 200, content_type="application/octet-stream")  # HEAD strips the body

    @app.route(
        "/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    )
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    def everything(path: str) -> Response:
        body = request.get_data()
        app.config["UPSTREAM"].received.append(
            Seen(request.method, request.environ["RAW_URI"], list(request.headers.items()), body)
        )
        if request.path.startswith("/special/"):
            return special(request.path.removeprefix("/special/"))
        if not request.path.endswith("/createTask"):
            return answer(
                200, b"elsewhere: " + request.environ["RAW_URI"].encode(), "text/plain; charset=utf-8"
            )
        fault = request.headers.get("X-Fault", "accept-anything") if faulty else ""
        if fault == "slow":
            time.sleep(1.5)
        if not faulty and not request.headers.get("auth"):
            return answer(401, orjson.dumps(ENVELOPE_401))
        try:
            sent = orjson.loads(body)
        except orjson.JSONDecodeError:
            sent = None
        if not isinstance(sent, dict) or any(not sent.get(name) for name in REQUIRED):
            if fault != "accept-anything":
                return answer(400, orjson.dumps({"errors": [{"msg": "/body: invalid task", "code": 400}]}))
            sent = {**contract.request_examples["seed-sample"], **(sent if isinstance(sent, dict) else {})}
        created = task(sent)
        if fault == "no-caseId-echo":
            created["caseId"] = "ci-someone-else"
        elif fault == "missing-refId":
            del created["refId"]
        elif fault == "html-500":
            return answer(500, b"<html><body><h1>Internal Server Error</h1></body></html>", "text/html")
        elif fault == "bare-400":
            return answer(400, b'{"error": "bad request"}')
        elif fault == "repeat-ids":
            first = app.config.setdefault("FIRST_IDS", (created["_id"], created["refId"]))
            created["_id"], created["refId"] = first
        elif fault == "late-timestamp":
            created["timestampValue"] += 5000
        payload = orjson.dumps(created)
        if fault == "gzip" or "gzip" in request.headers.get("X-Fault-Extra", ""):
            compressed = gzip.compress(payload)
            app.config["UPSTREAM"].sent.append(compressed)
            response = Response(compressed, 200, content_type="application/json")
            response.headers["Content-Encoding"] = "gzip"
            return response
        return answer(200, payload)

    return app


@pytest.fixture(scope="module")
def correct() -> Iterator[Upstream]:
    """An implementation that keeps the contract."""
    yield from start_upstream(upstream_app(faulty=False))


@pytest.fixture(scope="module")
def faulty() -> Iterator[Upstream]:
    """An implementation that breaks it as `X-Fault` asks (accepting anything by default)."""
    yield from start_upstream(upstream_app(faulty=True))


@pytest.fixture(scope="module")
def mock_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """The project's mock, as an upstream."""
    app = create_app(MockConfig(seed=3, state_file=tmp_path_factory.mktemp("mock") / "state.sqlite3"))
    yield from start_upstream(app)


@pytest.fixture(autouse=True)
def _fresh_records(request: pytest.FixtureRequest) -> None:
    for name in ("correct", "faulty"):
        if name in request.fixturenames:
            upstream: Upstream = request.getfixturevalue(name)
            upstream.received.clear()
            upstream.sent.clear()


@pytest.fixture
def proxy_client(tmp_path: Path) -> Callable[..., FlaskClient]:
    """A test client of a proxy in front of `upstream`."""

    def make(upstream: str, **options: Any) -> FlaskClient:
        config = ProxyConfig(upstream=upstream, state_file=tmp_path / "proxy.sqlite3", **options)
        app = create_proxy_app(config)
        app.testing = True
        return app.test_client()

    return make


def seed_bytes(**changes: Any) -> bytes:
    body = copy.deepcopy(load_spec().request_examples["seed-sample"])
    body.update(changes)
    return orjson.dumps(body)


def document(response: TestResponse) -> Any:
    """The JSON body of a test-client answer."""
    return orjson.loads(response.data)


def journal(client: FlaskClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = document(client.get("/__admin/requests"))["requests"]
    return entries


def pointers(entry: dict[str, Any]) -> list[str]:
    return [v["pointer"] for v in entry["violations"]]


# -- the answer passes through unchanged ---------------------------------------------------------------


def test_a_correct_upstream_answer_passes_unchanged_with_zero_violations(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    body = seed_bytes()
    response = client.post(operation_path(), data=body, headers=headers())
    assert response.status_code == 200
    assert response.data == correct.sent[-1]
    assert response.headers[VIOLATIONS_HEADER] == "0"
    assert response.headers["X-Upstream-Trace"] == "trace-1; ok=yes"
    assert response.headers["Content-Type"] == "application/json"
    assert correct.received[-1].body == body
    assert correct.received[-1].target == operation_path()
    [entry] = journal(client)
    assert (entry["status"], entry["violations"], entry["answer"]["refId"]) == (
        200,
        [],
        orjson.loads(body and response.data)["refId"],
    )
    assert entry["headers"]["Auth"] == "<redacted>"


def test_error_answers_that_keep_the_contract_count_only_the_request(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    response = client.post(operation_path(), data=seed_bytes(), headers={"Content-Type": "application/json"})
    assert (response.status_code, document(response)) == (401, ENVELOPE_401)
    assert response.headers[VIOLATIONS_HEADER] == "1"
    [violation] = journal(client)[0]["violations"]
    assert violation == {
        "direction": "request",
        "check": "auth",
        "pointer": "/header/auth",
        "msg": "the `auth` header is missing",
        "basis": "seed",
        "detail": violation["detail"],
    }


# -- a faulty upstream ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "expected"),
    [
        ("no-caseId-echo", 200, [("relation:echo-caseId", "/body/caseId")]),
        ("missing-refId", 200, [("schema", "/body/refId")]),
        ("html-500", 500, [("content-type", "/header/content-type"), ("schema", "/body")]),
        ("bare-400", 400, [("schema", "/body/errors")]),
        ("late-timestamp", 200, [("relation:same-instant", "/body/createdAt")]),
    ],
)
def test_a_faulty_answer_is_passed_through_and_its_violations_counted(
    faulty: Upstream,
    proxy_client: Callable[..., FlaskClient],
    fault: str,
    status: int,
    expected: list[tuple[str, str]],
) -> None:
    client = proxy_client(faulty.base)
    response = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": fault}))
    assert response.status_code == status
    assert response.data == faulty.sent[-1]
    assert response.headers[VIOLATIONS_HEADER] == str(len(expected))
    entry = journal(client)[0]
    assert [(v["check"], v["pointer"]) for v in entry["violations"]] == expected
    assert {v["direction"] for v in entry["violations"]} == {"response"}


def test_a_decision_rule_counts_but_is_labelled_as_a_decision(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "late-timestamp"}))
    [violation] = journal(client)[0]["violations"]
    assert (violation["basis"], violation["decision"]) == ("decision", "timestamp-tolerance")
    assert "same-instant" in violation["msg"]


def test_unique_relations_hold_across_the_proxys_answers(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    first = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    second = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    assert (first.headers[VIOLATIONS_HEADER], second.headers[VIOLATIONS_HEADER]) == ("0", "2")
    assert {v["check"] for v in journal(client)[0]["violations"]} == {
        "relation:new-task-id",
        "relation:new-ref-id",
    }


def test_an_invalid_request_accepted_by_the_upstream_is_a_response_violation_too(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    response = client.post(operation_path(), data=seed_bytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    entry = journal(client)[0]
    assert [(v["direction"], v["check"]) for v in entry["violations"]] == [
        ("request", "auth"),
        ("response", "acceptance"),
    ]
    assert response.headers[VIOLATIONS_HEADER] == "2"


# -- invalid requests, with and without --strict -------------------------------------------------------

# Not canonical JSON on purpose: the upstream must see these bytes, not a re-serialisation.
INVALID = b'{ "caseId" : "",\n  "caseRefId": "CS1", "taskTmp": "t\\u00e9", "userInfo": {"_id": "u-1", "name": "n"} }'


def test_an_invalid_request_is_forwarded_byte_for_byte_and_counted(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    response = client.post(operation_path(), data=INVALID, headers=headers())
    assert response.status_code == 400
    assert correct.received[-1].body == INVALID
    entry = journal(client)[0]
    by_pointer = {v["pointer"]: v for v in entry["violations"]}
    assert set(by_pointer) == {"/body/caseId", "/body/source"}
    assert by_pointer["/body/caseId"]["basis"] == "decision"
    assert by_pointer["/body/caseId"]["decision"] == "non-empty-required-strings"
    assert by_pointer["/body/source"]["basis"] == "seed"
    assert response.headers[VIOLATIONS_HEADER] == "2"


def test_strict_answers_an_invalid_request_400_and_never_forwards_it(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], contract: ContractSpec
) -> None:
    client = proxy_client(correct.base, strict=True)
    response = client.post(operation_path(), data=INVALID, headers=headers())
    assert response.status_code == 400
    assert ContractValidator(contract).answer_problems(400, document(response)) == []
    assert sorted(e["pointer"] for e in document(response)["errors"]) == ["/body/caseId", "/body/source"]
    assert response.headers[VIOLATIONS_HEADER] == "2"
    assert correct.received == []
    entry = journal(client)[0]
    assert (entry["status"], sorted(pointers(entry))) == (400, ["/body/caseId", "/body/source"])
    # A valid request still goes through.
    assert client.post(operation_path(), data=seed_bytes(), headers=headers()).status_code == 200
    assert len(correct.received) == 1


def test_strict_answers_a_missing_auth_header_401_in_the_platforms_words(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base, strict=True)
    response = client.post(operation_path(), data=INVALID, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    [error] = document(response)["errors"]
    assert (error["msg"], error["code"], error["pointer"]) == (
        "Invalid SDK credentials",
        4002,
        "/header/auth",
    )
    assert response.headers[VIOLATIONS_HEADER] == "3"  # auth, and the two body violations journaled too
    assert correct.received == []


# -- the upstream is down or slow ------------------------------------------------------------------------


def test_an_upstream_that_refuses_connections_answers_502_in_the_envelope(
    proxy_client: Callable[..., FlaskClient], contract: ContractSpec
) -> None:
    upstream = f"http://127.0.0.1:{free_port()}"
    client = proxy_client(upstream)
    response = client.post(operation_path(), data=seed_bytes(), headers=headers())
    assert response.status_code == 502
    assert response.content_type == "application/json; charset=utf-8"
    assert ContractValidator(contract).answer_problems(502, document(response)) == []
    [error] = document(response)["errors"]
    assert error["msg"] == f"Upstream {upstream} refused the connection"
    assert error["code"] == 502
    assert journal(client)[0]["status"] == 502


def test_a_slow_upstream_answers_504_in_the_envelope(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base, timeout=0.3)
    started = time.monotonic()
    response = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "slow"}))
    assert time.monotonic() - started < 1.2
    assert response.status_code == 504
    [error] = document(response)["errors"]
    assert error["msg"] == f"Upstream {faulty.base} did not answer within 0.3 s"
    assert "--timeout" in error["detail"]


# -- other paths, queries, headers, encodings, CORS -------------------------------------------------------


def test_a_path_outside_the_contract_is_forwarded_and_flagged(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    response = client.get("/api/v2/other%2Fthing?b=2&a=1&a=%20x&flag")
    assert response.status_code == 200
    assert response.data == b"elsewhere: /api/v2/other%2Fthing?b=2&a=1&a=%20x&flag"
    assert response.headers[VIOLATIONS_HEADER] == "1"
    [violation] = journal(client)[0]["violations"]
    assert (violation["check"], violation["pointer"]) == ("path", "/path")
    assert violation["msg"].startswith("path not in the contract")
    # Another method on the operation's path is forwarded and flagged too.
    response = client.get(operation_path())
    assert (correct.received[-1].method, response.headers[VIOLATIONS_HEADER]) == ("GET", "1")
    assert journal(client)[0]["violations"][0]["check"] == "method"


def test_hop_by_hop_headers_stay_and_everything_else_goes_through(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    client.post(
        operation_path() + "?trace=1&x=%2F",
        data=seed_bytes(),
        headers=headers(
            **{
                "X-Odd": 'a,  b;;c="d" ',
                "Prefer": "respond-async, wait=5",
                "Connection": "X-Hop",
                "X-Hop": "1",
                "Keep-Alive": "timeout=5",
                "Proxy-Authorization": "Basic eA==",
            }
        ),
    )
    seen = correct.received[-1]
    assert seen.target == operation_path() + "?trace=1&x=%2F"
    assert correct.header(seen, "X-Odd") == 'a,  b;;c="d"'
    assert correct.header(seen, "Prefer") == "respond-async, wait=5"
    assert correct.header(seen, "Host") == correct.base.removeprefix("http://")
    for hop in ("X-Hop", "Keep-Alive", "Proxy-Authorization"):
        assert correct.header(seen, hop) is None, hop


def test_heads_redirects_repeated_headers_and_empty_answers_pass_unchanged(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    head = client.head("/special/file")
    assert (head.status_code, head.data, head.headers["Content-Length"]) == (200, b"", "1234")
    assert correct.received[-1].method == "HEAD"
    cookies = client.get("/special/cookies")
    assert cookies.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    redirect = client.get("/special/redirect")  # not followed: the client sees the upstream's 302
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "/special/cookies?from=redirect")
    empty = client.delete("/special/empty")
    assert (empty.status_code, empty.data, "Content-Type" in empty.headers) == (204, b"", False)
    assert [r.headers[VIOLATIONS_HEADER] for r in (head, cookies, redirect, empty)] == ["1"] * 4


def test_a_fault_in_the_checker_never_costs_the_client_its_answer(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = proxy_client(correct.base)
    service = client.application.config["PROXY_SERVICE"]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("checker bug")

    service.checker.check_response = broken
    response = client.post(operation_path(), data=seed_bytes(), headers=headers())
    assert (response.status_code, response.data) == (200, correct.sent[-1])
    assert response.headers["X-Contract-Check"] == "failed"
    assert "PROXY BUG" in caplog.text
    assert document(client.get("/__admin/health"))["proxyBugs"] == 1
    # Anything else that escapes is a 500 in the envelope, never a traceback page.
    service._forward = broken
    response = client.post(operation_path(), data=seed_bytes(), headers=headers())
    assert response.status_code == 500
    assert document(response)["errors"][0]["msg"].startswith("the proxy failed (RuntimeError)")


def test_a_compressed_answer_stays_compressed_and_is_still_checked(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    response = client.post(
        operation_path(),
        data=seed_bytes(),
        headers=headers(**{"Accept-Encoding": "gzip", "X-Fault": "gzip"}),
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.data == faulty.sent[-1]
    assert response.headers["Content-Length"] == str(len(response.data))
    assert response.headers[VIOLATIONS_HEADER] == "0"
    assert correct_accept(faulty) == "gzip"
    # The same fault, compressed: still found.
    response = client.post(
        operation_path(),
        data=seed_bytes(),
        headers=headers(**{"Accept-Encoding": "gzip", "X-Fault": "missing-refId", "X-Fault-Extra": "gzip"}),
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers[VIOLATIONS_HEADER] == "1"


def correct_accept(upstream: Upstream) -> str | None:
    return upstream.header(upstream.received[-1], "Accept-Encoding")


def test_a_body_that_does_not_decode_as_its_encoding_is_a_violation() -> None:
    body, problem = decode_body(b"not gzip", "gzip")
    assert body is None and problem is not None and problem.check == "encoding"
    assert decode_body(gzip.compress(b"{}"), "gzip") == (b"{}", None)
    assert decode_body(b"{}", None) == (b"{}", None)


def test_cors_preflight_is_answered_by_the_proxy_and_the_count_is_exposed(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base, cors_origins=("http://localhost:3000",))
    origin = {"Origin": "http://localhost:3000"}
    preflight = client.options(
        operation_path(),
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "auth, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert preflight.headers["Access-Control-Allow-Headers"] == "auth, content-type"
    assert correct.received == []
    response = client.post(operation_path(), data=seed_bytes(), headers=headers(**origin))
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    exposed = [h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")]
    assert {VIOLATIONS_HEADER, "X-Upstream-Trace"} <= set(exposed)
    other = client.post(operation_path(), data=seed_bytes(), headers=headers(Origin="http://evil.example"))
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_journal_can_be_cleared(correct: Upstream, proxy_client: Callable[..., FlaskClient]) -> None:
    client = proxy_client(correct.base)
    client.post(operation_path(), data=seed_bytes(), headers=headers())
    assert document(client.delete("/__admin/requests")) == {"cleared": 1}
    assert journal(client) == []
    assert document(client.get("/__admin/health"))["upstream"] == correct.base


def test_the_mock_as_upstream_keeps_the_contract_through_the_proxy(
    mock_upstream: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(mock_upstream.base)
    cases = [
        (seed_bytes(), headers(), 200, 0),
        (seed_bytes(), {"Content-Type": "application/json"}, 401, 1),
        (INVALID, headers(), 400, 2),
        (b"{", headers(), 400, 1),
        (seed_bytes(), headers(**{"Content-Type": "text/plain"}), 415, 1),
    ]
    for body, sent, status, count in cases:
        response = client.post(operation_path(), data=body, headers=sent)
        assert (response.status_code, response.headers[VIOLATIONS_HEADER]) == (status, str(count)), (
            response.data
        )
    # Everything counted was the request's fault: the mock's answers keep the contract.
    assert all(v["direction"] == "request" for e in journal(client) for v in e["violations"])


# -- configuration and the command ---------------------------------------------------------------------


def test_config_from_environment_and_its_errors() -> None:
    config = ProxyConfig.from_env(
        {
            "KORE_PROXY_UPSTREAM": "http://127.0.0.1:9",
            "KORE_PROXY_STRICT": "yes",
            "KORE_PROXY_TIMEOUT": "2.5s",
        },
        port=9000,
    )
    assert (config.upstream, config.strict, config.timeout, config.port) == (
        "http://127.0.0.1:9",
        True,
        2.5,
        9000,
    )
    result = CliRunner().invoke(cli, ["proxy"], env={"KORE_PROXY_UPSTREAM": ""})
    assert result.exit_code == 2 and "--upstream URL or KORE_PROXY_UPSTREAM" in result.output
    result = CliRunner().invoke(cli, ["proxy", "--upstream", "ftp://x"])
    assert result.exit_code == 2 and "an http:// or https:// URL" in result.output
    result = CliRunner().invoke(cli, ["proxy", "--help"])
    assert "python -m mockserver proxy --upstream http://127.0.0.1:8080" in result.output
    assert "KORE_PROXY_TIMEOUT" in result.output


@dataclass
class ProxyProcess:
    """A `python -m mockserver proxy` subprocess."""

    base: str
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        """What it printed."""
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def run_proxy(tmp_path: Path) -> Iterator[Callable[..., ProxyProcess]]:
    """Start `python -m mockserver proxy --port <free> *args`, healthy; stopped after the test."""
    started: list[ProxyProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ProxyProcess:
        port = free_port()
        log = tmp_path / f"proxy-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mockserver", "proxy", "--port", str(port), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        running = ProxyProcess(f"http://127.0.0.1:{port}", log, proc)
        started.append(running)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(running.base + "/__admin/health", timeout=2).status_code == 200:
                    return running
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the proxy did not start:\n{running.log_text()}")
            time.sleep(0.1)

    yield start
    for running in started:
        running.proc.terminate()
        try:
            running.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait()


def test_the_command_proxies_over_http_in_front_of_both_upstreams(
    correct: Upstream, faulty: Upstream, run_proxy: Callable[..., ProxyProcess], tmp_path: Path
) -> None:
    good = run_proxy(
        "--upstream", correct.base, "--workers", "1", "--state-file", str(tmp_path / "j.sqlite3")
    )
    bad = run_proxy(env={"KORE_PROXY_UPSTREAM": faulty.base, "KORE_PROXY_WORKERS": "1"})
    path = operation_path()
    with httpx.Client(timeout=10) as client:
        answer = client.post(good.base + path, content=seed_bytes(), headers=headers())
        assert (answer.status_code, answer.content, answer.headers[VIOLATIONS_HEADER]) == (
            200,
            correct.sent[-1],
            "0",
        )
        # A chunked request body reaches the upstream as the same bytes.
        chunks = [INVALID[:10], INVALID[10:]]
        answer = client.post(good.base + path + "?q=%7E&q=2", content=iter(chunks), headers=headers())
        assert (answer.status_code, answer.headers[VIOLATIONS_HEADER]) == (400, "2")
        assert (correct.received[-1].body, correct.received[-1].target) == (INVALID, path + "?q=%7E&q=2")
        # A header value outside ASCII arrives as the same bytes.
        client.post(
            good.base + path,
            content=seed_bytes(),
            headers=[*((k.encode(), v.encode()) for k, v in headers().items()), (b"X-Name", b"caf\xe9")],
        )
        assert correct.header(correct.received[-1], "X-Name") == "caf\xe9"

        faulty_answer = client.post(
            bad.base + path, content=seed_bytes(), headers=headers(**{"X-Fault": "no-caseId-echo"})
        )
        assert faulty_answer.content == faulty.sent[-1]
        assert faulty_answer.headers[VIOLATIONS_HEADER] == "1"
        entries = client.get(bad.base + "/__admin/requests").json()["requests"]
        assert pointers(entries[0]) == ["/body/caseId"]
        assert len(client.get(good.base + "/__admin/requests").json()["requests"]) == 3
    assert "Traceback" not in good.log_text() + bad.log_text()
    assert re.search(f"POST {path} 400 [0-9.]+ms violations=2 request /body/", good.log_text())
    assert "  2/2 request /body/" in good.log_text()
    assert "violations=1 response /body/caseId" in bad.log_text()


def test_the_command_with_strict_and_a_dead_upstream(
    run_proxy: Callable[..., ProxyProcess], correct: Upstream
) -> None:
    strict = run_proxy("--upstream", correct.base, "--strict", "--workers", "1")
    dead = run_proxy("--upstream", f"http://127.0.0.1:{free_port()}", "--workers", "1", "--timeout", "1")
    path = operation_path()
    with httpx.Client(timeout=10) as client:
        refused = client.post(strict.base + path, content=INVALID, headers=headers())
        assert (refused.status_code, refused.headers[VIOLATIONS_HEADER]) == (400, "2")
        assert correct.received == []
        down = client.post(dead.base + path, content=seed_bytes(), headers=headers())
        assert down.status_code == 502
        assert "refused the connection" in down.json()["errors"][0]["msg"]
    assert "Traceback" not in strict.log_text() + dead.log_text()
