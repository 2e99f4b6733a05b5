"""The stateful mock (issue 13): what it creates it lists, pages, merges and finds again, judged by the spec.

Every exchange with the mock is fed to `spec.Sequences.observe` over a `Store(complete=True)` model:
the spec's one interpreter of `x-contract-sequences` says what each answer must be given the calls
before it (listed after create, only in its account and stream, merged, read-only fields unchanged,
`updatedAt` forward, `lname` following `name`, a task joining its case, pages partitioning a
listing). The same scenario runs over Flask's test client and over real HTTP with two workers.
"""

from __future__ import annotations

import copy
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from flask import Flask

from generators import PRIORITIES, Caller, build_world
from mockserver import MockConfig, create_app
from mockserver._store import StateFileError, WorldError
from spec import Exchange, Finding, Sequences, Store, load_spec
from tests.mockserver.support import ACCOUNT, APP_ID, STREAM, Server, headers

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
SEED = 7
OTHER_ACCOUNT = "aaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_STREAM = "st-other"
# The path parameter naming each collection's objects, and the stream parameter.
PATH_IDS = {c.update: c.path_id for c in CONTRACT.sequences.collections if c.update}
CALLER = Caller.for_app(APP_ID, seed=SEED).user_id


def example_body(operation_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(iter(CONTRACT.operation(operation_id).request_examples.values())))


@dataclass
class Session:
    """Sends exchanges to a mock (`send(method, path, headers, body) -> (status, json)`) and judges each."""

    send: Callable[[str, str, dict[str, str], Any], tuple[int, Any]]
    model: Store = field(default_factory=Store)
    findings: list[Finding] = field(default_factory=list)

    def call(
        self,
        operation_id: str,
        body: Any,
        *,
        account: str = ACCOUNT,
        stream: str = STREAM,
        object_id: str | None = None,
    ) -> tuple[int, Any]:
        operation = CONTRACT.operation(operation_id)
        path_params = {"streamId": stream}
        if object_id is not None:
            path_params[PATH_IDS[operation_id]] = object_id
        status, answer = self.send(
            operation.method, operation.path(**path_params), headers(accountId=account), body
        )
        exchange = Exchange(operation_id, account, stream, body, status, answer, path_params, caller=CALLER)
        self.findings += SEQUENCES.observe(self.model, exchange)
        return status, answer

    def walk(self, operation_id: str, body: dict[str, Any], **scope: str) -> list[Any]:
        """Every page of a listing, first to last; the pages judged together (pages-partition)."""
        pages, number = [], 1
        while True:
            status, page = self.call(operation_id, {**body, "page": number}, **scope)
            assert status == 200, page
            pages.append(page)
            if not page["hasMore"]:
                break
            number += 1
        self.findings += SEQUENCES.check_pages(operation_id, pages)
        return [item for page in pages for item in page["results"]]


