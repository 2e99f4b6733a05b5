"""The proxy judges the spec's six operations: one exchange per operation through a stub upstream.

The stub answers as the mock does (it forwards to a mock app), or breaks its answer as `X-Fault`
asks; the proxy's journal must show no finding on the mock's answers and the finding the fault
calls for on a broken one. Tests may name operations; the proxy's code names none.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import MockConfig, ProxyConfig, create_app, create_proxy_app
from mockserver._config import parse_instant
from mockserver.proxy import VIOLATIONS_HEADER
from spec import Operation, load_spec
from spec._judge import RELATION_PREFIX, RESPONSE_SCHEMA_CONFORMANCE
from tests.mockserver.support import FROZEN, STREAM, headers
from tests.mockserver.test_proxy import start_upstream

pytestmark = pytest.mark.http

CONTRACT = load_spec()
# The operations next to createTask (issue 12), and the path ids their requests name.
NEW_OPERATIONS = ("createCase", "getCases", "updateCase", "getTasks", "updateTask")
PATH_IDS = {
    "caseId": "ci-b4eaa6e-b3d9-4bb3-ae54-bb043b4axxxx",
    "taskId": "ti-73acd32-0123-4114-9891-00a950aaxxxx",
}


def path_of(operation: Operation) -> str:
    return operation.path(**{name: PATH_IDS.get(name, STREAM) for name in operation.path_parameters})


def stub(mock: FlaskClient) -> Flask:
    """The mock's answer, or that answer broken as `X-Fault` names (`drop:<field>`, `set:<field>=<json>`)."""
    app = Flask("operations-stub")

    @app.route("/<path:_path>", methods=["POST"])
    def forward(_path: str) -> Response:
        sent = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "x-fault")}
        answer = mock.open(request.path, method=request.method, data=request.get_data(), headers=sent)
        fault = request.headers.get("X-Fault", "")
        body = answer.get_data()
        if fault:
            document = orjson.loads(body)
            action, _, rest = fault.partition(":")
            if action == "drop":
                document.pop(rest, None)
            else:
                name, _, value = rest.partition("=")
                document[name] = orjson.loads(value)
            body = orjson.dumps(document)
        return Response(body, answer.status_code, content_type=answer.content_type)

    return app


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("operations") / "mock.sqlite3"
    mock = create_app(MockConfig(seed=3, freeze_time=parse_instant(FROZEN), state_file=state))
    for served in start_upstream(stub(mock.test_client())):
        yield served.base


@pytest.fixture
def proxy(upstream: str, tmp_path: Path) -> FlaskClient:
    app = create_proxy_app(ProxyConfig(upstream=upstream, state_file=tmp_path / "proxy.sqlite3"))
    app.testing = True
    return app.test_client()


def exchange(
    client: FlaskClient, operation: Operation, body: Any, **extra: str
) -> tuple[TestResponse, list[dict[str, Any]]]:
    """One request of `operation` through the proxy: the answer and the findings its journal holds."""
    response = client.open(
        path_of(operation), method=operation.method, data=orjson.dumps(body), headers=headers(**extra)
    )
    entry = orjson.loads(client.get("/__admin/requests").data)["requests"][0]
    findings: list[dict[str, Any]] = entry["violations"]
    assert response.headers[VIOLATIONS_HEADER] == str(len(findings))
    return response, findings


def first_example(operation: Operation) -> Any:
    return copy.deepcopy(next(iter(operation.request_examples.values())))


# An update of an id the proxy never saw may be answered 200 or 404 (`Sequences.unknown_ids_expectation`).
@pytest.mark.parametrize("operation_id", NEW_OPERATIONS)
def test_the_mocks_answer_of_each_operation_has_no_findings(proxy: FlaskClient, operation_id: str) -> None:
    operation = CONTRACT.operation(operation_id)
    response, findings = exchange(proxy, operation, first_example(operation))
    assert findings == [], findings
    assert response.status_code in operation.documented_statuses


@pytest.mark.parametrize("operation_id", NEW_OPERATIONS)
def test_each_operations_documented_success_example_has_no_findings(
    proxy: FlaskClient, operation_id: str
) -> None:
    """`Prefer: code=<success>` through the stub: the spec's own example, judged without relations to the request
    it did not answer (the proxy judges it as any answer; a documented example keeps the schema)."""
    operation = CONTRACT.operation(operation_id)
    response, findings = exchange(proxy, operation, first_example(operation), Prefer="dynamic=false")
    assert response.status_code == operation.success_status
    assert [f for f in findings if f["check"] == RESPONSE_SCHEMA_CONFORMANCE] == []


@pytest.mark.parametrize(
    ("operation_id", "fault", "check"),
    [
        ("createCase", 'set:name="another name"', RELATION_PREFIX + "case-echo-name"),
        ("createCase", "drop:_id", RESPONSE_SCHEMA_CONFORMANCE),
        ("getCases", "drop:results", RESPONSE_SCHEMA_CONFORMANCE),
        ("getTasks", 'set:hasMore="no"', RESPONSE_SCHEMA_CONFORMANCE),
    ],
)
def test_a_broken_answer_of_a_new_operation_is_found(
    proxy: FlaskClient, operation_id: str, fault: str, check: str
) -> None:
    operation = CONTRACT.operation(operation_id)
    _, findings = exchange(proxy, operation, first_example(operation), **{"X-Fault": fault})
    assert check in {f["check"] for f in findings}, findings
    assert {f["operation"] for f in findings} == {operation_id}
