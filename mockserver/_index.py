"""The listings' order and pages answered by SQLite, from the spec's `Listing`s.

A listing over 100,000 stored objects cannot load them all: the store keeps, beside the objects,
what the listings sort by, in the form the spec compares it, and lets SQLite's indexes order and cut
the page. Which objects the filters keep is answered in memory (mockserver/_filters.py). Nothing here
decides what a listing means: every value kept is `spec.Listing`'s own (`sort_value`,
`SortRule.tie_value`) and every condition the one `FilterRule.condition` states.

- `sortkeys`: one row per object. For each distinct list of pointers a listing sorts by, `k<j>_m` (1
  when the object has no value: such objects sort last either way), `k<j>_r` and `k<j>_v` (the rank
  and value of `sort_value`), and `tb_r`/`tb_v` (the tie-break, ascending either way); two indexes per
  key, one per direction, so any order asked walks an index.
- `scope_sizes`: how many objects each scope holds (the total of a listing with no filter).

These tables are derived, and brought up to date lazily: a write stores the object and moves its
`rev`; the next listing, in its own transaction, indexes every object whose `rev` is past the
indexed one (or a write, once BACKLOG writes wait). A listing always sees every write committed
before it, and a crash loses nothing (the index is rebuilt from the objects whenever it is behind or
of another layout; a file of the layout with a `facets` table has it dropped).

`tests/mockserver/test_index.py` checks that the pages answer exactly what `Listing.expected` answers.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from spec import Condition, Listing, sort_value

# SQLite's integers are 64-bit; a larger number is compared as a float (Python compares them exactly,
# and no stored sort key or instant comes near).
_INT_LIMIT = 2**63 - 1


# Writes left to the next listing to index; a write that finds more waiting indexes them itself.
BACKLOG = 256


@dataclass(frozen=True)
class Query:
    """One listing page as SQL, planned from what the body asks: the conditions of its filters (by
    filter index; answered in memory by mockserver/_filters.py), `nothing` when a filter keeps no
    object, and the order asked, as the columns and index of `sortkeys` to walk.

    `by_order()` walks the scope in the asked order (cheap when most objects are kept: it stops at
    the page's end); `by_set(seqs)` sorts only the kept ones (cheap when few are).
    """

    sid: int
    conditions: tuple[tuple[int, Condition], ...]
    nothing: bool
    order: str
    indexed: str

    def by_order(self) -> tuple[str, tuple[Any, ...]]:
        return (
            f"SELECT k.seq FROM sortkeys k{self.indexed} WHERE k.sid = ? ORDER BY {self.order}",
            (self.sid,),
        )

    def by_set(self, seqs: list[int]) -> tuple[str, tuple[Any, ...]]:
        # A list is one bound JSON array: one statement whatever its length, and no limit on variables.
        return (
            "SELECT seq FROM sortkeys NOT INDEXED WHERE seq IN (SELECT value FROM json_each(?)) "
            f"ORDER BY {self.order} LIMIT ? OFFSET ?",
            (orjson.dumps(seqs).decode(),),
        )


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

    @staticmethod
    def waiting(conn: sqlite3.Connection) -> tuple[int, int]:
        """The last `rev` indexed and the last written (0 when none)."""
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'indexed_rev'").fetchone()
        latest = conn.execute("SELECT MAX(rev) FROM objects").fetchone()[0]
        return (int(row[0]) if row is not None else 0), (latest or 0)

    def behind(self, conn: sqlite3.Connection) -> bool:
        """Whether some write is not indexed yet."""
        indexed, latest = self.waiting(conn)
        return latest > indexed

    def catch_up(
        self, conn: sqlite3.Connection, collection_of: Mapping[int, str], *, behind: int = 0
    ) -> None:
        """Index every object written since the last catch-up (inside the caller's transaction), when
        more than `behind` writes wait: a write indexes the backlog once it reaches BACKLOG, so a
        listing never holds the file's lock for a long catch-up (other workers would time out)."""
        indexed, latest = self.waiting(conn)
        if latest <= indexed + behind:
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
            conn.execute(self._upsert_sql, (seq, sid, *self.sort_values(collection, parsed)))
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

    # -- a page -------------------------------------------------------------------------------------

    def query(self, collection: str, sid: int, body: Any, caller: str | None) -> Query:
        """The SQL of the pages `body` asks of `collection`'s listing in the scope `sid`."""
        listing = self.listings[collection]
        conditions: list[tuple[int, Condition]] = []
        nothing = False
        for index, rule in enumerate(listing.filters):
            condition = rule.condition(body, caller)
            if condition is None:
                continue
            if condition.kind == "nothing":
                nothing = True
                continue
            conditions.append((index, condition))
        order, indexed = "seq", ""
        if listing.sort is not None:
            pointers, direction = listing.sort.order_of(body)
            name = self._column[pointers]
            way = " DESC" if direction == "desc" else ""
            # Objects whose tie-breaks are equal too keep their creation order (Python's sort is stable).
            order = f"{name}_m, {name}_r{way}, {name}_v{way}, tb_r, tb_v, seq"
            indexed = f" INDEXED BY sortkeys_{name}_{direction}"
        return Query(sid=sid, conditions=tuple(conditions), nothing=nothing, order=order, indexed=indexed)


def _storable(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -_INT_LIMIT <= value <= _INT_LIMIT:
        return float(value)
    return value