def scenario(session: Session) -> None:
    """Create, list, page, update, and ask for unknown and foreign ids; every answer judged by the model."""
    cases = []
    for name in ("Refund for order 1", "Broken screen"):
        body = example_body("createCase")
        body["name"] = name
        status, case = session.call("createCase", body)
        assert status == 200, case
        cases.append(case)
    tasks = []
    for index, case in enumerate([cases[0]] * 3 + [cases[1]]):
        body = example_body("createTask")
        body.update(caseId=case["_id"], caseRefId=case["refId"], name=f"Call customer {index}")
        status, task = session.call("createTask", body)
        assert status == 200, task
        tasks.append(task)
    # The same kind of objects in another account and another stream: never listed here.
    _, foreign = session.call("createTask", example_body("createTask"), account=OTHER_ACCOUNT)
    session.call("createTask", example_body("createTask"), stream=OTHER_STREAM)

    listed = session.walk("getTasks", {"limit": 2})
    assert sorted(t["_id"] for t in listed) == sorted(t["_id"] for t in tasks)
    _, found = session.call("getTasks", {"searchText": "CUSTOMER 2"})
    assert [t["_id"] for t in found["results"]] == [tasks[2]["_id"]]
    _, case_page = session.call("getCases", {})
    by_id = {c["_id"]: c for c in case_page["results"]}
    assert by_id[cases[0]["_id"]]["taskIds"] == [t["_id"] for t in tasks[:3]]  # decision task-joins-case

    # An update merges, keeps read-only fields, moves updatedAt and lname follows the name.
    sent = {
        "name": "Renamed Task",
        "_id": "ti-forged",
        "refId": "TS999999",
        "createdAt": "2020-01-01T00:00:00Z",
    }
    status, updated = session.call("updateTask", sent, object_id=tasks[1]["_id"])
    assert status == 200, updated
    assert (updated["_id"], updated["refId"], updated["createdAt"]) == (
        tasks[1]["_id"],
        tasks[1]["refId"],
        tasks[1]["createdAt"],
    )
    assert (updated["name"], updated["lname"]) == ("Renamed Task", "renamed task")
    assert updated["updatedAt"] >= tasks[1]["updatedAt"]
    _, renamed = session.call("getTasks", {"searchText": "renamed"})
    assert [t["name"] for t in renamed["results"]] == ["Renamed Task"]
    status, case = session.call("updateCase", {"name": "Refund, second try"}, object_id=cases[0]["_id"])
    assert status == 200, case
    assert case["lname"] == "refund, second try"
    assert set(case) <= set(CONTRACT.operation("updateCase").response_schema().get("properties", {}))
    session.walk("getCases", {"limit": 1})

    # Unknown and foreign ids (decision unknown-ids).
    assert session.call("updateTask", {"name": "x"}, object_id="ti-unknown")[0] == 404
    assert session.call("updateTask", {"name": "x"}, object_id=foreign["_id"])[0] == 404
    assert session.call("updateTask", {"name": "x"}, object_id=tasks[0]["_id"], stream=OTHER_STREAM)[0] == 404
    assert session.call("updateCase", {"name": "x"}, object_id=tasks[0]["_id"])[0] == 404


def flask_session(app: Flask) -> Session:
    client = app.test_client()

    def send(method: str, path: str, sent: dict[str, str], body: Any) -> tuple[int, Any]:
        response = client.open(path, method=method, json=body, headers=sent)
        return response.status_code, response.json

    return Session(send)


def test_what_the_mock_creates_it_lists_pages_and_merges(make_app: Callable[..., Flask]) -> None:
    app = make_app(seed=SEED, empty_world=True)
    session = flask_session(app)
    scenario(session)
    assert [str(f) for f in session.findings] == []
    health = app.test_client().get("/__admin/health").json
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)


def test_the_seeded_world_is_listed_and_updated_as_the_spec_says(make_app: Callable[..., Flask]) -> None:
    app = make_app(seed=SEED)
    client = app.test_client()
    world = client.get("/__admin/state").json
    session = flask_session(app)
    for collection in CONTRACT.sequences.collections:
        for document in world[collection.name]:
            scope = (document["accountId"], document["iId"])
            session.model.bucket(collection.name, scope)[document["_id"]] = document
    # The documented account and stream of the docs' "Try it out" hold data, and so does the README's stream.
    account = CONTRACT.operation("getTasks").parameters_in("header")[0]["example"]
    stream = next(p for p in CONTRACT.operation("getTasks").parameters_in("path"))["example"]
    listed = session.walk("getTasks", {"limit": 5}, account=account, stream=stream)
    assert listed
    assert session.walk("getCases", {}, account=account, stream="st-1")
    task_id = next(p for p in CONTRACT.operation("updateTask").parameters_in("path") if p["name"] == "taskId")
    status, _ = session.call(
        "updateTask", {"name": "From the docs"}, account=account, stream=stream, object_id=task_id["example"]
    )
    assert status == 200
    session.walk("getTasks", {}, account=account, stream=stream)
    assert [str(f) for f in session.findings] == []


def test_the_world_is_exported_imported_and_reset(make_app: Callable[..., Flask]) -> None:
    client = make_app(seed=SEED).test_client()
    start = client.get("/__admin/state").json
    assert start["version"] == 1 and start["cases"] and start["tasks"]
    other = build_world(cases=2, tasks_per_case=1, seed=3)
    assert client.put("/__admin/state", json=other).json == {"loaded": {"cases": 2, "tasks": 2}}
    assert client.get("/__admin/state").json == other
    assert client.post("/__admin/reset").status_code == 200
    assert client.get("/__admin/state").json == start


