"""The proxy's model in rows (`mockserver/proxy/_model.py`) judges exactly as a `spec.Store` in memory.

The same exchanges (creates, updates and listings drawn from a generated world, some of them broken:
a stale name, an object listed to another scope, a changed id, a wrong flag) go to
`Sequences.observe` over a plain `Store(complete=False)` and over the proxy's `SharedModel`: every
exchange gets the same findings, and the models end equal. A listing reads only the items it lists.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from generators import build_world
from mockserver._state import StateStore
from mockserver.proxy import _model
from mockserver.proxy._model import RowStore, SharedModel
from spec import Exchange, Sequences, Store, load_spec

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
COLLECTIONS = {c.name: c for c in SEQUENCES.collections}


def scope_of(item: dict[str, Any]) -> tuple[str, str]:
    return item["accountId"], item["iId"]


def exchanges(seed: int) -> list[Exchange]:
    """Creates of a world's cases and tasks, renames, and listings of each scope, some broken."""
    rng = random.Random(seed)
    world = build_world(cases=4, tasks_per_case=3, seed=seed)
    out: list[Exchange] = []
    stored: dict[str, dict[str, Any]] = {}
    for name in ("cases", "tasks"):
        collection = COLLECTIONS[name]
        for item in world[name]:
            account, stream = scope_of(item)
            assert collection.create is not None
            out.append(Exchange(collection.create, account, stream, {}, 201, copy.deepcopy(item)))
            stored[item["_id"]] = item
    for name in ("tasks", "cases"):
        collection = COLLECTIONS[name]
        assert collection.update is not None and collection.list is not None
        for item in rng.sample(world[name], 3):
            account, stream = scope_of(item)
            renamed = f"Renamed {rng.randrange(1000)}"
            answer = {**stored[item["_id"]], "name": renamed, "lname": renamed.lower()}
            if rng.random() < 0.3:
                answer["lname"] = "stale"
            if rng.random() < 0.2:
                answer["refId"] = "XX000000"
            out.append(
                Exchange(
                    collection.update,
                    account,
                    stream,
                    {"name": renamed},
                    200,
                    answer,
                    {"streamId": stream, collection.path_id: item["_id"]},
                )
            )
            stored[item["_id"]] = answer
        for account, stream in sorted({scope_of(i) for i in world[name]}):
            items = [stored[i["_id"]] for i in world[name] if scope_of(i) == (account, stream)]
            if rng.random() < 0.3:  # listed to the wrong scope
                items = [stored[world[name][-1]["_id"]], *items]
            if rng.random() < 0.3 and items:  # an update lost
                items = [{**items[0], "name": "Old name", "lname": "old name"}, *items[1:]]
            limit = 2
            page = {
                "results": items[:limit],
                "page": 1,
                "limit": limit,
                "hasMore": len(items) > limit if rng.random() < 0.8 else len(items) <= limit,
                "totalPages": -(-len(items) // limit),
                "totalResults": len(items),
            }
            out.append(Exchange(collection.list, account, stream, {"limit": limit}, 200, page))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_judge_as_the_store_in_memory(tmp_path: Path, seed: int) -> None:
    memory = Store(complete=False)
    shared = SharedModel(StateStore(tmp_path / "proxy.sqlite3"))
    found_any = False
    for exchange in exchanges(seed):
        expected = [(f.check, f.pointer) for f in SEQUENCES.observe(memory, exchange)]
        got = [(f.check, f.pointer) for f in shared.observe(SEQUENCES, exchange)]
        assert got == expected, exchange
        found_any = found_any or bool(expected)
    assert found_any  # the broken exchanges were judged, not only the sound ones
    model = shared.model()
    assert model.updated == memory.updated
    assert model.objects == {
        name: {scope: dict(items) for scope, items in scopes.items() if items}
        for name, scopes in memory.objects.items()
    }


def test_a_listing_reads_only_the_items_it_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = StateStore(tmp_path / "proxy.sqlite3")
    shared = SharedModel(state)
    every = exchanges(4)
    for exchange in every:
        if COLLECTIONS["tasks"].create == exchange.operation:
            shared.observe(SEQUENCES, exchange)
    whole: list[str] = []
    original = _model._Bucket._load_all

    def spy(self: Any) -> None:
        whole.append(self._key[0])
        original(self)

    monkeypatch.setattr(_model._Bucket, "_load_all", spy)
    listing = next(e for e in every if e.operation == COLLECTIONS["tasks"].list)
    shared.observe(SEQUENCES, listing)
    assert whole == []


def test_finding_an_object_by_id_is_one_index_lookup(tmp_path: Path) -> None:
    """Which scope holds an id is found through the covering index, never by a scan of the collection
    (a scan made every listing's lookups grow with what the proxy had seen)."""
    import sqlite3

    state = StateStore(tmp_path / "proxy.sqlite3")
    shared = SharedModel(state)
    for exchange in exchanges(2):
        if COLLECTIONS["tasks"].create == exchange.operation:
            shared.observe(SEQUENCES, exchange)
    with sqlite3.connect(tmp_path / "proxy.sqlite3") as conn:
        conn.execute("ANALYZE")  # whatever the statistics say
        plan = " ".join(
            str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {_model.FIND_SCOPE}", ("tasks", "x"))
        )
        indexes = [row[1] for row in conn.execute("PRAGMA index_list(proxy_objects)")]
    assert "proxy_objects_by_id (collection=? AND id=?)" in plan and "SCAN" not in plan, plan
    assert "proxy_objects_id" not in indexes  # the older index is dropped


def test_an_older_file_s_model_moves_into_rows(tmp_path: Path) -> None:
    path = tmp_path / "proxy.sqlite3"
    state = StateStore(path)
    task = build_world(cases=1, tasks_per_case=1, seed=5)["tasks"][0]
    account, stream = scope_of(task)
    document = {"objects": {"tasks": [[account, stream, [task]]]}, "updated": [task["_id"]]}
    state.transaction(
        lambda conn: (
            conn.execute(
                "CREATE TABLE proxy_model (id INTEGER PRIMARY KEY CHECK (id = 1), doc BLOB NOT NULL)"
            ),
            conn.execute("INSERT INTO proxy_model (id, doc) VALUES (1, ?)", (orjson.dumps(document),)),
        )
    )
    model = SharedModel(state).model()
    assert model.objects == {"tasks": {(account, stream): {task["_id"]: task}}}
    assert model.updated == {task["_id"]}


def test_a_row_store_is_a_store() -> None:
    assert issubclass(RowStore, Store)


def _filled(tmp_path: Path) -> tuple[StateStore, str, tuple[str, str], list[dict[str, Any]]]:
    """A state file holding three tasks of one scope and one updated id, written by the proxy's model."""
    state = StateStore(tmp_path / "proxy.sqlite3")
    shared = SharedModel(state)
    tasks = build_world(cases=1, tasks_per_case=3, seed=7)["tasks"]
    create = COLLECTIONS["tasks"].create
    assert create is not None
    for task in tasks:
        shared.observe(SEQUENCES, Exchange(create, *scope_of(task), {}, 201, copy.deepcopy(task)))
    state.transaction(lambda conn: RowStore(conn).updated.add(tasks[0]["_id"]))
    return state, "tasks", scope_of(tasks[0]), tasks


def test_a_bucket_s_dict_methods_read_the_file(tmp_path: Path) -> None:
    state, collection, scope, tasks = _filled(tmp_path)
    ids = [t["_id"] for t in tasks]

    def check(conn: Any) -> None:
        def fresh() -> Any:
            return RowStore(conn).bucket(collection, scope)

        assert sorted(fresh().keys()) == sorted(ids)
        assert sorted(fresh()) == sorted(ids)
        assert sorted(reversed(fresh())) == sorted(ids)
        assert len(fresh()) == 3 and bool(fresh())
        assert sorted(t["_id"] for t in fresh().values()) == sorted(ids)
        assert sorted(k for k, _ in fresh().items()) == sorted(ids)
        copied = fresh().copy()
        assert type(copied) is dict and sorted(copied) == sorted(ids)
        assert sorted(dict(fresh())) == sorted(ids)
        assert sorted({**fresh()}) == sorted(ids)
        assert fresh().setdefault(ids[1], {"stale": True})["_id"] == ids[1]
        bucket = fresh()
        bucket.update({ids[2]: {"_id": ids[2], "name": "changed"}}, **{"x": {"_id": "x"}})
        bucket |= {"y": {"_id": "y"}}
        assert bucket[ids[2]]["name"] == "changed" and "x" in bucket and "y" in bucket
        assert len(bucket) == 5 and ids[0] in bucket

    state.transaction(check)


def test_a_bucket_refuses_what_it_would_answer_from_memory(tmp_path: Path) -> None:
    state, collection, scope, tasks = _filled(tmp_path)
    some = tasks[0]["_id"]
    refused: dict[str, Any] = {
        "pop": lambda b: b.pop(some),
        "pop with default": lambda b: b.pop("none", None),
        "popitem": lambda b: b.popitem(),
        "clear": lambda b: b.clear(),
        "del": lambda b: b.__delitem__(some),
        "==": lambda b: b == {},
        "!=": lambda b: b != {},
        "|": lambda b: b | {},
        "| from the left": lambda b: {} | b,
        "copy.copy": lambda b: copy.copy(b),
        "copy.deepcopy": lambda b: copy.deepcopy(b),
        "fromkeys": lambda b: type(b).fromkeys([some]),
    }

    def check(conn: Any) -> None:
        for name, call in refused.items():
            bucket = RowStore(conn).bucket(collection, scope)
            with pytest.raises(NotImplementedError, match="_Bucket"):
                call(bucket)
                pytest.fail(name)
        assert "_Bucket" in repr(RowStore(conn).bucket(collection, scope))

    state.transaction(check)
    # Nothing was removed from the file.
    assert len(SharedModel(state).model().items(collection, scope)) == 3


def test_the_updated_ids_read_the_file_or_refuse(tmp_path: Path) -> None:
    state, _, _, tasks = _filled(tmp_path)
    first, second = tasks[0]["_id"], tasks[1]["_id"]
    other = {"other"}
    refused: dict[str, Any] = {
        "remove": lambda u: u.remove(first),
        "discard": lambda u: u.discard(first),
        "pop": lambda u: u.pop(),
        "clear": lambda u: u.clear(),
        "copy": lambda u: u.copy(),
        "union": lambda u: u.union(other),
        "intersection": lambda u: u.intersection(other),
        "difference": lambda u: u.difference(other),
        "symmetric_difference": lambda u: u.symmetric_difference(other),
        "issubset": lambda u: u.issubset(other),
        "issuperset": lambda u: u.issuperset(other),
        "isdisjoint": lambda u: u.isdisjoint(other),
        "intersection_update": lambda u: u.intersection_update(other),
        "difference_update": lambda u: u.difference_update(other),
        "symmetric_difference_update": lambda u: u.symmetric_difference_update(other),
        "==": lambda u: u == other,
        "!=": lambda u: u != other,
        "<": lambda u: u < other,
        "<=": lambda u: u <= other,
        ">": lambda u: u > other,
        ">=": lambda u: u >= other,
        "|": lambda u: u | other,
        "| from the left": lambda u: other | u,
        "&": lambda u: u & other,
        "& from the left": lambda u: other & u,
        "-": lambda u: u - other,
        "- from the left": lambda u: other - u,
        "^": lambda u: u ^ other,
        "^ from the left": lambda u: other ^ u,
        "&=": lambda u: u.__iand__(other),
        "-=": lambda u: u.__isub__(other),
        "^=": lambda u: u.__ixor__(other),
        "copy.copy": lambda u: copy.copy(u),
        "copy.deepcopy": lambda u: copy.deepcopy(u),
    }

    def check(conn: Any) -> None:
        updated = RowStore(conn).updated
        assert first in updated and second not in updated
        assert list(updated) == [first] and len(updated) == 1 and bool(updated)
        updated.update([second])
        updated |= {"third"}
        assert sorted(updated) == sorted([first, second, "third"]) and len(updated) == 3
        for name, call in refused.items():
            with pytest.raises(NotImplementedError, match="_Updated"):
                call(RowStore(conn).updated)
                pytest.fail(name)

    state.transaction(check)
    assert SharedModel(state).model().updated == {first, second, "third"}
