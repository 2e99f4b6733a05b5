"""The validation proxy: forwards unchanged, counts violations both ways, journals them; 502/504; --strict.

Upstreams are real HTTP servers on loopback (werkzeug, in a thread): a correct one answering tasks
that keep the relations, a faulty one whose fault the request picks with `X-Fault`, and the mock
itself. The proxy runs as the Flask test client of `create_proxy_app` for most tests, and as
`python -m mockserver proxy` (gunicorn) for the end-to-end ones.
"""

from __future__ import annotations

import copy
import gzip
import io
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
from werkzeug.datastructures import Headers
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import TestResponse

from generators import Caller, SeededIds, build_task, system_clock
from mockserver import ConfigError, MockConfig, ProxyConfig, create_app, create_proxy_app
from mockserver.__main__ import cli
from mockserver._config import KIB, MIB
from mockserver._errors import Kind
from mockserver._state import StateStore
from mockserver.proxy import VIOLATIONS_HEADER
from mockserver.proxy._app import decode_body
from mockserver.proxy._checks import ContractChecker, shared_seen
from spec import ContractSpec
from spec._judge import (
    CHECKED_DEPTH,
    ERROR_SCHEMA_CONFORMANCE,
    NEGATIVE_DATA_REJECTION,
    NOT_A_SERVER_ERROR,
    POSITIVE_DATA_ACCEPTANCE,
    RELATION_PREFIX,
    REQUEST_CONFORMANCE,
    RESPONSE_SCHEMA_CONFORMANCE,
)
from tests.mockserver.support import (
    ACCOUNT,
    APP_ID,
    free_port,
    headers,
    operation_path,
    schema_problems,
    task_operation,
)

pytestmark = pytest.mark.http

ENVELOPE_401 = {"errors": [{"msg": "Invalid SDK credentials", "code": 4002}]}
REQUIRED = ("caseId", "caseRefId", "taskTmp", "userInfo", "source")
# Far past orjson's 1024-level limit, and just under it: the one is malformed JSON, the other parses.
DEEPEST = 10_000
DEEP = 1_000


def nested(levels: int, kind: str = "[") -> bytes:
    """JSON nesting arrays (`[`) or objects (`{`) `levels` deep."""
    if kind == "[":
        return b"[" * levels + b"]" * levels
    return b'{"a":' * levels + b"1" + b"}" * levels


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
    task_op = task_operation()

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
            operation=task_op,
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
        if not isinstance(sent, dict) or any(
            not sent.get(name) or not isinstance(sent[name], dict if name == "userInfo" else str)
            for name in REQUIRED
        ):
            if fault != "accept-anything":
                return answer(400, orjson.dumps({"errors": [{"msg": "/body: invalid task", "code": 400}]}))
            sent = {**task_op.request_examples["seed-sample"], **(sent if isinstance(sent, dict) else {})}
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
        if fault == "deep-caseId":
            payload = payload.replace(orjson.dumps(created["caseId"]), nested(DEEP), 1)
        elif fault == "deep-error":
            return answer(400, b'{"errors":[{"msg":' + nested(DEEP, "{") + b',"code":400}]}')
        elif fault == "invalid-utf8":
            payload = payload.replace(b'"lname":"', b'"lname":"caf\xe9 ', 1)
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
        options.setdefault("state_file", tmp_path / "proxy.sqlite3")
        config = ProxyConfig(upstream=upstream, **options)
        app = create_proxy_app(config)
        app.testing = True
        return app.test_client()

    return make


def seed_bytes(**changes: Any) -> bytes:
    body = copy.deepcopy(task_operation().request_examples["seed-sample"])
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


def through_faulty(
    faulty: Upstream, client: FlaskClient, fault: str, status: int, expected: list[tuple[str, str]]
) -> tuple[TestResponse, dict[str, Any]]:
    """The seed request answered with `fault`: passed back as sent, journaled with `expected` violations."""
    response = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": fault}))
    assert (response.status_code, response.data) == (status, faulty.sent[-1])
    entry = journal(client)[0]
    assert [(v["check"], v["pointer"]) for v in entry["violations"]] == expected
    return response, entry


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
        "check": REQUEST_CONFORMANCE,
        "subject": "auth",
        "operation": "createTask",
        "direction": "request",
        "pointer": "/header/auth",
        "basis": "seed",
        "received": "no `auth` header",
        "documented": violation["documented"],
        "fix": "send the token in `auth`",  # says what to send, not just that something is missing
    }
    assert "JWT" in violation["documented"]


