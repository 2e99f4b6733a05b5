"""The proxy judges every operation of its spec: `archiveNote`, made up for tests, with no code naming it.

A copy of the spec with the made-up operation (tests/madeup.py) is given to the proxy with `spec_path`;
a small stub implements archiveNote behind it, correct or with the fault `X-Fault` names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import ProxyConfig, create_proxy_app
from mockserver.proxy import VIOLATIONS_HEADER
from spec._judge import (
    NEGATIVE_DATA_REJECTION,
    POSITIVE_DATA_ACCEPTANCE,
    RELATION_PREFIX,
    REQUEST_CONFORMANCE,
    RESPONSE_SCHEMA_CONFORMANCE,
    STATUS_CODE_CONFORMANCE,
)
from tests.madeup import OPERATION_ID, PATH_TEMPLATE, write_madeup_spec
from tests.mockserver.support import ACCOUNT, headers, operation_path
from tests.mockserver.test_proxy import start_upstream

pytestmark = pytest.mark.http

NOTE = "n-42"
PATH = PATH_TEMPLATE.replace("{streamId}", "st-1").replace("{noteId}", NOTE)
VALID = {"reason": "duplicate", "keepDays": 30, "mode": "soft"}


def archive_stub() -> Flask:
    """archiveNote as an implementation might answer it: correct, or with the fault `X-Fault` names."""
    app = Flask("archive-stub")

    @app.post("/caseManagement/api/public/analytics/<stream>/archiveNote/<note>")
    def archive(stream: str, note: str) -> Response:
        fault = request.headers.get("X-Fault", "")
        sent = orjson.loads(request.get_data() or b"{}")
        if fault == "refuse":
            return Response(b'{"errors":[{"msg":"no","code":400}]}', 400, content_type="application/json")
        if fault == "teapot":
            return Response(b'{"errors":[{"msg":"tea","code":418}]}', 418, content_type="application/json")
        answer: dict[str, Any] = {
            "noteId": "n-other" if fault == "other-note" else note,
            "reason": sent.get("reason", "?") if isinstance(sent, dict) else "?",
            "keepDays": 30,
            "archived": fault != "not-archived",
        }
        if fault == "no-reason":
            del answer["reason"]
        return Response(orjson.dumps(answer), 200, content_type="application/json")

    return app


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    for upstream in start_upstream(archive_stub()):
        yield upstream.base


@pytest.fixture(scope="module")
def madeup_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_madeup_spec(tmp_path_factory.mktemp("madeup"))


@pytest.fixture
def proxy(stub: str, madeup_spec: Path, tmp_path: Path) -> Callable[..., FlaskClient]:
    def make(**options: Any) -> FlaskClient:
        config = ProxyConfig(
            upstream=stub, spec_path=madeup_spec, state_file=tmp_path / "proxy.sqlite3", **options
        )
        app = create_proxy_app(config)
        app.testing = True
        return app.test_client()

    return make


def archive(
    client: FlaskClient, body: Any = VALID, **extra: str
) -> tuple[TestResponse, list[dict[str, Any]]]:
    """POST archiveNote through the proxy; the answer and its journaled findings."""
    response = client.post(PATH, data=orjson.dumps(body), headers=headers(**extra))
    entry = orjson.loads(client.get("/__admin/requests").data)["requests"][0]
    findings: list[dict[str, Any]] = entry["violations"]
    assert response.headers[VIOLATIONS_HEADER] == str(len(findings))
    return response, findings


def keys(findings: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(f["check"], f["direction"], f["pointer"]) for f in findings]


def test_a_correct_archive_exchange_has_no_findings(proxy: Callable[..., FlaskClient]) -> None:
    response, findings = archive(proxy())
    assert (response.status_code, findings) == (200, [])
    assert orjson.loads(response.data)["noteId"] == NOTE


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("other-note", [(RELATION_PREFIX + "archive-echo-note-id", "response", "/body/noteId")]),
        ("not-archived", [(RELATION_PREFIX + "archive-is-archived", "response", "/body/archived")]),
        (
            "no-reason",
            [
                (RESPONSE_SCHEMA_CONFORMANCE, "response", "/body/reason"),
                (RELATION_PREFIX + "archive-echo-reason", "response", "/body/reason"),
            ],
        ),
        ("refuse", [(POSITIVE_DATA_ACCEPTANCE, "response", "/status")]),
        (
            "teapot",
            [
                (STATUS_CODE_CONFORMANCE, "response", "/status"),
                (POSITIVE_DATA_ACCEPTANCE, "response", "/status"),
            ],
        ),
    ],
)
def test_a_faulty_archive_answer_is_judged_by_the_archive_operations_contract(
    proxy: Callable[..., FlaskClient], fault: str, expected: list[tuple[str, str, str]]
) -> None:
    _, findings = archive(proxy(), **{"X-Fault": fault})
    assert keys(findings) == expected
    assert {f["operation"] for f in findings} == {OPERATION_ID}


def test_an_invalid_archive_request_is_found_as_the_mock_finds_it_and_its_acceptance_too(
    proxy: Callable[..., FlaskClient],
) -> None:
    body = {"reason": "x" * 41, "keepDays": 0, "mode": "later", "notify": "yes"}
    response, findings = archive(proxy(), body)
    assert response.status_code == 200  # the stub accepts anything: forwarded, then judged
    request_side = [f for f in findings if f["direction"] == "request"]
    assert sorted(f["pointer"] for f in request_side) == [
        "/body/keepDays",
        "/body/mode",
        "/body/notify",
        "/body/reason",
    ]
    assert {(f["check"], f["operation"]) for f in request_side} == {(REQUEST_CONFORMANCE, OPERATION_ID)}
    assert [f["check"] for f in findings if f["direction"] == "response"] == [NEGATIVE_DATA_REJECTION]


def test_the_archive_operations_own_header_is_required(proxy: Callable[..., FlaskClient]) -> None:
    client = proxy()
    response = client.post(
        PATH, data=orjson.dumps(VALID), headers={k: v for k, v in headers().items() if k != "accountId"}
    )
    [entry] = orjson.loads(client.get("/__admin/requests").data)["requests"]
    assert [(f["check"], f["pointer"]) for f in entry["violations"]][:1] == [
        (REQUEST_CONFORMANCE, "/header/accountId")
    ]
    assert response.headers[VIOLATIONS_HEADER] == str(len(entry["violations"]))


def test_strict_refuses_an_invalid_archive_request_in_the_envelope_and_forwards_a_valid_one(
    proxy: Callable[..., FlaskClient],
) -> None:
    client = proxy(strict=True)
    refused = client.post(PATH, data=orjson.dumps({"reason": "", "keepDays": 30}), headers=headers())
    assert refused.status_code == 400
    assert [e["pointer"] for e in orjson.loads(refused.data)["errors"]] == ["/body/reason"]
    unauthorized = client.post(PATH, data=orjson.dumps(VALID), headers={"Content-Type": "application/json"})
    assert unauthorized.status_code == 401
    assert client.post(PATH, data=orjson.dumps(VALID), headers=headers()).status_code == 200


def test_the_other_operation_and_unknown_paths_still_route(proxy: Callable[..., FlaskClient]) -> None:
    client = proxy()
    # The bundled operation's path routes to its own operation (its answer, the stub's 404, is judged).
    client.post(operation_path(), data=b"{}", headers=headers(accountId=ACCOUNT))
    [entry] = orjson.loads(client.get("/__admin/requests").data)["requests"][:1]
    assert {f["operation"] for f in entry["violations"]} == {"createTask"}
    # A path of no operation is forwarded and reported as such.
    client.get(PATH.replace("archiveNote", "unarchiveNote"))
    [unrouted] = orjson.loads(client.get("/__admin/requests").data)["requests"][0]["violations"]
    assert (unrouted["operation"], unrouted["subject"], unrouted["pointer"]) == ("", "path", "/path")
    client.get(PATH)
    [wrong_method] = orjson.loads(client.get("/__admin/requests").data)["requests"][0]["violations"]
    assert (wrong_method["subject"], wrong_method["pointer"]) == ("method", "/method")
