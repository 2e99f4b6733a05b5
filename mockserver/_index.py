"""The listings' filters, order and pages answered by SQLite, from the spec's `Listing`s.

A listing over 100,000 stored objects cannot load them all: the store keeps, beside each object, what
the listings compare, in the form the spec compares it, and lets SQLite's indexes filter, order and cut
the page. Nothing here decides what a listing means: every value kept is `spec.Listing`'s own
(`FilterRule.values_of`, `sort_value`, `SortRule.tie_value`) and every condition is the one
`FilterRule.condition` states; this module only writes them as columns, rows and SQL.

- Sort keys: for each distinct list of pointers a listing sorts by, three columns on the object's row:
  `k<j>_m` (1 when the object has no value: such objects sort last either way), `k<j>_r` and `k<j>_v`
  (the rank and value of `sort_value`), plus `tb_r`/`tb_v` (the tie-break, ascending either way). Two
  indexes per key, one per direction, so any order asked walks an index.
- Filters: one row per (object, filter rule, value) in `facets`, indexed by scope, rule and value; each
  condition kind is a sub-select of the objects whose values pass.

`tests/mockserver/test_index.py` checks that the SQL answers exactly what `Listing.expected` answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from spec import Condition, Listing, sort_value

# SQLite's integers are 64-bit; a larger number is compared as a float (Python compares them exactly,
# and no stored sort key or instant comes near).
_INT_LIMIT = 2**63 - 1


@dataclass(frozen=True)
class Query:
    """One listing page as SQL, planned from what the body filters on.

    `kept` selects the `seq` of every object the filters keep (None: no filter is sent, every object
    of the scope is kept; `nothing`: a filter keeps none). `count` counts them; `by_order` walks the
    asked order's index and keeps what `kept` holds (cheap when most objects are kept: it stops at the
    page's end); `by_set` looks the kept objects up and sorts only them (cheap when few are kept).
    `count` takes `params`; the pages take `params`, the collection, account and stream, the limit and
    the offset.
    """

    kept: str | None
    params: tuple[Any, ...]
    nothing: bool
    count: str
    by_order: str
    by_set: str


class ListingIndex:
    """The columns, rows and queries that answer the listings of the collections in `listings`."""

    def __init__(self, listings: Mapping[str, Listing]) -> None:
        self.listings = dict(listings)
        keys: set[tuple[str, ...]] = set()
        for listing in self.listings.values():
            if listing.sort is not None:
                keys.update(listing.sort.keys.values())
        self.sort_keys: tuple[tuple[str, ...], ...] = tuple(sorted(keys))
        self._column = {pointers: f"k{j}" for j, pointers in enumerate(self.sort_keys)}

    # -- layout -------------------------------------------------------------------------------------

    def columns(self) -> list[str]:
        """The sort columns' definitions (no declared type: SQLite keeps numbers and text as given)."""
        columns = []
        for pointers in self.sort_keys:
            name = self._column[pointers]
            columns += [f"{name}_m INTEGER NOT NULL DEFAULT 1", f"{name}_r", f"{name}_v"]
        return [*columns, "tb_r", "tb_v"]

    def column_names(self) -> list[str]:
        names = []
        for pointers in self.sort_keys:
            name = self._column[pointers]
            names += [f"{name}_m", f"{name}_r", f"{name}_v"]
        return [*names, "tb_r", "tb_v"]

    def indexes(self) -> list[str]:
        """An index per sort key and direction, and the facets' tables and index."""
        statements = []
        for pointers in self.sort_keys:
            name = self._column[pointers]
            for direction in ("asc", "desc"):
                order = "" if direction == "asc" else " DESC"
                statements.append(
                    f"CREATE INDEX IF NOT EXISTS objects_{name}_{direction} ON objects "
                    f"(collection, account, stream, {name}_m, {name}_r{order}, {name}_v{order}, tb_r, tb_v)"
                )
        statements += [
            "CREATE TABLE IF NOT EXISTS facets (seq INTEGER NOT NULL, rule INTEGER NOT NULL, value NOT NULL, "
            "collection TEXT NOT NULL, account TEXT NOT NULL, stream TEXT NOT NULL, "
            "PRIMARY KEY (seq, rule, value)) WITHOUT ROWID",
            "CREATE INDEX IF NOT EXISTS facets_lookup ON facets (collection, account, stream, rule, value, seq)",
            "CREATE TABLE IF NOT EXISTS scope_sizes (collection TEXT NOT NULL, account TEXT NOT NULL, "
            "stream TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (collection, account, stream)) WITHOUT ROWID",
        ]
        return statements

    def layout(self) -> str:
        """A digest of the layout: a state file made for other listings is re-indexed at start."""
        text = "\n".join([*self.columns(), *self.indexes()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- what an object adds ------------------------------------------------------------------------

    def sort_values(self, collection: str, document: Mapping[str, Any]) -> tuple[Any, ...]:
        """The values of `column_names()` for an object of `collection`."""
        listing = self.listings.get(collection)
        values: list[Any] = []
        for pointers in self.sort_keys:
            used = listing is not None and listing.sort is not None and pointers in listing.sort.keys.values()
            key = sort_value(document, pointers) if used else None
            values += [1, None, None] if key is None else [0, key[0], _storable(key[1])]
        if listing is not None and listing.sort is not None:
            rank, value = listing.sort.tie_value(document)
            values += [rank, _storable(value)]
        else:
            values += [None, None]
        return tuple(values)

    def facets(self, collection: str, document: Mapping[str, Any]) -> Iterator[tuple[int, Any]]:
        """(rule index, value) for every value each filter of `collection`'s listing compares."""
        listing = self.listings.get(collection)
        if listing is None:
            return
        for index, rule in enumerate(listing.filters):
            for value in dict.fromkeys(rule.values_of(document)):
                yield index, _storable(value)

    # -- a page -------------------------------------------------------------------------------------

    def query(self, collection: str, scope: tuple[str, str], body: Any, caller: str | None) -> Query:
        """The SQL of the pages `body` asks of `collection`'s listing in `scope`."""
        listing = self.listings[collection]
        keep: list[tuple[str, list[Any]]] = []
        drop: list[tuple[str, list[Any]]] = []
        nothing = False
        for index, rule in enumerate(listing.filters):
            condition = rule.condition(body, caller)
            if condition is None:
                continue
            if condition.kind == "nothing":
                nothing = True
                continue
            select = _facet_select(condition, collection, scope, index)
            (drop if condition.kind == "none-of" else keep).append(select)
        scoped = "collection = ? AND account = ? AND stream = ?"
        kept: str | None = None
        params: list[Any] = []
        if keep or drop:
            # Set algebra over the filters' facet rows: what every kept filter keeps, minus what a
            # none-of filter drops (INTERSECT and EXCEPT bind left to right, and yield distinct seqs).
            parts = keep or [(f"SELECT seq FROM objects WHERE {scoped}", [collection, *scope])]
            kept = " INTERSECT ".join(sql for sql, _ in parts)
            if len(parts) == 1 and not drop:
                kept = f"SELECT DISTINCT seq FROM ({kept})"
            kept += "".join(f" EXCEPT {sql}" for sql, _ in drop)
            params = [v for _, values in (*parts, *drop) for v in values]
        order, index_name = "seq", None
        if listing.sort is not None:
            pointers, direction = listing.sort.order_of(body)
            name = self._column[pointers]
            way = " DESC" if direction == "desc" else ""
            order = f"{name}_m, {name}_r{way}, {name}_v{way}, tb_r, tb_v"
            index_name = f"objects_{name}_{direction}"
        indexed = f" INDEXED BY {index_name}" if index_name else ""
        return Query(
            kept=kept,
            params=tuple(params),
            nothing=nothing,
            count=f"SELECT COUNT(*) FROM ({kept})" if kept is not None else "",
            by_order=(
                f"SELECT document FROM objects{indexed} WHERE seq IN ({kept}) AND {scoped} ORDER BY {order} "
                "LIMIT ? OFFSET ?"
                if kept is not None
                else f"SELECT document FROM objects{indexed} WHERE {scoped} ORDER BY {order} LIMIT ? OFFSET ?"
            ),
            by_set=(
                f"SELECT document FROM objects NOT INDEXED WHERE seq IN ({kept}) AND {scoped} "
                f"ORDER BY {order} LIMIT ? OFFSET ?"
                if kept is not None
                else ""
            ),
        )


def _facet_select(
    condition: Condition, collection: str, scope: tuple[str, str], rule: int
) -> tuple[str, list[Any]]:
    """The seqs of the scope's objects with a facet value `condition` tests for (for none-of: the
    values it refuses)."""
    operands = [_storable(o) for o in condition.operands]
    tests = {
        "any-of": (f"value IN ({', '.join('?' * len(operands))})", operands),
        "none-of": (f"value IN ({', '.join('?' * len(operands))})", operands),
        "contains": ("instr(value, ?) > 0", operands[:1]),
        "at-least": ("value >= ?", operands[:1]),
        "at-most": ("value <= ?", operands[:1]),
        "equal": ("value = ?", operands[:1]),
    }
    if condition.kind not in tests:
        raise ValueError(f"no SQL for the condition kind {condition.kind!r}")
    test, test_params = tests[condition.kind]
    return (
        f"SELECT seq FROM facets WHERE collection = ? AND account = ? AND stream = ? AND rule = ? AND {test}",
        [collection, *scope, rule, *test_params],
    )


def _storable(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -_INT_LIMIT <= value <= _INT_LIMIT:
        return float(value)
    return value