# -- a faulty upstream ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "expected"),
    [
        ("no-caseId-echo", 200, [(RELATION_PREFIX + "echo-caseId", "/body/caseId")]),
        ("missing-refId", 200, [(RESPONSE_SCHEMA_CONFORMANCE, "/body/refId")]),
        ("html-500", 500, [(NOT_A_SERVER_ERROR, "/status")]),
        # A 400 to a valid request is a refusal of positive data, and this one is not even the envelope.
        (
            "bare-400",
            400,
            [(POSITIVE_DATA_ACCEPTANCE, "/status"), (ERROR_SCHEMA_CONFORMANCE, "/body/errors")],
        ),
        ("late-timestamp", 200, [(RELATION_PREFIX + "same-instant", "/body/createdAt")]),
    ],
)
def test_a_faulty_answer_is_passed_through_and_its_violations_counted(
    faulty: Upstream,
    proxy_client: Callable[..., FlaskClient],
    fault: str,
    status: int,
    expected: list[tuple[str, str]],
) -> None:
    response, entry = through_faulty(faulty, proxy_client(faulty.base), fault, status, expected)
    assert response.headers[VIOLATIONS_HEADER] == str(len(expected))
    assert {v["direction"] for v in entry["violations"]} == {"response"}


def test_a_decision_rule_counts_but_is_labelled_as_a_decision(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "late-timestamp"}))
    [violation] = journal(client)[0]["violations"]
    assert (violation["basis"], violation["decision"]) == ("decision", "timestamp-tolerance")
    assert violation["check"] == RELATION_PREFIX + "same-instant"


