"""The objects the mock keeps: the collections of `x-contract-sequences` per (account, stream).

They live in the SQLite file the workers already share (`StateStore`: one connection per process,
WAL), one row per object: its scope (`scopes`: collection, account, stream), its id, its creation
order, the version of its document's form, the object as a JSON document and the `rev` of its last
write. What the listings sort and filter on is derived from them (`ListingIndex`,
mockserver/_index.py), so a listing's page is a few indexed queries, never a load of the whole scope.
Every change is one transaction committed before the caller answers, so an answered write is in the
file; what a create, a listing or an update means is the spec's (`spec.Sequences`),
decided by the mock, not here.

The whole store is exported and imported as the spec's `World` document (`{"version": 1, "cases":
[...], "tasks": [...]}`: one list per collection, by the collection's name).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from mockserver._errors import MockError
from mockserver._filters import FilterIndex, new_generation
from mockserver._index import BACKLOG, ListingIndex
from mockserver._state import StateStore
from spec import ExpectedPage, Listing, error_pointer, resolve_pointer

# The layout of the tables below; a state file of another layout stops the mock at start, but for
# version 1 (objects by collection, account and stream, before scopes), which is read and rewritten.
STORE_VERSION = 2
_READ_VERSIONS = ("1", "2")
# The version of each stored object's document form (the World document's `version`).
DOCUMENT_VERSION = 1
# Where a stored object names its account and stream (decision `account-stream-scope`; the World
# document holds objects of several scopes, each saying its own).
ACCOUNT_POINTER = "/accountId"
STREAM_POINTER = "/iId"
ID_POINTER = "/_id"

# The core of the layout; the listings' tables and indexes follow from the spec (`ListingIndex`).
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scopes (sid INTEGER PRIMARY KEY, collection TEXT NOT NULL, "
    "account TEXT NOT NULL, stream TEXT NOT NULL, UNIQUE (collection, account, stream))",
    "CREATE TABLE IF NOT EXISTS objects (seq INTEGER PRIMARY KEY, sid INTEGER NOT NULL, id TEXT NOT NULL, "
    "version INTEGER NOT NULL, rev INTEGER NOT NULL, document TEXT NOT NULL, UNIQUE (sid, id))",
    "CREATE INDEX IF NOT EXISTS objects_rev ON objects (rev)",
    "CREATE TABLE IF NOT EXISTS start_world (id INTEGER PRIMARY KEY CHECK (id = 1), document BLOB NOT NULL)",
)

Scope = tuple[str, str]
_T = TypeVar("_T")
# A listing whose filters keep at least one object in this many walks the order's index; sparser
# ones look the kept objects up and sort them (mockserver/_index.py).
_DENSE = 16
# Reads of a page that find writes not yet indexed, each followed by indexing them, before the page is
# read under the file's write lock.
_READ_TRIES = 3
# The store's core layout before this version kept objects by (collection, account, stream) with
# their sort columns; such a file is read and written in this layout at start.
_OLD_OBJECTS = "SELECT collection, document FROM objects ORDER BY seq"


# Not frozen: an exception's traceback is set as it propagates through `with` blocks.
@dataclass
class StateFileError(MockError):
    """A state file the mock cannot use: unreadable, of another layout, or where it cannot write."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return (
            f"state file {self.path}: {self.problem}. Fix: point --state-file at a writable SQLite file "
            "this version of the mock made (or at a new path)."
        )


@dataclass
class WorldError(MockError):
    """A world document that is not the spec's `World`: every problem, and where it came from."""

    source: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        listed = "\n".join(f"  {p}" for p in self.problems)
        return (
            f"{self.source} is not a World document of the spec ({len(self.problems)} problem(s)):\n{listed}"
        )


def scope_of(document: Mapping[str, Any]) -> Scope:
    """The account and stream a stored object belongs to."""
    account, stream = resolve_pointer(document, ACCOUNT_POINTER), resolve_pointer(document, STREAM_POINTER)
    return (account if isinstance(account, str) else "", stream if isinstance(stream, str) else "")


