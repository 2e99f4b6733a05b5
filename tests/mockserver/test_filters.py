"""The listings' filters in memory (mockserver/_filters.py): bitsets, date ranges, updates, resets.

What a whole page holds is checked against `Listing.expected` in test_index.py; these check the
parts that page tests reach only with large worlds (checkpoints, rebuilds after many updates).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import _filters
from mockserver._filters import Bitset, _Instants, _Values, bits_of, positions_of
from mockserver._state import StateStore
from mockserver._store import ObjectStore, scope_of
from tests.mockserver.test_index import COLLECTIONS, LISTINGS, WORLD


@given(st.sets(st.integers(min_value=0, max_value=5000)))
def test_positions_and_bits_round_trip(positions: set[int]) -> None:
    bits = bits_of(positions, 5001)
    assert bits.bit_count() == len(positions)
    assert positions_of(bits) == sorted(positions)


@given(st.lists(st.integers(min_value=0, max_value=5000)))
def test_a_bitset_grown_in_place_holds_what_was_added(positions: list[int]) -> None:
    bitset = Bitset()
    for position in positions:
        bitset.add(position)
    assert positions_of(bitset.bits()) == sorted(set(positions))
    assert positions_of(Bitset(positions).bits()) == sorted(set(positions))
    copied = bitset.copy()
    copied.add(5001)
    assert positions_of(bitset.bits()) == sorted(set(positions))  # the copy is apart


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=40), min_size=10, max_size=120),
    low=st.none() | st.integers(min_value=-1, max_value=41),
    high=st.none() | st.integers(min_value=-1, max_value=41),
)
def test_a_date_range_is_the_values_in_it(values: list[int], low: int | None, high: int | None) -> None:
    """Ranges across prefix checkpoints (a checkpoint every 8 values here, at most 4 of them, so the
    spacing doubles as values come), values inserted out of order."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_filters, "CHECKPOINT", 8)
        patch.setattr(_filters, "PREFIXES", 4)
        _check_range(values, low, high)


@settings(max_examples=80, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), st.none() | st.integers(min_value=0, max_value=40)),
        min_size=1,
        max_size=150,
    ),
    low=st.none() | st.integers(min_value=-1, max_value=41),
    high=st.none() | st.integers(min_value=-1, max_value=41),
)
def test_updates_keep_date_ranges_right(
    writes: list[tuple[int, int | None]], low: int | None, high: int | None
) -> None:
    """Objects written again (an update: a new position, the value kept or changed) between ranges that
    make the prefixes: a range keeps exactly the live positions whose value is in it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_filters, "CHECKPOINT", 4)
        patch.setattr(_filters, "PREFIXES", 8)
        instants = _Instants()
        value_of: dict[int, int] = {}  # object -> its value
        position_of: dict[int, int] = {}  # object -> its live position
        size = 0
        for obj, changed in writes:
            if changed is not None:
                value = changed
            elif obj in value_of:  # an update that keeps the value
                value = value_of[obj]
            else:
                value = obj
            instants.add(float(value), size, replaces=position_of.get(obj))
            value_of[obj], position_of[obj] = value, size
            size += 1
            if size % 3 == 0:  # the prefixes made between writes
                instants.between(None, None, size)
        live = bits_of(position_of.values(), size)
        found = positions_of(instants.between(low, high, size) & live)
        expected = sorted(
            p
            for o, p in position_of.items()
            if (low is None or value_of[o] >= low) and (high is None or value_of[o] <= high)
        )
        assert found == expected


def test_the_prefixes_of_a_growing_facet_stay_few() -> None:
    """The prefixes' bits grow linearly with the objects, not with their square."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_filters, "CHECKPOINT", 8)
        patch.setattr(_filters, "PREFIXES", 4)
        instants = _Instants()
        for position in range(200):
            instants.add(float(position), position)
            instants.between(1.0, float(position), position + 1)  # makes every prefix it can
            assert len(instants.prefixes) <= _filters.PREFIXES + 1
        assert instants.every == 64  # 8 doubled until 4 * every >= 200


def _check_range(values: list[int], low: int | None, high: int | None) -> None:
    instants = _Instants()
    for position, value in enumerate(values):
        instants.add(float(value), position)
        if position % 3 == 0:  # every checkpoint made between inserts, so later inserts make them stale
            instants.between(None, None, position + 1)
    found = positions_of(instants.between(low, high, len(values)))
    expected = [p for p, v in enumerate(values) if (low is None or v >= low) and (high is None or v <= high)]
    assert found == expected