def test_unique_relations_hold_across_the_proxys_answers(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    first = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    second = client.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    assert (first.headers[VIOLATIONS_HEADER], second.headers[VIOLATIONS_HEADER]) == ("0", "2")
    assert {v["check"] for v in journal(client)[0]["violations"]} == {
        RELATION_PREFIX + "new-task-id",
        RELATION_PREFIX + "new-ref-id",
    }


def test_unique_relations_hold_across_the_proxys_workers(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    # Two apps on one state file are two gunicorn workers: a repeat answered through the other
    # worker is caught too.
    one, other = proxy_client(faulty.base), proxy_client(faulty.base)
    first = one.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    second = other.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    assert (first.headers[VIOLATIONS_HEADER], second.headers[VIOLATIONS_HEADER]) == ("0", "2")
    # A fresh proxy on a new state file has seen nothing.
    fresh = proxy_client(faulty.base, state_file=None)
    third = fresh.post(operation_path(), data=seed_bytes(), headers=headers(**{"X-Fault": "repeat-ids"}))
    assert third.headers[VIOLATIONS_HEADER] == "0"


def test_an_invalid_request_accepted_by_the_upstream_is_a_response_violation_too(
    faulty: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(faulty.base)
    response = client.post(operation_path(), data=seed_bytes(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    entry = journal(client)[0]
    assert [(v["direction"], v["check"], v.get("subject")) for v in entry["violations"]] == [
        ("request", REQUEST_CONFORMANCE, "auth"),
        ("response", NEGATIVE_DATA_REJECTION, "auth"),
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
    assert schema_problems(400, document(response)) == []
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
    assert schema_problems(502, document(response)) == []
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
    assert (violation["check"], violation["subject"], violation["pointer"]) == (
        REQUEST_CONFORMANCE,
        "path",
        "/path",
    )
    assert violation["operation"] == "" and "/api/v2/other" in violation["received"]
    assert "createTask" in violation["documented"]
    # Another method on the operation's path is forwarded and flagged too.
    response = client.get(operation_path())
    assert (correct.received[-1].method, response.headers[VIOLATIONS_HEADER]) == ("GET", "1")
    assert journal(client)[0]["violations"][0]["subject"] == "method"


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


def test_answers_are_judged_one_at_a_time_per_worker(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    """Threads of one worker forward at once but judge in turn (each would otherwise hold a decoded page
    at once; the GIL runs one at a time anyway)."""
    client = proxy_client(correct.base)
    service = client.application.config["PROXY_SERVICE"]
    judge = service.checker.check_response
    inside, most = [0], [0]
    count = threading.Lock()

    def watched(*args: Any, **kwargs: Any) -> Any:
        with count:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.05)
            return judge(*args, **kwargs)
        finally:
            with count:
                inside[0] -= 1

    service.checker.check_response = watched
    statuses: list[int] = []

    def send() -> None:
        answer = client.application.test_client().post(operation_path(), data=seed_bytes(), headers=headers())
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 4
    assert most[0] == 1


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


def test_a_body_that_does_not_decode_as_its_encoding_is_judged_as_the_client_sees_it() -> None:
    body, problem = decode_body(b"not gzip", "gzip")
    assert body is None and problem is not None and "'gzip'" in problem
    assert decode_body(gzip.compress(b"{}"), "gzip") == (b"{}", None)
    assert decode_body(b"{}", None) == (b"{}", None)
    assert decode_body(b"{}", "br") == (None, None)  # a coding the proxy cannot undo: body not judged


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


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=",
        'application/json; foo="a;charset=latin1"',
        'application/json; charset="UTF-8"',
        "application/json; charset=latin1",
        "text/plain",
    ],
)
def test_the_proxy_judges_the_content_type_as_the_mock_does(
    content_type: str, client: FlaskClient, contract: ContractSpec, tmp_path: Path
) -> None:
    sent = headers(**{"Content-Type": content_type})
    mock = client.post(operation_path(), data=seed_bytes(), headers=sent)
    checker = ContractChecker(contract, seen=shared_seen(contract, StateStore(tmp_path / "seen.sqlite3")))
    check = checker.check_request(
        method="POST", path=operation_path(), headers=Headers(sent), query={}, cookies={}, body=seed_bytes()
    )
    refused = [v.msg for v in check.refusal if v.kind is Kind.UNSUPPORTED_MEDIA_TYPE]
    expected = [e["msg"] for e in document(mock)["errors"]] if mock.status_code == 415 else []
    assert (mock.status_code, refused) in ((200, []), (415, expected))
    assert [f.subject for f in check.findings if f.pointer == "/header/content-type"] == (
        ["content-type"] if refused else []
    )


# -- bodies over --body-limit ----------------------------------------------------------------------------


class EndlessBody(io.RawIOBase):
    """A request body that never ends, counting the bytes read of it."""

    def __init__(self) -> None:
        super().__init__()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = b" " * size
        self.consumed += size
        return size


def post_stream(
    client: FlaskClient, stream: io.RawIOBase | io.BytesIO, *, length: int | None = None, **extra: str
) -> TestResponse:
    """POST a body read from `stream`: with a Content-Length of `length`, or chunked when None."""
    # The test client would measure a stream it is given (seeking it); the environ takes it as is.
    environ: dict[str, Any] = {"wsgi.input": stream}
    if length is None:
        # What a WSGI server says of a chunked body: no CONTENT_LENGTH, the stream ends with the body.
        environ["wsgi.input_terminated"] = True
        extra["Transfer-Encoding"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(length)
    return client.post(operation_path(), headers=headers(**extra), environ_overrides=environ)


def test_a_body_whose_content_length_is_over_the_limit_is_refused_413_unread(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], contract: ContractSpec
) -> None:
    client = proxy_client(correct.base, body_limit=64 * KIB)
    stream = EndlessBody()
    response = post_stream(client, stream, length=50 * MIB, Origin="http://localhost:3000")
    assert response.status_code == 413
    assert stream.consumed == 0
    assert correct.received == []
    assert schema_problems(413, document(response)) == []
    [error] = document(response)["errors"]
    # Worded as the spec's own 413 example: "Request body of 2097152 bytes exceeds the limit of 1048576 bytes".
    assert (error["msg"], error["code"], error["pointer"]) == (
        f"Request body of {50 * MIB} bytes exceeds the limit of {64 * KIB} bytes",
        413,
        "/body",
    )
    assert "as its Content-Length says" in error["detail"]
    assert "--body-limit 50MiB (or KORE_PROXY_BODY_LIMIT)" in error["detail"]
    assert (response.headers[VIOLATIONS_HEADER], response.headers["Access-Control-Allow-Origin"]) == (
        "0",
        "*",
    )
    [entry] = journal(client)
    assert (entry["status"], entry["violations"], entry["answer"]) == (413, [], document(response))
    assert entry["body"] == f"[{50 * MIB} bytes, over --body-limit: not read further]"


def test_a_chunked_body_is_read_no_further_than_one_byte_past_the_limit(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    limit = 100 * KIB + 7
    client = proxy_client(correct.base, body_limit=limit)
    stream = EndlessBody()
    response = post_stream(client, stream)
    assert response.status_code == 413
    assert stream.consumed == limit + 1
    assert correct.received == []
    [error] = document(response)["errors"]
    assert error["msg"] == f"Request body of more than {limit} bytes exceeds the limit of {limit} bytes"
    assert "--body-limit 1MiB" in error["detail"]
    [entry] = journal(client)
    assert entry["status"] == 413
    assert entry["body"].endswith(f"... [more than {limit} bytes, over --body-limit: not read further]")
    assert document(client.get("/__admin/health"))["bodyLimitBytes"] == limit


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_forwarded_and_one_byte_more_is_not(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], chunked: bool
) -> None:
    body = seed_bytes()
    client = proxy_client(correct.base, body_limit=len(body))

    def send(data: bytes) -> TestResponse:
        return post_stream(client, io.BytesIO(data), length=None if chunked else len(data))

    response = send(body)
    assert (response.status_code, correct.received[-1].body) == (200, body)
    assert send(body + b" ").status_code == 413
    assert len(correct.received) == 1


def test_the_body_limit_is_an_option_and_a_variable_with_the_mocks_size_syntax() -> None:
    assert ProxyConfig(upstream="http://127.0.0.1:9").body_limit == 10 * MIB
    config = ProxyConfig.from_env({"KORE_PROXY_UPSTREAM": "http://x:1", "KORE_PROXY_BODY_LIMIT": "512KiB"})
    assert config.body_limit == 512 * KIB
    result = CliRunner().invoke(cli, ["proxy", "--upstream", "http://x:1", "--body-limit", "lots"])
    assert result.exit_code == 2
    assert "a size in bytes such as 1048576, 512KiB or 1MiB" in result.output
    help_text = CliRunner().invoke(cli, ["proxy", "--help"]).output
    assert "--body-limit SIZE" in help_text and "KORE_PROXY_BODY_LIMIT" in help_text


# -- deep and broken bodies: violations, never a proxy bug -------------------------------------------------


def deep_in(field: str, levels: int, kind: str = "[") -> bytes:
    """The seed request with `field` (a top-level property, known or not) nested `levels` deep."""
    return seed_bytes(**{field: "DEEP"}).replace(b'"DEEP"', nested(levels, kind), 1)


def health_bugs(client: FlaskClient) -> int:
    bugs: int = document(client.get("/__admin/health"))["proxyBugs"]
    return bugs


@pytest.mark.parametrize("kind", ["[", "{"], ids=["arrays", "objects"])
def test_a_body_nested_10000_levels_deep_is_a_malformed_body_violation(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], kind: str
) -> None:
    client = proxy_client(correct.base)
    body = nested(DEEPEST, kind)
    response = client.post(operation_path(), data=body, headers=headers())
    assert (response.status_code, response.headers[VIOLATIONS_HEADER]) == (400, "1")
    assert "X-Contract-Check" not in response.headers
    assert correct.received[-1].body == body
    [violation] = journal(client)[0]["violations"]
    assert (violation["check"], violation["subject"], violation["pointer"]) == (
        REQUEST_CONFORMANCE,
        "json",
        "/body",
    )
    assert violation["received"].startswith(f"{len(body)} bytes starting")
    strict = proxy_client(correct.base, strict=True)
    refused = strict.post(operation_path(), data=deep_in("caseId", DEEPEST, kind), headers=headers())
    assert refused.status_code == 400
    assert document(refused)["errors"][0]["pointer"] == "/body"
    assert health_bugs(client) == health_bugs(strict) == 0


@pytest.mark.parametrize("kind", ["[", "{"], ids=["arrays", "objects"])
def test_a_value_nested_1000_levels_deep_gets_its_own_violation_without_a_recursion_error(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], kind: str
) -> None:
    client = proxy_client(correct.base)
    body = deep_in("caseId", DEEP, kind)
    response = client.post(operation_path(), data=body, headers=headers())
    assert "X-Contract-Check" not in response.headers
    assert response.headers[VIOLATIONS_HEADER] == "1"
    assert correct.received[-1].body == body  # checked shortened, forwarded as sent
    [violation] = journal(client)[0]["violations"]
    assert (violation["check"], violation["pointer"]) == (REQUEST_CONFORMANCE, "/body/caseId")
    assert len(violation["received"]) < 400
    # An unknown property is accepted and ignored, however deep (the contract says so).
    response = client.post(operation_path(), data=deep_in("extra", DEEP, kind), headers=headers())
    assert response.headers[VIOLATIONS_HEADER] == "0"
    assert "X-Contract-Check" not in response.headers
    strict = proxy_client(correct.base, strict=True)
    refused = strict.post(operation_path(), data=body, headers=headers())
    assert (refused.status_code, document(refused)["errors"][0]["pointer"]) == (400, "/body/caseId")
    assert health_bugs(client) == health_bugs(strict) == 0


def test_the_cut_for_checking_is_deeper_than_any_schema_of_the_contract(contract: ContractSpec) -> None:
    # Cutting levels no schema looks at keeps every verdict; a deeper schema would need a deeper cut.
    def depth(schema: Any) -> int:
        """How many containers a schema nests: an object of strings is 1."""
        if not isinstance(schema, dict):
            return 0
        below = [depth(s) for s in schema.get("properties", {}).values()]
        below += [depth(schema[k]) for k in ("items", "additionalProperties") if k in schema]
        deeper = 1 + max(below) if below else 0
        combined = [depth(s) for k in ("allOf", "anyOf", "oneOf") for s in schema.get(k, [])]
        return max([deeper, *combined])

    schemas: list[Any] = [contract.error_schema]
    for operation in contract.operations.values():
        schemas.append(operation.request_schema)
        schemas += [operation.response_schema(status) for status in operation.documented_statuses]
    assert 1 <= max(map(depth, schemas)) < CHECKED_DEPTH


@pytest.mark.parametrize(
    ("fault", "status", "expected"),
    [
        (
            "deep-caseId",
            200,
            [
                (RESPONSE_SCHEMA_CONFORMANCE, "/body/caseId"),
                (RELATION_PREFIX + "echo-caseId", "/body/caseId"),
            ],
        ),
        (
            "deep-error",
            400,
            [(POSITIVE_DATA_ACCEPTANCE, "/status"), (ERROR_SCHEMA_CONFORMANCE, "/body/errors/0/msg")],
        ),
        ("invalid-utf8", 200, [(RESPONSE_SCHEMA_CONFORMANCE, "/body")]),
    ],
)
def test_deep_and_broken_answers_are_violations_not_proxy_bugs(
    faulty: Upstream,
    proxy_client: Callable[..., FlaskClient],
    fault: str,
    status: int,
    expected: list[tuple[str, str]],
) -> None:
    client = proxy_client(faulty.base)
    response, entry = through_faulty(faulty, client, fault, status, expected)
    assert "X-Contract-Check" not in response.headers
    if fault.startswith("deep"):  # deeper than the journal endpoint can write back as JSON
        assert entry["answer"].endswith("levels deep: journaled as text]")
    assert health_bugs(client) == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"caseId": "caf\xe9"}',
        seed_bytes(name="NAME").replace(b'"NAME"', b'"\xff\xfe"'),
        seed_bytes(name="NAME").replace(b'"NAME"', b'"\\ud800"'),
        b"\xef\xbb\xbf" + seed_bytes(),
    ],
    ids=["latin-1", "invalid-bytes", "lone-surrogate-escape", "byte-order-mark"],
)
def test_a_body_that_is_not_utf8_json_is_a_malformed_body_violation(
    correct: Upstream, proxy_client: Callable[..., FlaskClient], body: bytes
) -> None:
    client = proxy_client(correct.base)
    response = client.post(operation_path(), data=body, headers=headers())
    assert (response.status_code, response.headers[VIOLATIONS_HEADER]) == (400, "1")
    assert "X-Contract-Check" not in response.headers
    assert correct.received[-1].body == body
    [violation] = journal(client)[0]["violations"]
    assert (violation["check"], violation["subject"], violation["pointer"]) == (
        REQUEST_CONFORMANCE,
        "json",
        "/body",
    )
    strict = proxy_client(correct.base, strict=True)
    refused = strict.post(operation_path(), data=body, headers=headers())
    assert (refused.status_code, document(refused)["errors"][0]["pointer"]) == (400, "/body")
    assert health_bugs(client) == health_bugs(strict) == 0


