"""The store's SQL listings answer exactly what `spec.Listing.expected` answers over the same objects.

A generated world (with awkward values added: ties, missing sort keys, non-ASCII case, equal
instants written differently) is loaded into an `ObjectStore`; Hypothesis draws listing bodies from
the generators (realistic filters, both sort forms, pages, skips, limits) plus filters on values the
world really holds, and every page, envelope and count must equal the spec's own interpreter's.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators import build_world, valid_requests
from mockserver import _store
from mockserver._index import BACKLOG, ListingIndex
from mockserver._state import StateStore
from mockserver._store import ObjectStore, scope_of
from spec import Listing, Sequences, load_spec, resolve_pointer

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
COLLECTIONS = {c.name: c for c in SEQUENCES.collections}
LISTINGS = {c.name: SEQUENCES.listing(c.list) for c in SEQUENCES.collections if c.list}


def awkward_world() -> dict[str, Any]:
    """A generated world plus objects that stress the order and the filters."""
    world = build_world(cases=6, tasks_per_case=3, seed=11)
    for collection in ("cases", "tasks"):
        items = world[collection]
        base = items[0]
        extra = []
        for number, change in enumerate(
            [
                {"name": "STRASSE öffnen", "createdAt": base["createdAt"]},  # tie on createdAt
                {"name": "straße Öffnen", "createdAt": base["createdAt"].replace("Z", "+00:00")},
                {"name": "", "dueDate": None, "ETA": None},  # missing sort keys
                {"name": "İstanbul case", "queues": ["Q-Ä", "q-ä"], "channel": None},
                {"name": "10 tasks", "priority": {**base.get("priority", {}), "score": 2**40}},
                {
                    "name": "Done",
                    "status": {**base.get("status", {}), "name": "Closed", "statusCategory": "closed"},
                },
            ]
        ):
            item = copy.deepcopy(base)
            item.update({k: v for k, v in change.items() if v is not None})
            for key, value in change.items():
                if value is None:
                    item.pop(key, None)
            item["_id"] = f"{base['_id'][:-4]}{number:04d}"
            extra.append(item)
        items.extend(extra)
    return world


WORLD = awkward_world()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ObjectStore:
    state = StateStore(tmp_path_factory.mktemp("index") / "state.sqlite")
    objects = ObjectStore(state, list(COLLECTIONS), LISTINGS)
    objects.load(WORLD, {})
    return objects


def held_values(collection: str) -> st.SearchStrategy[dict[str, Any]]:
    """Filters on values the world holds, so they keep some objects and drop others."""
    items = WORLD[collection]
    listing = LISTINGS[collection]
    overlays = []
    for rule in listing.filters:
        found = [resolve_pointer(item, pointer) for item in items for pointer in rule.stored]
        names = sorted(
            {v["name"] if isinstance(v, dict) else v for v in found if isinstance(v, str | dict)} - {None},
            key=str,
        )
        if rule.match == "any-of" and names:
            overlays.append(
                st.lists(st.sampled_from(names), min_size=1, max_size=3).map(
                    lambda v, f=rule.field: {f[1:]: v}
                )
            )
        elif rule.match == "contains":
            words = [w for item in items for w in str(item.get("name", "")).split()] or ["task"]
            overlays.append(st.sampled_from(words).map(lambda w, f=rule.field: {f[1:]: w.upper()}))
        elif rule.match in ("on-or-after", "on-or-before", "same-instant"):
            instants = [v for v in found if isinstance(v, str | int)]
            if instants:
                overlays.append(st.sampled_from(instants).map(lambda v, f=rule.field: {f[1:]: v}))
        elif rule.match == "flag":
            overlays.append(st.just({rule.field[1:]: True}))
    return (
        st.lists(st.sampled_from(overlays), max_size=3)
        .flatmap(lambda chosen: st.tuples(*chosen) if chosen else st.just(()))
        .map(lambda parts: {k: v for part in parts for k, v in part.items()})
    )


def callers(collection: str) -> st.SearchStrategy[str | None]:
    agents = sorted(
        {
            a
            for item in WORLD[collection]
            if isinstance(a := resolve_pointer(item, "/currAssignee/agentId"), str)
        }
    )
    return st.one_of(st.none(), st.just("u-nobody"), *(st.just(a) for a in agents[:3]))


def bodies(collection: str) -> st.SearchStrategy[dict[str, Any]]:
    listing_op = COLLECTIONS[collection].list
    assert listing_op is not None
    paging = st.fixed_dictionaries(
        {},
        optional={
            "page": st.integers(min_value=1, max_value=6),
            "limit": st.integers(min_value=1, max_value=8),
            "skip": st.integers(min_value=0, max_value=30),
        },
    )
    # The generators' bodies carry filters of their own that often keep nothing; half the bodies
    # start empty, so the filters on held values decide.
    return st.builds(
        lambda generated, held, pages: {**generated, **held, **pages},
        st.one_of(st.just({}), valid_requests(operation=listing_op)),
        held_values(collection),
        paging,
    )


def scopes() -> list[tuple[str, str]]:
    return sorted({scope_of(item) for collection in COLLECTIONS for item in WORLD[collection]})


@pytest.mark.parametrize("collection", sorted(LISTINGS))
@pytest.mark.parametrize("plan", ["by-order", "by-set"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sql_page_is_the_listing_s_page(
    store: ObjectStore, collection: str, plan: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both plans of a filtered page (walk the order's index, or sort the kept few) answer the same."""
    monkeypatch.setattr(_store, "_DENSE", 10**9 if plan == "by-order" else 0)
    body = data.draw(bodies(collection), label="body")
    caller = data.draw(callers(collection), label="caller")
    scope = data.draw(st.sampled_from(scopes()), label="scope")
    items = [item for item in WORLD[collection] if scope_of(item) == scope]
    expected = LISTINGS[collection].expected(items, body, caller=caller)
    page = store.page(collection, scope, body, caller)
    assert [item["_id"] for item in page.results] == [item["_id"] for item in expected.results]
    assert list(page.results) == list(expected.results)
    assert (page.page, page.limit, page.has_more, page.total_pages, page.total_results) == (
        expected.page,
        expected.limit,
        expected.has_more,
        expected.total_pages,
        expected.total_results,
    )


