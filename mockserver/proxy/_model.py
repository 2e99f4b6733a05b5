"""The proxy's model of the upstream's objects, kept in its state file one row per object.

`spec.Sequences.observe` judges an exchange against a `spec.Store`. The upstream may hold millions of
objects the proxy never saw, and the proxy sees every exchange: loading its whole model for each one
grew slower and larger with every object (a soak at 30 s: 76 exchanges/s, p99 0.9 s; at 60 s: 34/s,
p99 2.4 s, 227 MB per worker). `RowStore` is a `Store` whose buckets read an object from SQLite
only when the judge looks it up (`get`, `in`, `[]`); a listing judged with `complete=False` looks up
only the items it lists. `SharedModel.observe` runs the judge and writes back, in the same
transaction, every object the exchange created or changed (a parent that gained a member too).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson

from mockserver._state import StateStore
from spec import Exchange, Finding, Sequences, Store

Scope = tuple[str, str]

_TABLES = (
    "CREATE TABLE IF NOT EXISTS proxy_objects (collection TEXT NOT NULL, account TEXT NOT NULL, "
    "stream TEXT NOT NULL, id TEXT NOT NULL, document BLOB NOT NULL, PRIMARY KEY (collection, account, stream, id))",
    "CREATE INDEX IF NOT EXISTS proxy_objects_id ON proxy_objects (collection, id)",
    "CREATE TABLE IF NOT EXISTS proxy_updated (id TEXT PRIMARY KEY)",
)
_ABSENT: Any = object()


class _Bucket(dict[str, Any]):
    """The objects of one collection and scope, read from the file one id at a time, on demand."""

    def __init__(self, conn: sqlite3.Connection, collection: str, scope: Scope) -> None:
        super().__init__()
        self._conn, self._key = conn, (collection, *scope)
        self._read: dict[str, bytes | None] = {}  # id -> the bytes read (None: not in the file)
        self._whole = False

    def _load(self, object_id: str) -> None:
        if self._whole or object_id in self._read or dict.__contains__(self, object_id):
            return
        row = self._conn.execute(
            "SELECT document FROM proxy_objects WHERE collection = ? AND account = ? AND stream = ? AND id = ?",
            (*self._key, object_id),
        ).fetchone()
        self._read[object_id] = row[0] if row is not None else None
        if row is not None:
            dict.__setitem__(self, object_id, orjson.loads(row[0]))

    def _load_all(self) -> None:
        if self._whole:
            return
        for object_id, document in self._conn.execute(
            "SELECT id, document FROM proxy_objects WHERE collection = ? AND account = ? AND stream = ?",
            self._key,
        ).fetchall():
            if object_id not in self._read and not dict.__contains__(self, object_id):
                self._read[object_id] = document
                dict.__setitem__(self, object_id, orjson.loads(document))
        self._whole = True

    def get(self, key: Any, default: Any = None) -> Any:
        if isinstance(key, str):
            self._load(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            self._load(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._load(key)
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return dict.__iter__(self)

    def values(self) -> Any:
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        self._load_all()
        return dict.items(self)

    def __len__(self) -> int:
        self._load_all()
        return dict.__len__(self)

    def write_back(self) -> None:
        """Store every object set or changed since it was read (a parent's list grown in place too)."""
        for object_id, document in dict.items(self):
            encoded = orjson.dumps(document)
            if self._read.get(object_id, _ABSENT) != encoded:
                self._conn.execute(
                    "INSERT OR REPLACE INTO proxy_objects (collection, account, stream, id, document) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*self._key, object_id, encoded),
                )


class _Updated(set[str]):
    """The ids an update touched, in the file: `add` and `in` are all the judge asks of them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn

    def add(self, element: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO proxy_updated (id) VALUES (?)", (element,))

    def __contains__(self, element: object) -> bool:
        return (
            isinstance(element, str)
            and self._conn.execute("SELECT 1 FROM proxy_updated WHERE id = ?", (element,)).fetchone()
            is not None
        )


class RowStore(Store):
    """A `spec.Store(complete=False)` over the proxy's rows, valid for one transaction on `conn`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(objects={}, complete=False, updated=_Updated(conn))
        self._conn = conn

    def bucket(self, collection: str, scope: Scope) -> dict[str, dict[str, Any]]:
        scopes = self.objects.setdefault(collection, {})
        if scope not in scopes:
            scopes[scope] = _Bucket(self._conn, collection, scope)
        return scopes[scope]

    def items(self, collection: str, scope: Scope) -> list[dict[str, Any]]:
        return list(self.bucket(collection, scope).values())

    def find(self, collection: str, object_id: str) -> tuple[Scope, dict[str, Any]] | None:
        row = self._conn.execute(
            "SELECT account, stream FROM proxy_objects WHERE collection = ? AND id = ? LIMIT 1",
            (collection, object_id),
        ).fetchone()
        scopes = [(row[0], row[1])] if row is not None else []
        # Objects recorded by this exchange are not in the file yet.
        scopes += [
            s
            for s, bucket in self.objects.get(collection, {}).items()
            if dict.__contains__(bucket, object_id)
        ]
        for scope in scopes:
            found = self.bucket(collection, scope).get(object_id)
            if found is not None:
                return scope, found
        return None

    def write_back(self) -> None:
        for scopes in self.objects.values():
            for bucket in scopes.values():
                if isinstance(bucket, _Bucket):
                    bucket.write_back()


class SharedModel:
    """The proxy's model of the upstream's objects (`spec.Store(complete=False)`), shared by its workers.

    One row per object in the proxy's state file; each exchange of a collection's operation is judged
    and recorded in one write transaction (`StateStore.transaction`), so two workers never judge against
    a model missing the other's last exchange. An older file's model (one JSON document) is moved into
    rows at start.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store
        store.transaction(self._prepare)

    @staticmethod
    def _prepare(conn: sqlite3.Connection) -> None:
        for statement in _TABLES:
            conn.execute(statement)
        if conn.execute("SELECT name FROM sqlite_master WHERE name = 'proxy_model'").fetchone() is None:
            return
        row = conn.execute("SELECT doc FROM proxy_model WHERE id = 1").fetchone()
        if row is not None:
            data = orjson.loads(row[0])
            for collection, scopes in data.get("objects", {}).items():
                for account, stream, items in scopes:
                    conn.executemany(
                        "INSERT OR REPLACE INTO proxy_objects VALUES (?, ?, ?, ?, ?)",
                        [(collection, account, stream, item["_id"], orjson.dumps(item)) for item in items],
                    )
            conn.executemany(
                "INSERT OR IGNORE INTO proxy_updated (id) VALUES (?)", [(i,) for i in data.get("updated", [])]
            )
        conn.execute("DROP TABLE proxy_model")

    def observe(self, sequences: Sequences, exchange: Exchange) -> list[Finding]:
        """`sequences.observe(model, exchange)` on the shared model, which then records the exchange."""

        def run(conn: sqlite3.Connection) -> list[Finding]:
            model = RowStore(conn)
            findings = sequences.observe(model, exchange)
            model.write_back()
            return findings

        return self._store.transaction(run)

    def model(self) -> Store:
        """The whole model as a plain `spec.Store` (for tests and inspection)."""

        def read(conn: sqlite3.Connection) -> Store:
            store = Store(complete=False)
            for collection, account, stream, object_id, document in conn.execute(
                "SELECT collection, account, stream, id, document FROM proxy_objects"
            ).fetchall():
                store.bucket(collection, (account, stream))[object_id] = orjson.loads(document)
            store.updated = {r[0] for r in conn.execute("SELECT id FROM proxy_updated").fetchall()}
            return store

        return self._store.transaction(read)