def test_bytes_outside_utf8_in_the_path_query_and_headers_are_forwarded_and_checked(
    correct: Upstream, proxy_client: Callable[..., FlaskClient]
) -> None:
    client = proxy_client(correct.base)
    stream_path = operation_path().replace("st-", "st-%FF", 1)
    response = client.post(stream_path + "?q=%FF%FE", data=seed_bytes(), headers=headers(accountId="caf\xe9"))
    assert response.status_code == 200
    assert correct.received[-1].target == stream_path + "?q=%FF%FE"
    outside = client.post("/caseManagement/%FF", data=seed_bytes(), headers=headers())
    assert outside.headers[VIOLATIONS_HEADER] == "1"
    assert journal(client)[0]["violations"][0]["subject"] == "path"
    assert health_bugs(client) == 0


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
    assert (
        result.exit_code == 2
        and "Missing option '--upstream' (env var: 'KORE_PROXY_UPSTREAM')" in result.output
    )
    with pytest.raises(ConfigError, match="--upstream or KORE_PROXY_UPSTREAM"):
        ProxyConfig.from_env({})
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
    assert re.search(
        f"POST {path} 400 [0-9.]+ms violations=2 {REQUEST_CONFORMANCE}\\[required\\] \\(createTask, request /body/source\\)",
        good.log_text(),
    )
    assert f"  2/2 {REQUEST_CONFORMANCE}[minLength] (createTask, request /body/caseId)" in good.log_text()
    assert "violations=1 relation:echo-caseId (createTask, response /body/caseId)" in bad.log_text()


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