@pytest.mark.parametrize("collection", sorted(LISTINGS))
def test_only_none_of_filters_keep_the_scope_but_what_they_refuse(
    store: ObjectStore, collection: str
) -> None:
    """A body whose only filters refuse values (`unresolved`) is counted from what they refuse."""
    listing = LISTINGS[collection]
    flags = [
        {rule.field[1:]: True}
        for rule in listing.filters
        if rule.match == "flag" and isinstance(rule.keeps, dict) and "not-in" in rule.keeps
    ]
    assert flags, "the spec has a none-of filter"
    refused_somewhere = False
    for scope in scopes():
        items = [item for item in WORLD[collection] if scope_of(item) == scope]
        for flag in flags:
            for body in (flag, {**flag, "sortBy": {"name": "asc"}, "limit": 2, "page": 2}):
                expected = listing.expected(items, body)
                refused_somewhere |= expected.total_results < len(items)
                page = store.page(collection, scope, body, None)
                assert (page.total_results, list(page.results)) == (
                    expected.total_results,
                    list(expected.results),
                )
    assert refused_somewhere


def test_an_update_moves_an_object_in_the_order_and_filters(store: ObjectStore) -> None:
    """Sort columns and filter values follow an update (the rows are rewritten with the object)."""
    collection = "tasks"
    scope = scope_of(WORLD[collection][0])
    object_id = WORLD[collection][0]["_id"]
    body = {"searchText": "zzz-renamed", "sortBy": {"name": "asc"}}
    assert store.page(collection, scope, body, None).total_results == 0
    store.update(
        collection, scope, object_id, lambda stored: {**stored, "name": "ZZZ-renamed", "lname": "zzz-renamed"}
    )
    try:
        page = store.page(collection, scope, body, None)
        assert [t["_id"] for t in page.results] == [object_id]
        items = store.items(collection, scope)
        everything = store.page(collection, scope, {"sortBy": {"name": "desc"}, "limit": 100}, None)
        assert list(everything.results) == list(
            LISTINGS[collection].expected(items, {"sortBy": {"name": "desc"}, "limit": 100}).results
        )
    finally:
        store.load(WORLD, {})


def test_a_state_file_indexed_for_other_listings_is_indexed_anew(tmp_path: Path) -> None:
    """A file from before the listings were indexed (or for another spec) keeps its objects."""
    path = tmp_path / "state.sqlite"
    objects = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    objects.load(WORLD, {})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE store_meta SET value = 'another' WHERE key = 'layout'")
    again = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    assert again.export() == objects.export()
    scope = scope_of(WORLD["tasks"][0])
    items = [t for t in WORLD["tasks"] if scope_of(t) == scope]
    assert list(again.page("tasks", scope, {}, None).results) == list(
        LISTINGS["tasks"].expected(items, {}).results
    )


