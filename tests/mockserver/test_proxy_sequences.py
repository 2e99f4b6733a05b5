"""Issue 13 item 5: the proxy judges the cross-call relations it can observe between exchanges it saw.

A stub upstream forwards to a mock app, or breaks it: `lose-update` answers an update as the mock
does and then puts the fields it sent back as they were, so later listings show the old value; `leak` lists the
creator's tasks to whichever account asks. Each is caught by exactly its relation of
`x-contract-sequences` (judged by `spec.Sequences.observe` over the proxy's shared model); the mock
as upstream gives no finding.
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

from mockserver import MockConfig, ProxyConfig, create_app, create_proxy_app
from mockserver.proxy import VIOLATIONS_HEADER
from spec import load_spec
from spec._judge import RELATION_PREFIX
from tests.mockserver.support import ACCOUNT, STREAM, headers
from tests.mockserver.test_proxy import start_upstream

pytestmark = pytest.mark.http

CONTRACT = load_spec()
OTHER_ACCOUNT = "aaaaaaaaaaaaaaaaaaaaaaaa"
PATH_IDS = {c.update: c.path_id for c in CONTRACT.sequences.collections if c.update}


def stub(mock: FlaskClient, fault: str) -> Flask:
    """The mock's answers, or broken as `fault` says (`""`: as they are)."""
    app = Flask(f"sequences-stub-{fault or 'none'}")
    update_path = CONTRACT.operation("updateTask").path_regex
    list_path = CONTRACT.operation("getTasks").path_regex

    @app.route("/<path:_path>", methods=["POST"])
    def forward(_path: str) -> Response:
        sent = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        if fault == "leak" and list_path.fullmatch(request.path):
            sent = {k: v for k, v in sent.items() if k.lower() != "accountid"}
            sent["accountId"] = ACCOUNT  # whoever asks is shown the creator's tasks
        before = mock.get("/__admin/state").json if fault == "lose-update" else None
        answer = mock.open(request.path, method=request.method, data=request.get_data(), headers=sent)
        if before is not None and update_path.fullmatch(request.path):
            # The name sent (and its `lname`) is lost; the answer's moved `updatedAt` is kept.
            updated = answer.json
            for stored in before["tasks"]:
                if stored["_id"] == updated["_id"]:
                    stored["updatedAt"] = updated["updatedAt"]
            assert mock.put("/__admin/state", json=before).status_code == 200
        return Response(answer.get_data(), answer.status_code, content_type=answer.content_type)

    return app


@pytest.fixture(params=["", "lose-update", "leak"])
def fault(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def proxy(fault: str, tmp_path: Path) -> Iterator[FlaskClient]:
    mock = create_app(MockConfig(seed=3, empty_world=True, state_file=tmp_path / "mock.sqlite3"))
    for served in start_upstream(stub(mock.test_client(), fault)):
        app = create_proxy_app(ProxyConfig(upstream=served.base, state_file=tmp_path / "proxy.sqlite3"))
        app.testing = True
        yield app.test_client()


def call(
    client: FlaskClient, operation_id: str, body: Any, account: str = ACCOUNT, object_id: str | None = None
) -> tuple[Any, list[str]]:
    """One exchange through the proxy: the answer and the checks of the findings its journal holds."""
    operation = CONTRACT.operation(operation_id)
    params = {"streamId": STREAM, **({PATH_IDS[operation_id]: object_id} if object_id else {})}
    response = client.open(
        operation.path(**params),
        method=operation.method,
        data=orjson.dumps(body),
        headers=headers(accountId=account),
    )
    assert response.status_code == 200, response.data
    findings = orjson.loads(client.get("/__admin/requests").data)["requests"][0]["violations"]
    assert response.headers[VIOLATIONS_HEADER] == str(len(findings))
    return response.json, [f["check"] for f in findings]


def example_body(operation_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(iter(CONTRACT.operation(operation_id).request_examples.values())))


def test_a_lost_update_is_caught_by_the_merged_relation(proxy: FlaskClient, fault: str) -> None:
    task, checks = call(proxy, "createTask", example_body("createTask"))
    assert checks == []
    _, checks = call(proxy, "updateTask", {"name": "Renamed through the proxy"}, object_id=task["_id"])
    assert checks == []
    _, checks = call(proxy, "getTasks", {})
    assert set(checks) == ({RELATION_PREFIX + "task-update-merged"} if fault == "lose-update" else set())


def test_a_task_listed_to_another_account_is_caught_by_listed_after_create(
    proxy: FlaskClient, fault: str
) -> None:
    _, checks = call(proxy, "createTask", example_body("createTask"))
    assert checks == []
    page, checks = call(proxy, "getTasks", {}, account=OTHER_ACCOUNT)
    assert checks == ([RELATION_PREFIX + "task-listed-after-create"] if fault == "leak" else [])
    assert bool(page["results"]) == (fault == "leak")
