"""Issue 13's "Done when", over real HTTP: a frontend builds on the mock as on a sandbox of the platform.

`python -m mockserver serve --workers 2 --state-file F` with its seeded start world: create a case,
create a task for it, list tasks with a filter and find the task on the second page, rename it and
see the new name listed, read the case's `taskIds`, each request on a new connection so both
workers answer; then restart on the same state file and find everything again. Every answer is
judged by `spec.Sequences.observe` over a model `Store` seeded from `GET /__admin/state`: the spec's
one interpreter of `x-contract-sequences` says what each answer must be; this test restates none.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from generators import Caller
from spec import Exchange, Finding, Sequences, Store, load_spec
from tests.mockserver.support import APP_ID, Server, headers

pytestmark = pytest.mark.http

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
SEED = 7
CALLER = Caller.for_app(APP_ID, seed=SEED).user_id
# The account and stream the docs' "Try it out" uses: the seeded world holds data there.
ACCOUNT = CONTRACT.operation("getTasks").parameters_in("header")[0]["example"]
STREAM = CONTRACT.operation("getTasks").parameters_in("path")[0]["example"]
PATH_IDS = {c.update: c.path_id for c in CONTRACT.sequences.collections if c.update}


def example_body(operation_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(iter(CONTRACT.operation(operation_id).request_examples.values())))


class Frontend:
    """Calls a server, a new connection per request, and judges every answer against the model."""

    def __init__(self, server: Server, model: Store) -> None:
        self.server = server
        self.model = model
        self.findings: list[Finding] = []

    def call(self, operation_id: str, body: Any, object_id: str | None = None) -> tuple[int, Any]:
        operation = CONTRACT.operation(operation_id)
        path_params = {"streamId": STREAM}
        if object_id is not None:
            path_params[PATH_IDS[operation_id]] = object_id
        response = httpx.request(  # no client: a new connection each time
            operation.method,
            self.server.url(operation.path(**path_params)),
            json=body,
            headers=headers(accountId=ACCOUNT),
            timeout=30,
        )
        answer = response.json()
        exchange = Exchange(
            operation_id, ACCOUNT, STREAM, body, response.status_code, answer, path_params, CALLER
        )
        self.findings += SEQUENCES.observe(self.model, exchange)
        return response.status_code, answer


def seeded_model(server: Server) -> Store:
    """The model of the server's world as `GET /__admin/state` exports it (complete: it holds everything)."""
    world = httpx.get(server.url("/__admin/state"), timeout=30).json()
    model = Store()
    for collection in CONTRACT.sequences.collections:
        for document in world[collection.name]:
            model.bucket(collection.name, (document["accountId"], document["iId"]))[document["_id"]] = (
                document
            )
    return model


def test_a_frontend_creates_lists_pages_renames_on_two_workers_across_a_restart(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    args = ("--workers", "2", "--seed", str(SEED), "--state-file", str(tmp_path / "sandbox.sqlite3"))
    server = serve(*args)
    model = seeded_model(server)
    assert model.items("tasks", (ACCOUNT, STREAM)), "the start world shows data on a first getTasks"
    front = Frontend(server, model)

    case_body = example_body("createCase")
    case_body["name"] = "Sandbox refund"
    status, case = front.call("createCase", case_body)
    assert status == 200, case
    task_body = example_body("createTask")
    task_body.update(caseId=case["_id"], caseRefId=case["refId"], name="Zz sandbox follow-up")
    status, task = front.call("createTask", task_body)
    assert status == 200, task

    # A filter and a sort under which the new task is on the second page: the page size follows from
    # where the spec's listing puts it among what the filter keeps.
    query: dict[str, Any] = {"status": [task["status"]["name"]], "sortBy": "name"}
    everything = SEQUENCES.listing("getTasks").expected(
        model.items("tasks", (ACCOUNT, STREAM)), {**query, "limit": 100}, caller=CALLER
    )
    position = [t["_id"] for t in everything.results].index(task["_id"])
    assert position >= 1, "the start world has tasks the filter keeps before the new one"
    second = {**query, "limit": position, "page": 2}
    status, page = front.call("getTasks", second)
    assert status == 200, page
    assert task["_id"] in [t["_id"] for t in page["results"]]

    status, renamed = front.call("updateTask", {"name": "Zz sandbox call back"}, object_id=task["_id"])
    assert status == 200, renamed
    status, page = front.call("getTasks", second)
    assert [t["name"] for t in page["results"] if t["_id"] == task["_id"]] == ["Zz sandbox call back"]
    _, cases = front.call("getCases", {"searchText": "sandbox refund"})
    assert [c["taskIds"] for c in cases["results"]] == [[task["_id"]]]

    # Both sync workers answered (each request its own connection); more listings until they have.
    for _ in range(40):
        pids = {e["pid"] for e in httpx.get(server.url("/__admin/requests"), timeout=30).json()["requests"]}
        if len(pids) == 2:
            break
        front.call("getTasks", second)
    assert len(pids) == 2
    assert [str(f) for f in front.findings] == []

    # A restart on the same state file: everything is still there, judged by the same model.
    server.stop()
    front.server = serve(*args)
    assert seeded_model(front.server).objects == model.objects
    status, page = front.call("getTasks", second)
    assert [t["name"] for t in page["results"] if t["_id"] == task["_id"]] == ["Zz sandbox call back"]
    _, cases = front.call("getCases", {"searchText": "sandbox refund"})
    assert [c["taskIds"] for c in cases["results"]] == [[task["_id"]]]
    assert [str(f) for f in front.findings] == []
