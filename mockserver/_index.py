"""The listings' filters, order and pages answered by SQLite, from the spec's `Listing`s.

A listing over 100,000 stored objects cannot load them all: the store keeps, beside the objects,
what the listings compare, in the form the spec compares it, and lets SQLite's indexes filter, order
and cut the page. Nothing here decides what a listing means: every value kept is `spec.Listing`'s own
(`FilterRule.values_of`, `sort_value`, `SortRule.tie_value`) and every condition is the one
`FilterRule.condition` states; this module only writes them as rows and SQL.

- `sortkeys`: one row per object. For each distinct list of pointers a listing sorts by, `k<j>_m` (1
  when the object has no value: such objects sort last either way), `k<j>_r` and `k<j>_v` (the rank
  and value of `sort_value`), and `tb_r`/`tb_v` (the tie-break, ascending either way); two indexes per
  key, one per direction, so any order asked walks an index.
- `facets`: one row per (object, filter rule, value), indexed by scope, rule and value; each
  condition kind is a set of objects, combined by INTERSECT and EXCEPT.
- `scope_sizes`: how many objects each scope holds (the total of a listing with no filter).

These tables are derived, and brought up to date lazily: a write stores the object and moves its
`rev`; the next listing, in its own transaction, indexes every object whose `rev` is past the
indexed one. Creates stay cheap (their index rows are written in batches by the listings that need
them), a listing always sees every write committed before it, and a crash loses nothing (the index
is rebuilt from the objects whenever it is behind or of another layout).

`tests/mockserver/test_index.py` checks that the SQL answers exactly what `Listing.expected` answers.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

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
    `count` takes `params`; the pages, which select the `seq`s of the page in order, take `params`,
    the scope's `sid`, the limit and the offset.
    """

    kept: str | None
    params: tuple[Any, ...]
    nothing: bool
    count: str
    by_order: str
    by_set: str