def test_a_bad_world_is_refused_listing_every_problem_and_nothing_changes(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(seed=SEED).test_client()
    before = client.get("/__admin/state").json
    bad = copy.deepcopy(before)
    bad["version"] = 2
    del bad["cases"][0]["refId"]
    bad["tasks"][1]["_id"] = 5
    response = client.put("/__admin/state", json=bad)
    assert response.status_code == 400
    pointers = sorted(e["pointer"] for e in response.json["errors"])
    assert pointers == ["/body/cases/0/refId", "/body/tasks/1/_id", "/body/version"]
    assert client.put("/__admin/state", data=b"{nope", content_type="application/json").status_code == 400
    assert client.get("/__admin/state").json == before


def test_a_world_file_is_loaded_and_a_bad_one_stops_the_mock_naming_it(tmp_path: Path) -> None:
    good = tmp_path / "world.json"
    world = build_world(cases=1, tasks_per_case=2, seed=5)
    good.write_bytes(orjson.dumps(world))
    app = create_app(MockConfig(world=good, state_file=tmp_path / "a.sqlite3"))
    assert app.test_client().get("/__admin/state").json == world
    empty = create_app(MockConfig(empty_world=True, state_file=tmp_path / "b.sqlite3"))
    assert empty.test_client().get("/__admin/state").json == {"version": 1, "cases": [], "tasks": []}
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"version": 1, "cases": [{"_id": 1}]}))
    with pytest.raises(WorldError) as raised:
        create_app(MockConfig(world=bad, state_file=tmp_path / "c.sqlite3"))
    text = str(raised.value)
    assert str(bad) in text and "/tasks: 'tasks' is a required property" in text and "/cases/0/_id" in text


def test_the_world_survives_a_restart_on_its_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    session = flask_session(create_app(MockConfig(seed=SEED, empty_world=True, state_file=state)))
    status, task = session.call("createTask", example_body("createTask"))
    assert status == 200
    session.call("updateTask", {"name": "Kept"}, object_id=task["_id"])
    restarted = flask_session(create_app(MockConfig(seed=SEED, state_file=state)))  # not re-seeded
    restarted.model = session.model
    _, page = restarted.call("getTasks", {})
    assert [t["name"] for t in page["results"]] == ["Kept"]
    assert restarted.findings == []


def test_a_bad_state_file_stops_the_mock_with_a_message_naming_it(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    newer = tmp_path / "newer.sqlite3"
    create_app(MockConfig(state_file=newer))
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE store_meta SET value = '99' WHERE key = 'version'")
    blocked = tmp_path / "a-file" / "state.sqlite3"  # its folder is a file: nothing can be written there
    blocked.parent.write_text("")
    for path, words in ((garbage, "not a database"), (newer, "version 99"), (blocked, "cannot be opened")):
        with pytest.raises(StateFileError) as raised:
            create_app(MockConfig(state_file=path))
        assert str(path) in str(raised.value) and words in str(raised.value)


def test_serve_refuses_a_bad_state_file_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--state-file", str(garbage)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"Error: state file {garbage}" in done.stderr and "Traceback" not in done.stderr


def test_two_workers_share_the_world_over_http(serve: Callable[..., Server], tmp_path: Path) -> None:
    """Writes answered by one worker are read by the other: the scenario, judged, over real HTTP."""
    server = serve(
        "--workers", "2", "--seed", str(SEED), "--empty-world", "--state-file", str(tmp_path / "s.db")
    )
    with httpx.Client(base_url=server.base, timeout=30) as http:

        def send(method: str, path: str, sent: dict[str, str], body: Any) -> tuple[int, Any]:
            response = http.request(method, path, json=body, headers=sent)
            return response.status_code, response.json()

        def send_new(method: str, path: str, sent: dict[str, str], body: Any) -> tuple[int, Any]:
            response = http.request(method, path, json=body, headers={**sent, "Connection": "close"})
            return response.status_code, response.json()

        session = Session(send)
        scenario(session)
        # Listings sent at once, each on a new connection (each worker listens on its own socket, and a
        # kept-alive connection stays with one), reach both workers; each must show every write.
        session.send = send_new
        pids: set[int] = set()
        for _ in range(20):
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n: session.call("getTasks", {"limit": 1 + n % 3}), range(16)))
            pids = {entry["pid"] for entry in http.get("/__admin/requests").json()["requests"]}
            if len(pids) == 2:
                break
        assert [str(f) for f in session.findings] == []
    assert len(pids) == 2  # both workers answered