def test_a_value_held_by_many_becomes_a_bitset_and_answers_the_same() -> None:
    values = _Values()
    for position in range(_filters.BITSET_FROM * 3):
        values.add("often" if position % 2 else f"once-{position}", position)
    assert "often" in values.big and "once-0" in values.small
    size = _filters.BITSET_FROM * 3
    assert positions_of(values.bits(["often", "once-4", "never"], size)) == sorted(
        [p for p in range(size) if p % 2] + [4]
    )


def _task(number: int, name: str) -> dict[str, Any]:
    base = WORLD["tasks"][0]
    return {
        **copy.deepcopy(base),
        "_id": f"{base['_id'][:-6]}{number:06d}",
        "name": name,
        "lname": name.lower(),
    }


def _renamed(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda stored: {**stored, "name": name, "lname": name.lower()}


def test_an_object_updated_many_times_is_counted_once(tmp_path: Path) -> None:
    """Each update leaves a dead position; past as many dead as live the scope is indexed anew."""
    objects = ObjectStore(StateStore(tmp_path / "state.sqlite"), list(COLLECTIONS), LISTINGS)
    tasks = [_task(n, f"task {n}") for n in range(5)]
    scope = scope_of(tasks[0])
    for task in tasks:
        objects.create("tasks", scope, task)
    body = {"searchText": "renamed"}
    for round_number in range(12):  # 60 updates of 5 objects: rebuilt several times on the way
        for task in tasks:
            name = f"renamed {round_number}" if task is tasks[0] else f"task {round_number}"
            objects.update("tasks", scope, task["_id"], _renamed(name))
        page = objects.page("tasks", scope, body, None)
        assert [t["_id"] for t in page.results] == [tasks[0]["_id"]]
        assert objects.page("tasks", scope, {"searchText": "TASK"}, None).total_results == 4
    held = objects.filters._scopes
    assert all(
        scope_index.dead.bits().bit_count() == scope_index.dead_count() <= len(scope_index.position)
        for scope_index in held.values()
    )


def test_a_world_loaded_by_another_process_replaces_what_this_one_indexed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    reader = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    writer = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    writer.load(WORLD, {})
    scope = scope_of(WORLD["tasks"][0])
    items = [t for t in WORLD["tasks"] if scope_of(t) == scope]
    assert reader.page("tasks", scope, {"searchText": ""}, None).total_results == len(items)
    # The same number of objects, other names: only a new generation tells the reader.
    renamed = copy.deepcopy(WORLD)
    for task in renamed["tasks"]:
        task["name"] = task["lname"] = "reloaded"
    writer.load(renamed, {})
    assert reader.page("tasks", scope, {"searchText": "reloaded"}, None).total_results == len(items)


def test_a_page_is_read_while_another_worker_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing reads one snapshot without the file's write lock: a worker in the middle of a request's
    writes (its unit begun, not committed) does not hold the other workers' listings back."""
    from mockserver import _state

    monkeypatch.setattr(_state, "_BUSY_TIMEOUT_S", 0.2)  # waiting for the lock would raise at once
    path = tmp_path / "state.sqlite"
    writer = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    reader = ObjectStore(StateStore(path), list(COLLECTIONS), LISTINGS)
    first = _task(1, "first")
    scope = scope_of(first)
    writer.create("tasks", scope, first)
    assert reader.page("tasks", scope, {}, None).total_results == 1  # indexed by this listing
    with writer.state.unit():
        writer.create("tasks", scope, _task(2, "second"))  # the unit holds the write lock from here
        page = reader.page("tasks", scope, {"searchText": "first"}, None)
        assert [t["_id"] for t in page.results] == [first["_id"]]
        assert reader.page("tasks", scope, {}, None).total_results == 1  # the uncommitted one is not seen
    assert reader.page("tasks", scope, {}, None).total_results == 2  # committed: indexed, then read


def test_filters_that_share_a_facet_give_the_same_values() -> None:
    """Filters with the same stored pointers and `FilterRule.form` share one facet: their values agree."""
    shared = 0
    for collection, listing in LISTINGS.items():
        for first in listing.filters:
            for other in listing.filters:
                if first is other or (first.stored, first.form) != (other.stored, other.form):
                    continue
                shared += 1
                for item in WORLD[collection]:
                    assert first.values_of(item) == other.values_of(item), (first.field, other.field)
    assert shared  # startDate and endDate both read /createdAt as instants