class ListingIndex:
    """The derived tables, their upkeep and the queries that answer the listings in `listings`
    (collection name -> Listing). Objects are named by `seq` and scopes by `sid` (the store's)."""

    def __init__(self, listings: Mapping[str, Listing]) -> None:
        self.listings = dict(listings)
        keys: set[tuple[str, ...]] = set()
        for listing in self.listings.values():
            if listing.sort is not None:
                keys.update(listing.sort.keys.values())
        self.sort_keys: tuple[tuple[str, ...], ...] = tuple(sorted(keys))
        self._column = {pointers: f"k{j}" for j, pointers in enumerate(self.sort_keys)}
        names = [f"{self._column[p]}_{part}" for p in self.sort_keys for part in ("m", "r", "v")]
        self._names = [*names, "tb_r", "tb_v"]
        self._upsert_sql = (
            f"INSERT OR REPLACE INTO sortkeys (seq, sid, {', '.join(self._names)}) "
            f"VALUES ({', '.join('?' * (2 + len(self._names)))})"
        )

    # -- layout -------------------------------------------------------------------------------------

    def statements(self) -> list[str]:
        """The derived tables and their indexes (sort columns have no declared type: SQLite keeps
        numbers and text as given)."""
        columns = ", ".join(f"{n} INTEGER NOT NULL DEFAULT 1" if n.endswith("_m") else n for n in self._names)
        statements = [
            f"CREATE TABLE IF NOT EXISTS sortkeys (seq INTEGER PRIMARY KEY, sid INTEGER NOT NULL, {columns})",
            "CREATE TABLE IF NOT EXISTS facets (seq INTEGER NOT NULL, rule INTEGER NOT NULL, value NOT NULL, "
            "sid INTEGER NOT NULL, PRIMARY KEY (seq, rule, value)) WITHOUT ROWID",
            "CREATE INDEX IF NOT EXISTS facets_lookup ON facets (sid, rule, value, seq)",
            "CREATE TABLE IF NOT EXISTS scope_sizes (sid INTEGER PRIMARY KEY, size INTEGER NOT NULL)",
        ]
        for pointers in self.sort_keys:
            name = self._column[pointers]
            for direction in ("asc", "desc"):
                way = "" if direction == "asc" else " DESC"
                statements.append(
                    f"CREATE INDEX IF NOT EXISTS sortkeys_{name}_{direction} ON sortkeys "
                    f"(sid, {name}_m, {name}_r{way}, {name}_v{way}, tb_r, tb_v)"
                )
        return statements

    def layout(self) -> str:
        """A digest of the layout: a state file made for other listings is indexed anew at start."""
        return hashlib.sha256("\n".join(self.statements()).encode()).hexdigest()[:16]

    @staticmethod
    def drop(conn: sqlite3.Connection) -> None:
        """Forget every derived row (the objects stay): the next listing indexes them all again."""
        for table in ("sortkeys", "facets", "scope_sizes"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("DELETE FROM store_meta WHERE key = 'indexed_rev'")

    # -- upkeep -------------------------------------------------------------------------------------

    def catch_up(self, conn: sqlite3.Connection, collection_of: Mapping[int, str]) -> None:
        """Index every object written since the last catch-up (inside the caller's transaction)."""
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'indexed_rev'").fetchone()
        indexed = int(row[0]) if row is not None else 0
        latest = conn.execute("SELECT MAX(rev) FROM objects").fetchone()[0]
        if latest is None or latest <= indexed:
            return
        grown: dict[int, int] = {}
        for seq, sid, document in conn.execute(
            "SELECT seq, sid, document FROM objects WHERE rev > ? ORDER BY rev", (indexed,)
        ).fetchall():
            collection = collection_of.get(sid, "")
            parsed = orjson.loads(document)
            known = conn.execute("SELECT 1 FROM sortkeys WHERE seq = ?", (seq,)).fetchone()
            if known is None:
                grown[sid] = grown.get(sid, 0) + 1
            else:
                conn.execute("DELETE FROM facets WHERE seq = ?", (seq,))
            conn.execute(self._upsert_sql, (seq, sid, *self.sort_values(collection, parsed)))
            conn.executemany(
                "INSERT INTO facets (seq, rule, value, sid) VALUES (?, ?, ?, ?)",
                [(seq, rule, value, sid) for rule, value in self.facets(collection, parsed)],
            )
        conn.executemany(
            "INSERT INTO scope_sizes (sid, size) VALUES (?, ?) "
            "ON CONFLICT (sid) DO UPDATE SET size = size + excluded.size",
            list(grown.items()),
        )
        conn.execute(
            "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('indexed_rev', ?)", (str(latest),)
        )

    def sort_values(self, collection: str, document: Mapping[str, Any]) -> tuple[Any, ...]:
        """The sort columns' values for an object of `collection`."""
        listing = self.listings.get(collection)
        sort = listing.sort if listing is not None else None
        values: list[Any] = []
        for pointers in self.sort_keys:
            key = (
                sort_value(document, pointers)
                if sort is not None and pointers in sort.keys.values()
                else None
            )
            values += [1, None, None] if key is None else [0, key[0], _storable(key[1])]
        if sort is not None:
            rank, value = sort.tie_value(document)
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

    def query(self, collection: str, sid: int, body: Any, caller: str | None) -> Query:
        """The SQL of the pages `body` asks of `collection`'s listing in the scope `sid`."""
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
            select = _facet_select(condition, sid, index)
            (drop if condition.kind == "none-of" else keep).append(select)
        kept: str | None = None
        params: list[Any] = []
        if keep or drop:
            # Set algebra over the filters' facet rows: what every kept filter keeps, minus what a
            # none-of filter drops (INTERSECT and EXCEPT bind left to right, and yield distinct seqs).
            parts = keep or [("SELECT seq FROM sortkeys WHERE sid = ?", [sid])]
            kept = " INTERSECT ".join(sql for sql, _ in parts)
            if len(parts) == 1 and not drop:
                kept = f"SELECT DISTINCT seq FROM ({kept})"
            kept += "".join(f" EXCEPT {sql}" for sql, _ in drop)
            params = [v for _, values in (*parts, *drop) for v in values]
        order, indexed = "seq", ""
        if listing.sort is not None:
            pointers, direction = listing.sort.order_of(body)
            name = self._column[pointers]
            way = " DESC" if direction == "desc" else ""
            order = f"{name}_m, {name}_r{way}, {name}_v{way}, tb_r, tb_v"
            indexed = f" INDEXED BY sortkeys_{name}_{direction}"
        member = f"seq IN ({kept}) AND " if kept is not None else ""
        return Query(
            kept=kept,
            params=tuple(params),
            nothing=nothing,
            count=f"SELECT COUNT(*) FROM ({kept})" if kept is not None else "",
            by_order=f"SELECT seq FROM sortkeys{indexed} WHERE {member}sid = ? ORDER BY {order} LIMIT ? OFFSET ?",
            by_set=(
                f"SELECT seq FROM sortkeys NOT INDEXED WHERE seq IN ({kept}) AND sid = ? "
                f"ORDER BY {order} LIMIT ? OFFSET ?"
                if kept is not None
                else ""
            ),
        )


def _facet_select(condition: Condition, sid: int, rule: int) -> tuple[str, list[Any]]:
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
    return f"SELECT seq FROM facets WHERE sid = ? AND rule = ? AND {test}", [sid, rule, *test_params]


def _storable(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -_INT_LIMIT <= value <= _INT_LIMIT:
        return float(value)
    return value