class ObjectStore:
    """The collections' objects in the shared SQLite file; safe from any worker and thread."""

    def __init__(
        self, state: StateStore, collections: Iterable[str], listings: Mapping[str, Listing] | None = None
    ) -> None:
        self.state = state
        self.collections = tuple(collections)
        self.index = ListingIndex(listings or {})
        self.filters = FilterIndex(listings or {})
        # sid -> collection and (collection, account, stream) -> sid; a scope's sid never changes.
        # Only committed scopes are remembered: a scope made by a transaction that rolls back must not
        # lend its sid to the next scope (sids are reused), so those of the running one stay pending.
        self._collection_of: dict[int, str] = {}
        self._sids: dict[tuple[str, str, str], int] = {}
        self._pending: dict[int, str] = {}
        # Within a request's unit (StateStore.unit) a scope is committed with the unit; a unit that
        # rolls back takes the scopes it made with it.
        state.on_rollback(self._forget_scopes)
        try:
            self._transaction(self._prepare)
        except _Refused as exc:
            raise StateFileError(state.path, str(exc)) from None
        except sqlite3.Error as exc:
            raise StateFileError(state.path, f"cannot be used ({exc})") from None

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'version'").fetchone()
        if row is not None and row[0] not in _READ_VERSIONS:
            raise _Refused(f"its store layout is version {row[0]}; this mock reads version {STORE_VERSION}")
        old: list[tuple[str, str]] = []
        columns = [r[1] for r in conn.execute("PRAGMA table_info(objects)").fetchall()]
        if "collection" in columns:  # the layout before scopes and lazy listings: read it, write it anew
            old = conn.execute(_OLD_OBJECTS).fetchall()
            conn.execute("DROP TABLE objects")
        for statement in _SCHEMA:
            conn.execute(statement)
        layout = conn.execute("SELECT value FROM store_meta WHERE key = 'layout'").fetchone()
        if layout is None or layout[0] != self.index.layout():
            self.index.drop(conn)  # derived for other listings: the next listing indexes anew
        for statement in self.index.statements():
            conn.execute(statement)
        for collection, document in old:
            parsed = orjson.loads(document)
            self._insert(conn, collection, scope_of(parsed), parsed)
        if old:
            new_generation(conn)
        # Now, not in the first listing's lock; and in gunicorn's master, so the workers inherit it.
        self._index_all(conn)
        conn.execute(
            "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('version', ?), ('layout', ?)",
            (str(STORE_VERSION), self.index.layout()),
        )

    def _index_all(self, conn: sqlite3.Connection) -> None:
        """Bring the sort index and this process's filter index up to date with every object."""
        collections = self._collections(conn)
        self.index.catch_up(conn, collections)
        self.filters.sync(conn, collections)

    def _forget_scopes(self) -> None:
        self._collection_of.clear()
        self._sids.clear()
        self._pending.clear()

    # -- the world ----------------------------------------------------------------------------------

    def has_world(self) -> bool:
        """Whether a world was ever loaded into this file (a restart keeps it)."""
        row = self._transaction(
            lambda conn: conn.execute("SELECT value FROM store_meta WHERE key = 'world'").fetchone()
        )
        return row is not None

    def load(self, world: Mapping[str, Any], counters: Mapping[str, int]) -> None:
        """Replace every object by the world's, raising each `refId` counter to at least `counters`'."""

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM objects")
            for table in ("sortkeys", "scope_sizes"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM store_meta WHERE key = 'indexed_rev'")
            new_generation(conn)  # every process's filter index starts anew
            for collection in self.collections:
                for document in world.get(collection, []):
                    self._insert(conn, collection, scope_of(document), document)
            for key, value in counters.items():
                conn.execute(
                    "INSERT INTO ref_counters (account, value) VALUES (?, ?) "
                    "ON CONFLICT (account) DO UPDATE SET value = MAX(value, excluded.value)",
                    (key, value),
                )
            conn.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES ('world', 'loaded')")
            self._index_all(conn)  # one batch, not at the first listing

        self._transaction(replace)

    def keep_start(self, world: Mapping[str, Any]) -> None:
        """Keep the world `POST /__admin/reset` returns to (in the file: it may be large)."""
        encoded = orjson.dumps(world)
        self._transaction(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO start_world (id, document) VALUES (1, ?)", (encoded,)
            )
        )

    def start(self) -> dict[str, Any]:
        """The world kept by `keep_start` (an empty one when none was)."""
        row = self._transaction(
            lambda conn: conn.execute("SELECT document FROM start_world WHERE id = 1").fetchone()
        )
        world: dict[str, Any] = orjson.loads(row[0]) if row is not None else {}
        return world or {"version": DOCUMENT_VERSION, **{c: [] for c in self.collections}}

    def export(self) -> dict[str, Any]:
        """Every stored object as the spec's `World` document, each collection in creation order."""
        rows = self._transaction(
            lambda conn: conn.execute(
                "SELECT s.collection, o.document FROM objects o JOIN scopes s ON s.sid = o.sid ORDER BY o.seq"
            ).fetchall()
        )
        world: dict[str, Any] = {"version": DOCUMENT_VERSION, **{c: [] for c in self.collections}}
        for collection, document in rows:
            world.setdefault(collection, []).append(orjson.loads(document))
        return world

    # -- objects ------------------------------------------------------------------------------------

    def create(
        self,
        collection: str,
        scope: Scope,
        document: Mapping[str, Any],
        joins: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        """Store a new object; for each (parent collection, parent id, list field) of `joins` whose
        parent is stored in the same scope, add the object's id to that list, in the same transaction."""
        object_id = str(document.get("_id", ""))

        def insert(conn: sqlite3.Connection) -> None:
            self._insert(conn, collection, scope, document)
            self.index.catch_up(conn, self._collections(conn), behind=BACKLOG)
            for parent_collection, parent_id, field in joins:
                parent = self._get(conn, parent_collection, scope, parent_id)
                if parent is None:
                    continue
                members = parent.setdefault(field, [])
                if isinstance(members, list) and object_id not in members:
                    members.append(object_id)
                    self._put(conn, parent_collection, scope, parent_id, parent)

        self._transaction(insert)

    def get(self, collection: str, scope: Scope, object_id: str) -> dict[str, Any] | None:
        """One stored object of a scope, or None."""
        return self._transaction(lambda conn: self._get(conn, collection, scope, object_id))

    def update(
        self,
        collection: str,
        scope: Scope,
        object_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any] | None:
        """Replace a stored object by `change(stored)` in one transaction; the new object, or None when
        the scope holds no object of that id (nothing changes)."""

        def apply(conn: sqlite3.Connection) -> dict[str, Any] | None:
            stored = self._get(conn, collection, scope, object_id)
            if stored is None:
                return None
            changed = change(stored)
            self._put(conn, collection, scope, object_id, changed)
            self.index.catch_up(conn, self._collections(conn), behind=BACKLOG)
            return changed

        return self._transaction(apply)

    def items(self, collection: str, scope: Scope) -> list[dict[str, Any]]:
        """The stored objects of one collection and scope, in creation order."""

        def read(conn: sqlite3.Connection) -> list[Any]:
            sid = self._sid(conn, collection, scope, create=False)
            if sid is None:
                return []
            return conn.execute("SELECT document FROM objects WHERE sid = ? ORDER BY seq", (sid,)).fetchall()

        return [orjson.loads(row[0]) for row in self._transaction(read)]

    def page(
        self,
        collection: str,
        scope: Scope,
        body: Any,
        caller: str | None,
        *,
        answered_limit: int | None = None,
    ) -> ExpectedPage:
        """The page `body` asks of `collection`'s listing in `scope`: what `Listing.expected` answers
        over `items(collection, scope)`, worked out by SQLite's indexes."""
        listing = self.index.listings[collection]

        def read(conn: sqlite3.Connection) -> ExpectedPage | None:
            if self.index.behind(conn):
                return None  # written since the last indexing: index first, then read again
            collections = self._collections(conn)
            self.filters.sync(conn, collections)
            sid = self._sid(conn, collection, scope, create=False)
            query = self.index.query(collection, sid if sid is not None else -1, body, caller)
            kept = None
            if query.nothing or sid is None:
                total = 0
            elif not query.conditions:
                row = conn.execute("SELECT size FROM scope_sizes WHERE sid = ?", (sid,)).fetchone()
                total = row[0] if row is not None else 0
            else:
                kept = self.filters.kept(collection, sid, query.conditions)
                total = kept.total
            start, limit, number = listing.window(body, total, answered_limit=answered_limit)
            seqs: list[int] = []
            if total > start:
                sql, params = query.by_order()
                if kept is None:  # every object of the scope: the order's index, cut by SQLite
                    seqs = [r[0] for r in conn.execute(f"{sql} LIMIT ? OFFSET ?", (*params, limit, start))]
                elif total * _DENSE >= kept.size:
                    # Most objects kept: walk the order's index, skipping those the filters drop; the
                    # page's end is reached within _DENSE rows per object listed.
                    seqs = _walk(conn.execute(sql, params), kept.holds(), start, limit)
                else:  # few kept: SQLite sorts just them
                    sql, params = query.by_set(kept.seq_list())
                    seqs = [r[0] for r in conn.execute(sql, (*params, limit, start))]
            documents: list[Any] = []
            if seqs:
                found = dict(
                    conn.execute(
                        f"SELECT seq, document FROM objects WHERE seq IN ({', '.join('?' * len(seqs))})", seqs
                    ).fetchall()
                )
                documents = [orjson.loads(found[seq]) for seq in seqs]
            return Listing.envelope(documents, start, limit, number, total)

        def catch_up(conn: sqlite3.Connection) -> None:
            self.index.catch_up(conn, self._collections(conn))

        def indexed(conn: sqlite3.Connection) -> ExpectedPage:
            catch_up(conn)
            page = read(conn)
            assert page is not None  # indexed in this transaction, under the file's lock
            return page

        # A page is read from one snapshot without the file's write lock (other workers keep writing);
        # the sort index is brought up to date first, on its own, only when writes wait for it.
        for _ in range(_READ_TRIES):
            page = self.state.read(read)
            if page is not None:
                return page
            self._transaction(catch_up, apart=True)
        return self._transaction(indexed)  # writes keep landing between the two: both under the lock

    # -- statements inside a transaction ------------------------------------------------------------

    def _transaction(self, statements: Callable[[sqlite3.Connection], _T], *, apart: bool = False) -> _T:
        def run(conn: sqlite3.Connection) -> _T:
            self._pending = {}  # a retried transaction starts again
            return statements(conn)

        return self.state.transaction(run, apart=apart)

    def _collections(self, conn: sqlite3.Connection) -> Mapping[int, str]:
        count = conn.execute("SELECT COUNT(*) FROM scopes").fetchone()[0]
        if count == len(self._collection_of):
            return self._collection_of
        # Scopes made since: those past the newest known (a new account's first request), or, when
        # that does not add up (a sid handed out again after a rollback), all of them.
        columns = "SELECT sid, collection, account, stream FROM scopes"
        newest = max(self._collection_of, default=0)
        rows = conn.execute(f"{columns} WHERE sid > ?", (newest,)).fetchall()
        if len(self._collection_of) + len(rows) != count:
            rows = conn.execute(columns).fetchall()
        pending: dict[int, str] = {}
        for sid, collection, account, stream in rows:
            if sid in self._pending:
                pending[sid] = collection
            else:
                self._collection_of[sid] = collection
                self._sids[(collection, account, stream)] = sid
        return {**self._collection_of, **pending} if pending else self._collection_of

    def _sid(self, conn: sqlite3.Connection, collection: str, scope: Scope, *, create: bool) -> int | None:
        key = (collection, *scope)
        sid = self._sids.get(key)
        if sid is not None:
            return sid
        row = conn.execute(
            "SELECT sid FROM scopes WHERE collection = ? AND account = ? AND stream = ?", key
        ).fetchone()
        if row is None and create:
            row = conn.execute(
                "INSERT INTO scopes (collection, account, stream) VALUES (?, ?, ?) RETURNING sid", key
            ).fetchone()
            self._pending[row[0]] = collection
        if row is None:
            return None
        if row[0] not in self._pending:
            self._sids[key] = row[0]
            self._collection_of[row[0]] = collection
        return int(row[0])

    def _insert(
        self, conn: sqlite3.Connection, collection: str, scope: Scope, document: Mapping[str, Any]
    ) -> None:
        sid = self._sid(conn, collection, scope, create=True)
        conn.execute(
            "INSERT INTO objects (sid, id, version, rev, document) "
            "VALUES (?, ?, ?, (SELECT IFNULL(MAX(rev), 0) + 1 FROM objects), ?)",
            (sid, str(document.get("_id", "")), DOCUMENT_VERSION, orjson.dumps(document).decode()),
        )

    def _get(
        self, conn: sqlite3.Connection, collection: str, scope: Scope, object_id: str
    ) -> dict[str, Any] | None:
        sid = self._sid(conn, collection, scope, create=False)
        if sid is None:
            return None
        row = conn.execute(
            "SELECT document FROM objects WHERE sid = ? AND id = ?", (sid, object_id)
        ).fetchone()
        return orjson.loads(row[0]) if row is not None else None

    def _put(
        self,
        conn: sqlite3.Connection,
        collection: str,
        scope: Scope,
        object_id: str,
        document: Mapping[str, Any],
    ) -> None:
        sid = self._sid(conn, collection, scope, create=False)
        conn.execute(
            "UPDATE objects SET version = ?, document = ?, rev = (SELECT IFNULL(MAX(rev), 0) + 1 FROM objects) "
            "WHERE sid = ? AND id = ?",
            (DOCUMENT_VERSION, orjson.dumps(document).decode(), sid, object_id),
        )


def _walk(cursor: sqlite3.Cursor, keeps: Callable[[int], bool], start: int, limit: int) -> list[int]:
    """The seqs `cursor` yields that `keeps` keeps, from the `start`-th kept one, at most `limit`."""
    seqs: list[int] = []
    while len(seqs) < limit and (rows := cursor.fetchmany(256)):
        for (seq,) in rows:
            if not keeps(seq):
                continue
            if start:
                start -= 1
                continue
            seqs.append(seq)
            if len(seqs) == limit:
                break
    return seqs


class _Refused(sqlite3.DatabaseError):
    """A file SQLite reads but the store refuses (another layout); reported as a StateFileError."""


def world_problems(
    world: Any, check: Callable[[Any], Iterable[Any]], collections: Iterable[str]
) -> list[str]:
    """Every problem of a world document: its schema's (`check` gives jsonschema errors), then ids
    repeated within a collection and scope (the store keeps one object per id there)."""
    problems = [f"{error_pointer('', e) or '/'}: {e.message}" for e in check(world)]
    if problems or not isinstance(world, Mapping):
        return problems
    for collection in collections:
        seen: set[tuple[Scope, str]] = set()
        for index, document in enumerate(world.get(collection, [])):
            key = (scope_of(document), str(document.get("_id", "")))
            if key in seen:
                problems.append(
                    f"/{collection}/{index}/_id: {key[1]!r} is listed twice in its account and stream"
                )
            seen.add(key)
    return problems