def test_a_worker_killed_mid_writes_loses_no_answered_write(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    """SIGKILL one of two workers while creates stream in: every create answered 200 is in the file,
    which stays readable, and a restart on it lists them all."""
    import os
    import signal
    import threading

    state = tmp_path / "state.sqlite3"
    args = ("--workers", "2", "--seed", str(SEED), "--empty-world", "--state-file", str(state))
    server = serve(*args)
    answered: list[str] = []
    stop = threading.Event()
    operation = CONTRACT.operation("createTask")

    def create() -> None:
        with httpx.Client(base_url=server.base, timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post(
                        operation.path(streamId=STREAM), json=example_body("createTask"), headers=headers()
                    )
                except httpx.HTTPError:
                    continue  # the killed worker's connection: not answered, so nothing is owed
                if response.status_code == 200:
                    answered.append(response.json()["_id"])

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        while len(answered) < 50:
            time.sleep(0.02)
        journal = httpx.get(server.url("/__admin/requests"), timeout=30).json()["requests"]
        os.kill(journal[0]["pid"], signal.SIGKILL)  # a worker of the server this test started
        count = len(answered)
        while len(answered) < count + 50:
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    server.stop()
    with sqlite3.connect(state) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restarted = serve(*args)
    stored = httpx.get(restarted.url("/__admin/state"), timeout=30).json()["tasks"]
    assert set(answered) <= {task["_id"] for task in stored}


def test_an_update_naming_an_option_stores_the_account_s_whole_option(make_app: Callable[..., Flask]) -> None:
    """Decision option-references: `{"name": "High"}` or an option's `_id` stores that option whole (the
    same object, id included, the account shows elsewhere); a name of no option leaves the field as it was.
    Every exchange is judged by the spec's relations."""
    app = make_app(seed=SEED)
    session = flask_session(app)
    for name, collection in (("updateTask", "tasks"), ("updateCase", "cases")):
        create = next(c.create for c in CONTRACT.sequences.collections if c.name == collection)
        assert create is not None
        status, created = session.call(create, example_body(create))
        assert status in (200, 201)
        status, _ = session.call(name, {"priority": {"name": "High"}}, object_id=created["_id"])
        assert status == 200
        world = app.test_client().get("/__admin/state").json
        stored = next(o for o in world[collection] if o["_id"] == created["_id"])
        assert {k: stored["priority"][k] for k in ("name", "color", "score")} == dict(PRIORITIES["High"])
        assert stored["priority"]["_id"] != created["priority"]["_id"]
        # Back to the default by its id: the option a new object shows, id and all.
        status, _ = session.call(
            name, {"priority": {"_id": created["priority"]["_id"]}}, object_id=created["_id"]
        )
        assert status == 200
        world = app.test_client().get("/__admin/state").json
        stored = next(o for o in world[collection] if o["_id"] == created["_id"])
        assert stored["priority"] == created["priority"]
    session.walk("getTasks", {})
    session.walk("getCases", {})
    assert [str(f) for f in session.findings] == []
    # A partial object naming no option: not decided; the mock keeps the stored field (never a broken one).
    task = next(iter(app.test_client().get("/__admin/state").json["tasks"]))
    answer = app.test_client().post(
        CONTRACT.operation("updateTask").path(streamId=task["iId"], taskId=task["_id"]),
        json={"status": {"name": "No such status"}},
        headers=headers(accountId=task["accountId"]),
    )
    assert answer.status_code == 200 and answer.json["status"] == task["status"]