def test_a_state_file_of_the_layout_before_scopes_keeps_its_objects(tmp_path: Path) -> None:
    """The store's first layout (objects keyed by collection, account and stream) is read at start."""
    path = tmp_path / "state.sqlite"
    StateStore(path)
    documents = [("tasks", t) for t in WORLD["tasks"][:5]] + [("cases", c) for c in WORLD["cases"][:2]]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO store_meta VALUES ('version', '1'), ('world', 'loaded')")
        conn.execute(
            "CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, "
            "account TEXT NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, "
            "created_ms INTEGER, updated_ms INTEGER, lname TEXT, document TEXT NOT NULL)"
        )
        for collection, document in documents:
            account, stream = scope_of(document)
            conn.execute(
                "INSERT INTO objects (collection, account, stream, id, version, document) VALUES (?, ?, ?, ?, 1, ?)",
                (collection, account, stream, document["_id"], json.dumps(document)),
            )
    objects = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    assert objects.has_world()
    exported = objects.export()
    assert exported["tasks"] == WORLD["tasks"][:5] and exported["cases"] == WORLD["cases"][:2]
    scope = scope_of(WORLD["tasks"][0])
    items = [t for t in WORLD["tasks"][:5] if scope_of(t) == scope]
    assert list(objects.page("tasks", scope, {}, None).results) == list(
        LISTINGS["tasks"].expected(items, {}).results
    )


def test_a_write_is_listed_by_the_next_listing_of_any_process(tmp_path: Path) -> None:
    """Index rows are written by the listing after a write, whichever store (worker) wrote it."""
    path = tmp_path / "state.sqlite"
    writer = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    writer.load(WORLD, {})
    reader = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    task = copy.deepcopy(WORLD["tasks"][0])
    task["_id"] = task["_id"][:-4] + "ffff"
    task["name"] = task["lname"] = "written by another worker"
    scope = scope_of(task)
    body = {"searchText": "another worker"}
    assert reader.page("tasks", scope, body, None).total_results == 0
    writer.create("tasks", scope, task)
    assert [t["_id"] for t in reader.page("tasks", scope, body, None).results] == [task["_id"]]
    writer.update(
        "tasks", scope, task["_id"], lambda stored: {**stored, "name": "renamed", "lname": "renamed"}
    )
    assert reader.page("tasks", scope, body, None).total_results == 0
    assert reader.page("tasks", scope, {"searchText": "RENAMED"}, None).total_results == 1


def test_every_listing_sort_key_has_an_index_per_direction() -> None:
    index = ListingIndex(LISTINGS)
    indexes = [s for s in index.statements() if s.startswith("CREATE INDEX") and "ON sortkeys" in s]
    for pointers in index.sort_keys:
        name = index._column[pointers]
        assert sum(f"({'sid'}, {name}_m," in s for s in indexes) == 2, pointers


def test_listings_of_the_spec_are_all_indexed() -> None:
    assert set(LISTINGS) == {c.name for c in SEQUENCES.collections if c.list}
    assert all(isinstance(listing, Listing) for listing in LISTINGS.values())


def test_a_long_list_filter_is_one_bound_value(store: ObjectStore) -> None:
    """Any number of values in a list filter (SQLite allows 250,000 variables per statement)."""
    scope = scope_of(WORLD["tasks"][0])
    items = [t for t in WORLD["tasks"] if scope_of(t) == scope]
    body = {"status": [f"status {i}" for i in range(300_000)] + [items[0]["status"]["name"]]}
    page = store.page("tasks", scope, body, None)
    assert list(page.results) == list(LISTINGS["tasks"].expected(items, body).results)
    assert page.total_results >= 1


def test_writes_index_a_long_backlog_themselves(tmp_path: Path) -> None:
    """A listing never inherits more than BACKLOG writes to index inside its lock."""
    objects = ObjectStore(StateStore(tmp_path / "state.sqlite"), list(COLLECTIONS), LISTINGS)
    base = WORLD["tasks"][0]
    for number in range(BACKLOG * 2 + 10):
        task = {**copy.deepcopy(base), "_id": f"{base['_id'][:-6]}{number:06d}"}
        objects.create("tasks", scope_of(task), task)

    def waiting(conn: sqlite3.Connection) -> int:
        indexed, latest = objects.index.waiting(conn)
        return latest - indexed

    assert 0 < objects.state.transaction(waiting) <= BACKLOG
    assert objects.page("tasks", scope_of(base), {}, None).total_results == BACKLOG * 2 + 10
