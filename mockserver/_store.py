"""The objects the mock keeps: the collections of `x-contract-sequences` per (account, stream).

They live in the SQLite file the workers already share (`StateStore`: one connection per process,
WAL), one row per object: its collection, account, stream and id, its creation order, the version
of its document's form, the columns listings sort and filter on most (indexed), and the object as a
JSON document. Every change is one transaction committed before the caller answers, so an answered
write is in the file; what a create, a listing or an update means is the spec's (`spec.Sequences`),
decided by the mock, not here.

The whole store is exported and imported as the spec's `World` document (`{"version": 1, "cases":
[...], "tasks": [...]}`: one list per collection, by the collection's name).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mockserver._errors import MockError
from mockserver._state import StateStore
from spec import MISSING, error_pointer, instant_ms, resolve_pointer

# The layout of the tables below; a state file of another layout stops the mock at start.
STORE_VERSION = 1
# The version of each stored object's document form (the World document's `version`).
DOCUMENT_VERSION = 1
# Where a stored object names its account and stream (decision `account-stream-scope`; the World
# document holds objects of several scopes, each saying its own).
ACCOUNT_POINTER = "/accountId"
STREAM_POINTER = "/iId"
ID_POINTER = "/_id"
# Columns kept beside the document for the listings' sort keys and date filters (an index each);
# the listing itself is still computed by `spec.Listing` over the scope's documents.
_INDEXED = {"created_ms": "/createdAt", "updated_ms": "/updatedAt", "lname": "/lname"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    account TEXT NOT NULL,
    stream TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_ms INTEGER,
    updated_ms INTEGER,
    lname TEXT,
    document TEXT NOT NULL,
    UNIQUE (collection, account, stream, id)
);
CREATE INDEX IF NOT EXISTS objects_created ON objects (collection, account, stream, created_ms);
CREATE INDEX IF NOT EXISTS objects_updated ON objects (collection, account, stream, updated_ms);
CREATE INDEX IF NOT EXISTS objects_lname ON objects (collection, account, stream, lname);
"""

Scope = tuple[str, str]


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


def _columns(document: Mapping[str, Any]) -> tuple[Any, ...]:
    values: list[Any] = []
    for column, pointer in _INDEXED.items():
        value = resolve_pointer(document, pointer)
        if column.endswith("_ms"):
            values.append(instant_ms(value) if value is not MISSING else None)
        else:
            values.append(value if isinstance(value, str) else None)
    return tuple(values)


class ObjectStore:
    """The collections' objects in the shared SQLite file; safe from any worker and thread."""

    def __init__(self, state: StateStore, collections: Iterable[str]) -> None:
        self.state = state
        self.collections = tuple(collections)
        try:
            self.state.transaction(self._prepare)
        except _Refused as exc:
            raise StateFileError(state.path, str(exc)) from None
        except sqlite3.Error as exc:
            raise StateFileError(state.path, f"cannot be used ({exc})") from None

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # One statement at a time: executescript would commit the transaction it runs in.
        for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            conn.execute(statement)
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO store_meta (key, value) VALUES ('version', ?)", (str(STORE_VERSION),))
        elif row[0] != str(STORE_VERSION):
            raise _Refused(f"its store layout is version {row[0]}; this mock reads version {STORE_VERSION}")

    # -- the world ----------------------------------------------------------------------------------

    def has_world(self) -> bool:
        """Whether a world was ever loaded into this file (a restart keeps it)."""
        row = self.state.transaction(
            lambda conn: conn.execute("SELECT value FROM store_meta WHERE key = 'world'").fetchone()
        )
        return row is not None

    def load(self, world: Mapping[str, Any], counters: Mapping[str, int]) -> None:
        """Replace every object by the world's, raising each `refId` counter to at least `counters`'."""

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM objects")
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

        self.state.transaction(replace)

    def export(self) -> dict[str, Any]:
        """Every stored object as the spec's `World` document, each collection in creation order."""
        rows = self.state.transaction(
            lambda conn: conn.execute("SELECT collection, document FROM objects ORDER BY seq").fetchall()
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
            for parent_collection, parent_id, field in joins:
                parent = self._get(conn, parent_collection, scope, parent_id)
                if parent is None:
                    continue
                members = parent.setdefault(field, [])
                if isinstance(members, list) and object_id not in members:
                    members.append(object_id)
                    self._put(conn, parent_collection, scope, parent_id, parent)

        self.state.transaction(insert)

    def get(self, collection: str, scope: Scope, object_id: str) -> dict[str, Any] | None:
        """One stored object of a scope, or None."""
        return self.state.transaction(lambda conn: self._get(conn, collection, scope, object_id))

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
            return changed

        return self.state.transaction(apply)

    def items(self, collection: str, scope: Scope) -> list[dict[str, Any]]:
        """The stored objects of one collection and scope, in creation order."""
        rows = self.state.transaction(
            lambda conn: conn.execute(
                "SELECT document FROM objects WHERE collection = ? AND account = ? AND stream = ? ORDER BY seq",
                (collection, *scope),
            ).fetchall()
        )
        return [orjson.loads(row[0]) for row in rows]

    # -- statements inside a transaction ------------------------------------------------------------

    @staticmethod
    def _insert(conn: sqlite3.Connection, collection: str, scope: Scope, document: Mapping[str, Any]) -> None:
        conn.execute(
            "INSERT INTO objects (collection, account, stream, id, version, created_ms, updated_ms, lname, "
            "document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                collection,
                *scope,
                str(document.get("_id", "")),
                DOCUMENT_VERSION,
                *_columns(document),
                orjson.dumps(document).decode(),
            ),
        )

    @staticmethod
    def _get(
        conn: sqlite3.Connection, collection: str, scope: Scope, object_id: str
    ) -> dict[str, Any] | None:
        row = conn.execute(
            "SELECT document FROM objects WHERE collection = ? AND account = ? AND stream = ? AND id = ?",
            (collection, *scope, object_id),
        ).fetchone()
        return orjson.loads(row[0]) if row is not None else None

    @staticmethod
    def _put(
        conn: sqlite3.Connection, collection: str, scope: Scope, object_id: str, document: Mapping[str, Any]
    ) -> None:
        conn.execute(
            "UPDATE objects SET version = ?, created_ms = ?, updated_ms = ?, lname = ?, document = ? "
            "WHERE collection = ? AND account = ? AND stream = ? AND id = ?",
            (
                DOCUMENT_VERSION,
                *_columns(document),
                orjson.dumps(document).decode(),
                collection,
                *scope,
                object_id,
            ),
        )


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