def test_the_command_refuses_big_bodies_413_and_takes_deep_and_broken_ones_in_its_stride(
    correct: Upstream, run_proxy: Callable[..., ProxyProcess]
) -> None:
    proxy = run_proxy(
        env={"KORE_PROXY_UPSTREAM": correct.base, "KORE_PROXY_WORKERS": "1", "KORE_PROXY_BODY_LIMIT": "64KiB"}
    )
    path = operation_path()
    big = b" " * (4 * MIB)
    with httpx.Client(timeout=10) as client:
        sized = client.post(proxy.base + path, content=big, headers=headers())
        chunked = client.post(
            proxy.base + path,
            content=(big[i : i + 16 * KIB] for i in range(0, len(big), 16 * KIB)),
            headers=headers(),
        )
        for answer, size in ((sized, f"{4 * MIB} bytes"), (chunked, f"more than {64 * KIB} bytes")):
            assert (answer.status_code, answer.headers[VIOLATIONS_HEADER]) == (413, "0")
            [error] = answer.json()["errors"]
            assert (error["msg"], error["code"]) == (
                f"Request body of {size} exceeds the limit of {64 * KIB} bytes",
                413,
            )
        assert correct.received == []
        # Still serving, deep and broken bodies included: each a violation, none a proxy bug.
        sent = [
            (seed_bytes(), 200),
            (nested(DEEPEST), 400),
            (deep_in("caseId", DEEP, "{"), 400),
            (seed_bytes(name="NAME").replace(b'"NAME"', b'"\xff"'), 400),
        ]
        for body, status in sent:
            answer = client.post(proxy.base + path, content=body, headers=headers())
            assert (answer.status_code, answer.headers[VIOLATIONS_HEADER]) == (
                status,
                "0" if status == 200 else "1",
            )
        assert [seen.body for seen in correct.received] == [body for body, _ in sent]
        health = client.get(proxy.base + "/__admin/health").json()
        assert (health["proxyBugs"], health["bodyLimitBytes"]) == (0, 64 * KIB)
        entries = client.get(proxy.base + "/__admin/requests").json()["requests"]
        assert [e["status"] for e in entries] == [400, 400, 400, 200, 413, 413]
    log = proxy.log_text()
    assert "Traceback" not in log and "PROXY BUG" not in log
    assert f"POST {path} 413 " in log and f"Request body of {4 * MIB} bytes exceeds the limit" in log


def test_the_proxy_package_exports_exactly_its_all() -> None:
    import mockserver.proxy

    public = {name for name in vars(mockserver.proxy) if not name.startswith("_")} - {"annotations"}
    assert set(mockserver.proxy.__all__) == public
    assert mockserver.create_proxy_app is mockserver.proxy.create_proxy_app
    assert mockserver.ProxyConfig is mockserver.proxy.ProxyConfig
