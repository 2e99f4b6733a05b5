"""The proxy's model of the upstream's objects, kept in its state file one row per object.

`spec.Sequences.observe` judges an exchange against a `spec.Store`. The upstream may hold millions of
objects the proxy never saw, and the proxy sees every exchange: loading its whole model for each one
grew slower and larger with every object (a soak at 30 s: 76 exchanges/s, p99 0.9 s; at 60 s: 34/s,
p99 2.4 s, 227 MB per worker). `RowStore` is a `Store` whose buckets read an object from SQLite
only when the judge looks it up (`get`, `in`, `[]`); a listing judged with `complete=False` looks up
only the items it lists. `SharedModel.observe` runs the judge and writes back, in the same
transaction, every object the exchange created or changed (a parent that gained a member too).

The bucket and the `updated` set subclass `dict` and `set` (what `spec.Store` declares), so every
inherited method that would answer from the memory alone, which holds only what was read so far, is
either redefined over the file or raises `NotImplementedError`. The judge uses `get`, `in`, `[]` and
`[] =` on a bucket, and `add` and `in` on `updated`. C code that reads a set's table directly
(`set(updated)`, `frozenset(updated)`, `s.issubset(updated)`) bypasses Python methods and would see
an empty set: nothing here does that.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

import orjson

from mockserver._state import StateStore
from spec import Exchange, Finding, Sequences, Store

Scope = tuple[str, str]

_TABLES = (
    "CREATE TABLE IF NOT EXISTS proxy_objects (collection TEXT NOT NULL, account TEXT NOT NULL, "
    "stream TEXT NOT NULL, id TEXT NOT NULL, document BLOB NOT NULL, PRIMARY KEY (collection, account, stream, id))",
    # An object by its id alone (which scope holds it): covering, and named in the query, since
    # without statistics SQLite preferred scanning the primary key's index over the whole collection
    # (each lookup then touched every object the proxy had seen: the soak's throughput fell with it).
    "DROP INDEX IF EXISTS proxy_objects_id",
    "CREATE INDEX IF NOT EXISTS proxy_objects_by_id ON proxy_objects (collection, id, account, stream)",
    "CREATE TABLE IF NOT EXISTS proxy_updated (id TEXT PRIMARY KEY)",
)
# Which scope holds an object of this collection and id (one indexed lookup, whatever the model holds).
FIND_SCOPE = (
    "SELECT account, stream FROM proxy_objects INDEXED BY proxy_objects_by_id "
    "WHERE collection = ? AND id = ? LIMIT 1"
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

    def keys(self) -> Any:
        self._load_all()
        return dict.keys(self)

    def __reversed__(self) -> Iterator[str]:
        self._load_all()
        return dict.__reversed__(self)

    def copy(self) -> dict[str, Any]:  # a plain dict of every object in the file's bucket
        self._load_all()
        return dict(dict.items(self))

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._load(key)
        return dict.setdefault(self, key, default)

    def update(self, other: Any = (), /, **more: Any) -> None:
        # Written in memory; `write_back` stores what differs from what was read.
        pairs = other.items() if isinstance(other, Mapping) else other
        for key, value in [*pairs, *more.items()]:
            self[key] = value

    def __ior__(self, other: Any) -> _Bucket:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"<_Bucket {self._key!r}: {dict.__len__(self)} read of the file's>"

    def _unsupported(self, what: str) -> NoReturn:
        raise NotImplementedError(
            f"_Bucket.{what}: the proxy's model reads objects one id at a time from its SQLite file and never "
            "removes one; use get, in, [] and [] = (or values()/items(), which read the whole bucket)"
        )

    @classmethod
    def fromkeys(cls, *args: Any) -> Any:
        raise NotImplementedError("_Bucket.fromkeys: a bucket is made by RowStore.bucket over a connection")

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
    """The ids an update touched, in the file: `add` and `in` are all the judge asks of them (iteration,
    `len` and `update` work too; every other set method raises `NotImplementedError`)."""

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

    def __iter__(self) -> Iterator[str]:
        return iter([row[0] for row in self._conn.execute("SELECT id FROM proxy_updated").fetchall()])

    def __len__(self) -> int:
        count: int = self._conn.execute("SELECT COUNT(*) FROM proxy_updated").fetchone()[0]
        return count

    def update(self, *others: Iterable[str]) -> None:
        for other in others:
            for element in other:
                self.add(element)

    def __ior__(self, other: Any) -> _Updated:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return "<_Updated: the proxy_updated table>"

    def _unsupported(self, what: str) -> NoReturn:
        raise NotImplementedError(
            f"_Updated.{what}: the ids an update touched live in the proxy's SQLite file; use add, update, in, "
            "iteration or len (or SharedModel.model() for a plain set)"
        )


def _refuse(name: str) -> Any:
    """A method that raises its class's `_unsupported` for `name`."""

    def refused(self: _Bucket | _Updated, *args: Any, **kwargs: Any) -> NoReturn:
        self._unsupported(name)

    refused.__name__ = name
    return refused


# Every other dict method that would answer from (or change) the memory alone; copy.copy, copy.deepcopy
# and pickle go through __reduce_ex__.
_BUCKET_REFUSED = [
    "pop",
    "popitem",
    "clear",
    "__delitem__",
    "__eq__",
    "__ne__",
    "__or__",
    "__ror__",
    "__reduce_ex__",
]

# Every other set method would answer from (or change) the empty set in memory.
_UPDATED_REFUSED = [
    "remove",
    "discard",
    "pop",
    "clear",
    "copy",
    "union",
    "intersection",
    "difference",
    "symmetric_difference",
    "issubset",
    "issuperset",
    "isdisjoint",
    "intersection_update",
    "difference_update",
    "symmetric_difference_update",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__or__",
    "__ror__",
    "__and__",
    "__rand__",
    "__sub__",
    "__rsub__",
    "__xor__",
    "__rxor__",
    "__iand__",
    "__isub__",
    "__ixor__",
    "__reduce__",
    "__reduce_ex__",
]
for _cls, _names in ((_Bucket, _BUCKET_REFUSED), (_Updated, _UPDATED_REFUSED)):
    for _name in _names:
        setattr(_cls, _name, _refuse(_name))


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
            FIND_SCOPE,
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
