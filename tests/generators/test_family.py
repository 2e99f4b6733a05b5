"""The five Case Management operations besides createTask: realistic valid bodies, every invalid kind."""

from __future__ import annotations

import pytest

from generators import invalid_kinds, invalid_requests, valid_requests
from generators._values import PRIORITY_NAMES, STATUS_NAMES
from spec import SchemaCheck, Sequences, load_spec
from tests.generators.helpers import drawn

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
UPDATES = [c.update for c in CONTRACT.sequences.collections if c.update]
LISTINGS = [c.list for c in CONTRACT.sequences.collections if c.list]


@pytest.mark.parametrize("operation", [op for op in CONTRACT.operations if op != "createTask"])
def test_valid_draws_validate(operation: str) -> None:
    check = SchemaCheck(CONTRACT.operation(operation).request_schema)
    for body in drawn(valid_requests(operation=operation), count=40, seed=2):
        assert [e.message for e in check.validator.iter_errors(body)] == [], body


@pytest.mark.parametrize("operation", UPDATES)
def test_every_invalid_kind_of_an_update_is_drawn(operation: str) -> None:
    for kind in invalid_kinds(operation=operation):
        found = drawn(invalid_requests(operation=operation, kinds={kind}), count=3, seed=1)
        assert found and all(bad.kind == kind for bad in found), kind


@pytest.mark.parametrize("operation", LISTINGS)
def test_listing_bodies_use_display_names_sort_forms_and_page_bounds(operation: str) -> None:
    listing = SEQUENCES.listing(operation)
    bodies = drawn(valid_requests(operation=operation), count=150, seed=3)
    names = {n.casefold() for n in (*PRIORITY_NAMES, *STATUS_NAMES)}
    assert all(v.casefold() in names for b in bodies for k in ("priority", "status") for v in b.get(k, []))
    sorts = [b["sortBy"] for b in bodies if "sortBy" in b]
    assert any(isinstance(s, str) for s in sorts) and any(isinstance(s, dict) for s in sorts)
    assert listing.sort is not None and listing.paging is not None
    assert all(s in listing.sort.keys for s in sorts if isinstance(s, str))
    assert all(1 <= b["limit"] <= listing.paging.maximum_limit for b in bodies if "limit" in b)


def test_case_bodies_are_realistic() -> None:
    from generators._casework import CASE_NAMES

    [create] = [c.create for c in CONTRACT.sequences.collections if c.name == "cases"]
    bodies = drawn(valid_requests(operation=create), count=60, seed=4)
    assert any(b["name"] in CASE_NAMES for b in bodies)
