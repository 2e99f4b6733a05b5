"""The journal, the refId counters and the admin endpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from mockserver._state import JournalEntry, StateStore
from tests.mockserver.support import ACCOUNT, headers, operation_path


def test_journal_lists_requests_newest_first_with_auth_redacted(
    client: FlaskClient, seed_body: dict[str, Any]
) -> None:
    client.post(operation_path(), json=seed_body, headers=headers())
    client.post(operation_path(), json={"caseId": 1}, headers=headers(Authorization="Bearer t", Cookie="c=1"))
    journal = client.get("/__admin/requests").json
    assert journal["count"] == 2
    newest, oldest = journal["requests"]
    assert (newest["status"], oldest["status"]) == (400, 200)
    assert newest["method"] == "POST" and newest["path"] == operation_path()
    for entry in (newest, oldest):
        hdrs = {k.lower(): v for k, v in entry["headers"].items()}
        assert hdrs["auth"] == "<redacted>"
        assert hdrs["accountid"] == ACCOUNT
    assert {k.lower(): v for k, v in newest["headers"].items()}["authorization"] == "<redacted>"
    assert newest["violations"][0]["pointer"].startswith("/body")
    assert newest["answer"]["errors"] == newest["violations"]
    assert oldest["violations"] == [] and oldest["answer"]["refId"] == "TS000001"
    assert '"caseId"' in oldest["body"]
    assert oldest["ms"] >= 0


def test_journal_is_not_polluted_by_admin_and_docs(client: FlaskClient) -> None:
    client.get("/__admin/health")
    client.get("/openapi.json")
    client.get("/nope")
    paths = [e["path"] for e in client.get("/__admin/requests").json["requests"]]
    assert paths == ["/nope"]


def test_clear_journal_and_reset(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    for _ in range(3):
        client.post(operation_path(), json=seed_body, headers=headers())
    assert client.get("/__admin/counters").json["refCounters"][ACCOUNT] == 3
    assert client.delete("/__admin/requests").json == {"cleared": 3}
    assert client.get("/__admin/requests").json["count"] == 0
    # Clearing the journal keeps the counters: the platform never reuses a refId.
    assert client.post(operation_path(), json=seed_body, headers=headers()).json["refId"] == "TS000004"
    assert client.post("/__admin/reset").status_code == 200
    # Back to the start world: only the counters its objects used remain.
    assert ACCOUNT not in client.get("/__admin/counters").json["refCounters"]
    assert client.post(operation_path(), json=seed_body, headers=headers()).json["refId"] == "TS000001"


def test_journal_keeps_only_the_last_entries(make_app: Callable[..., Flask]) -> None:
    client = make_app(journal_size=5).test_client()
    for index in range(8):
        client.get(f"/nope/{index}")
    paths = [e["path"] for e in client.get("/__admin/requests").json["requests"]]
    assert paths == [f"/nope/{i}" for i in range(7, 2, -1)]
    assert [e["path"] for e in client.get("/__admin/requests?limit=2").json["requests"]] == [
        "/nope/7",
        "/nope/6",
    ]


def test_big_bodies_are_truncated_in_the_journal(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    seed_body["desc"] = "d" * 200_000
    assert client.post(operation_path(), json=seed_body, headers=headers()).status_code == 200
    (entry,) = client.get("/__admin/requests").json["requests"]
    assert len(entry["body"]) < 70_000 and entry["body"].endswith("truncated]")


def test_counters_and_journal_survive_a_new_app_on_the_same_file(
    make_app: Callable[..., Flask], tmp_path: Path, seed_body: dict[str, Any]
) -> None:
    state = tmp_path / "kept.sqlite3"
    first = make_app(state_file=state).test_client()
    first.post(operation_path(), json=seed_body, headers=headers())
    second = make_app(state_file=state).test_client()
    assert second.post(operation_path(), json=seed_body, headers=headers()).json["refId"] == "TS000002"
    assert second.get("/__admin/requests").json["count"] == 2


def test_store_counts_from_threads_without_losing_any(tmp_path: Path) -> None:
    import threading

    store = StateStore(tmp_path / "threads.sqlite3")
    numbers: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            number = store.next_ref_number("acct")
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 101))


def test_store_journal_roundtrip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "j.sqlite3", journal_size=2)
    entry = JournalEntry("t", "POST", "/p", "", {"a": "b"}, "{}", 200, [], b'{"ok":true}', 1.0)
    ids = [store.record(entry) for _ in range(3)]
    assert ids == [1, 2, 3]
    assert [e["id"] for e in store.journal()] == [3, 2]
    assert store.journal()[0]["answer"] == {"ok": True}


def test_an_app_without_a_state_file_removes_its_temporary_one() -> None:
    import gc

    from mockserver import MockConfig, ProxyConfig, create_app, create_proxy_app

    builders: list[Callable[[], Flask]] = [
        lambda: create_app(MockConfig(seed=1)),
        lambda: create_proxy_app(ProxyConfig(upstream="http://127.0.0.1:9")),
    ]
    for build in builders:
        app = build()
        service = app.config.get("MOCK_SERVICE") or app.config["PROXY_SERVICE"]
        folder = service.store.path.parent
        del app
        gc.collect()
        # The folder lives as long as the store that uses it, not the app around it.
        assert folder.is_dir() and service.store.remember("k", "v", keep=10)
        del service
        gc.collect()
        assert not folder.exists()


def test_a_forked_worker_leaves_the_temporary_state_file_to_its_parent() -> None:
    import atexit
    import os

    from mockserver._state import open_store

    store = open_store(None, prefix="kore-test-", journal_size=10)
    folder = store.path.parent
    child = os.fork()
    if child == 0:  # a gunicorn worker: uses the store, then exits running the exit handlers
        code = 1
        try:
            store.remember("k", "child", keep=10)
            atexit._run_exitfuncs()  # what the interpreter runs on exit, weakref.finalize's included
            code = 0
        finally:
            os._exit(code)  # never back into pytest in the child
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert folder.is_dir() and not store.remember("k", "child", keep=10)
    del store
    import gc

    gc.collect()
    assert not folder.exists()


def test_reset_forgets_the_values_a_proxy_has_seen(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    assert store.remember("unique:x", "a", keep=10)
    store.reset()
    assert store.remember("unique:x", "a", keep=10)


def test_remember_says_new_once_and_forgets_the_oldest_beyond_keep(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    assert store.remember("unique:x", "a", keep=100) is True
    assert store.remember("unique:x", "a", keep=100) is False
    assert store.remember("unique:y", "a", keep=100) is True  # kinds are apart
    for n in range(200):
        store.remember("unique:x", f"v{n}", keep=100)
    assert store.remember("unique:x", "v199", keep=100) is False  # recent: kept
    assert store.remember("unique:x", "a", keep=100) is True  # the oldest: forgotten
    # Another process's connection sees the same records.
    assert StateStore(tmp_path / "state.sqlite3").remember("unique:x", "v199", keep=100) is False


def test_a_unit_is_one_transaction_seen_by_others_only_when_it_ends(tmp_path: Path) -> None:
    import sqlite3

    store = StateStore(tmp_path / "unit.sqlite3")
    entry = JournalEntry("t", "POST", "/p", "", {}, "{}", 200, [], b"{}", 1.0)
    other = sqlite3.connect(tmp_path / "unit.sqlite3", isolation_level=None)

    def seen() -> tuple[int, int]:
        journal = other.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        counter = other.execute("SELECT COUNT(*) FROM ref_counters").fetchone()[0]
        return journal, counter

    with store.unit():
        assert store.next_ref_number("acct") == 1
        store.record(entry)
        assert seen() == (0, 0)  # another connection (another worker) sees nothing yet
        assert store.next_ref_number("acct") == 2  # the unit sees its own writes
    assert seen() == (1, 1)


def test_a_unit_that_raises_rolls_back_every_statement_and_tells_the_hooks(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "unit.sqlite3")
    entry = JournalEntry("t", "POST", "/p", "", {}, "{}", 200, [], b"{}", 1.0)
    rolled_back: list[bool] = []
    store.on_rollback(lambda: rolled_back.append(True))
    try:
        with store.unit():
            store.next_ref_number("acct")
            store.record(entry)
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    assert rolled_back == [True]
    assert store.journal() == [] and store.counters() == {}
    # The connection is free again: a statement outside a unit commits at once.
    assert store.next_ref_number("acct") == 1
    assert store.counters() == {"acct": 1}


def test_a_scope_made_in_a_unit_that_rolls_back_is_not_remembered(tmp_path: Path) -> None:
    from mockserver._store import ObjectStore

    state = StateStore(tmp_path / "scopes.sqlite3")
    objects = ObjectStore(state, ("tasks",))
    try:
        with state.unit():
            objects.create("tasks", ("a1", "s1"), {"_id": "t1", "accountId": "a1", "iId": "s1"})
            assert objects.get("tasks", ("a1", "s1"), "t1") is not None
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    # The rolled-back scope's sid is handed to the next scope made; the old one must not answer for it.
    objects.create("tasks", ("a2", "s2"), {"_id": "t2", "accountId": "a2", "iId": "s2"})
    assert objects.get("tasks", ("a1", "s1"), "t1") is None
    assert objects.items("tasks", ("a1", "s1")) == []
    assert [t["_id"] for t in objects.items("tasks", ("a2", "s2"))] == ["t2"]
