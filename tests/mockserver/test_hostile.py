"""Hostile inputs: each answered 4xx in the platform's envelope, never a 5xx or a traceback."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from spec import Operation
from tests.mockserver.support import Hostile, headers, hostile_battery, operation_path, schema_problems

BATTERY = hostile_battery()
# Path parameter values a hostile client sends (Schemathesis found the newline answered 404): each is
# one segment, so each names the operation, and its answer is a status the operation documents.
HOSTILE_STREAM_IDS = {
    "newline": "st-1\nx",
    "trailing newline": "st-1\n",
    "carriage return": "st\r\n1",
    "tab and space": "st 1\t",
    "non-ASCII": "st-\u00e9\u4e2d\U0001f600",
    "1000 characters": "s" * 1000,
    "percent sign": "st%2",
    "NUL": "st\x00",
}


def assert_envelope(status: int, payload: Any) -> None:
    """An error answer is the spec's envelope: the schema of its status, or the envelope schema."""
    assert schema_problems(status, payload) == []
    assert payload["errors"] and all(isinstance(e["msg"], str) and e["msg"] for e in payload["errors"])


@pytest.mark.parametrize("case", BATTERY, ids=[c.name for c in BATTERY])
def test_hostile_input_is_answered_in_the_envelope(
    client: FlaskClient, task: Operation, case: Hostile
) -> None:
    response = client.open(case.target(), method=case.method, data=case.body, headers=case.request_headers())
    assert response.status_code == case.status, response.data[:500]
    if case.target() == operation_path():
        assert case.status in task.documented_statuses
    if case.status != 200:
        assert response.content_type == "application/json; charset=utf-8"
        assert_envelope(case.status, response.json)
    if case.status in (413, 431) or case.name == "huge header":
        # The spec's examples word them so: "Request body of 2097152 bytes exceeds the limit of 1048576 bytes".
        assert re.match(
            r"Request (body|header section) of \d+ bytes exceeds the limit of \d+ bytes",
            response.json["errors"][0]["msg"],
        )
    if case.status == 405:
        assert response.headers["Allow"] == "POST, OPTIONS"
    assert "X-Mock-Self-Check" not in response.headers
    health = client.get("/__admin/health").json
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)


@pytest.mark.parametrize("value", list(HOSTILE_STREAM_IDS.values()), ids=list(HOSTILE_STREAM_IDS))
def test_hostile_path_parameters_get_a_status_the_operation_documents(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any], value: str
) -> None:
    path = task.path(streamId=value)  # percent-encoded: %0A, %C3%A9...
    response = client.post(path, json=seed_body, headers=headers())
    assert response.status_code in task.documented_statuses, response.data[:300]
    assert response.status_code == 200, response.data[:300]
    assert response.json["iId"] == value
    assert "X-Mock-Self-Check" not in response.headers


@pytest.mark.parametrize("encoded", ["a%2Fb", "%2F", ""])
def test_a_path_parameter_holding_a_slash_names_no_operation_404(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any], encoded: str
) -> None:
    path = task.path_template.replace("{streamId}", encoded)
    response = client.post(path, json=seed_body, headers=headers())
    assert response.status_code == 404 and 404 in task.documented_statuses
    assert_envelope(404, response.json)


def test_every_violation_is_listed_with_a_pointer(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    body = {**seed_body, "caseId": "", "source": 7, "userInfo": {"name": ""}}
    del body["taskTmp"]
    response = client.post(operation_path(), json=body, headers=headers())
    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.json["errors"]}
    assert pointers == {
        "/body/taskTmp",
        "/body/caseId",
        "/body/source",
        "/body/userInfo/name",
        "/body/userInfo",
    }
    for error in response.json["errors"]:
        assert error["code"] == 400
        assert error["msg"].startswith(error["pointer"])
        assert (
            "Received:" in error["detail"] and "Documented:" in error["detail"] and "Fix:" in error["detail"]
        )


def test_no_contact_names_the_three_alternatives(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    seed_body["userInfo"] = {"name": "dummy"}
    (error,) = client.post(operation_path(), json=seed_body, headers=headers()).json["errors"]
    assert error["pointer"] == "/body/userInfo"
    assert "_id, emailId, phoneNumber" in error["msg"]


def test_malformed_json_says_where(client: FlaskClient) -> None:
    (error,) = client.post(operation_path(), data=b'{"caseId": ', headers=headers()).json["errors"]
    assert error["pointer"] == "/body" and error["msg"].startswith("Malformed JSON body")
    assert "line 1" in error["msg"]


def test_content_type_with_charset_is_accepted(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    hdrs = headers(**{"Content-Type": "application/json;charset=UTF-8"})
    assert client.post(operation_path(), json=seed_body, headers=hdrs).status_code == 200


def test_chunked_body_over_the_limit_is_413(client: FlaskClient) -> None:
    def chunks() -> Any:
        yield b'{"caseId": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    # No Content-Length, as with `Transfer-Encoding: chunked`; gunicorn marks such input terminated.
    body = io.BytesIO(b"".join(chunks()))
    response = client.post(
        operation_path(), input_stream=body, headers=headers(), environ_base={"wsgi.input_terminated": True}
    )
    assert response.status_code == 413
    assert response.json["errors"][0]["code"] == 413


def test_body_limit_is_configurable(make_app: Any, seed_body: dict[str, Any]) -> None:
    client = make_app(body_limit=100).test_client()
    assert client.post(operation_path(), json=seed_body, headers=headers()).status_code == 413


@pytest.mark.parametrize("depth", [1000, 300, 200])
def test_deeply_nested_known_field_is_a_400_not_a_500(
    client: FlaskClient, seed_body: dict[str, Any], depth: int
) -> None:
    # orjson parses 1000 levels, but jsonschema's message (the repr of the value) overflows the stack.
    import orjson

    text = orjson.dumps({**seed_body, "caseId": "@"}).decode()
    body = text.replace('"@"', "[" * depth + "]" * depth).encode()
    answer = client.post(operation_path(), data=body, headers=headers())
    assert answer.status_code == 400, answer.data[:300]
    assert answer.json["errors"][0]["pointer"] in ("/body", "/body/caseId")
