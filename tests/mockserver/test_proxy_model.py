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
