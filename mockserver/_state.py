"""State shared by every worker: the request journal, the per-account `refId` counters, rate windows.

One SQLite file in WAL mode (embedded, no server). gunicorn forks workers after the app is built, and
a SQLite connection must not cross a fork, so each process opens its own connection on first use; the
threads of a process share it, one statement at a time. Every update is one statement, committed
before it returns, so concurrent workers never lose a count and a crash loses no journal entry.

A request is answered inside `StateStore.unit()`: its statements (the `refId` counter, the clock, the
stored object, the journal entry) are one transaction, begun by the first and committed when the
unit ends, before the answer is sent. One commit per request instead of one per statement: each
commit writes every page it changed to the WAL again (measured ad hoc with `strace -c` on one worker
under load: 79 `pwrite` calls per createTask with four commits).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    status INTEGER NOT NULL,
    violations TEXT NOT NULL,
    answer TEXT NOT NULL,
    ms REAL NOT NULL,
    pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ref_counters (account TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rate_windows (
    account TEXT NOT NULL, window INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (account, window)
);
CREATE TABLE IF NOT EXISTS seen_values (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, UNIQUE (kind, key)
);
"""
_JOURNAL_COLUMNS = (
    "id",
    "at",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "status",
    "violations",
    "answer",
    "ms",
    "pid",
)
_JSON_COLUMNS = frozenset({"headers", "violations", "answer"})
# Entries beyond `journal_size` are deleted every this many inserts, not after each one (the journal
# never shows more than `journal_size` entries either way); one statement less per request.
_TRIM_EVERY = 64
# A statement that finds the file locked by another worker is retried after this short a sleep,
# doubling up to _BUSY_MAX_S: SQLite's own busy handler sleeps at least a millisecond, which the
# other worker's write (tens of microseconds) seldom needs.
_BUSY_FIRST_S = 0.00005
_BUSY_MAX_S = 0.002
_BUSY_TIMEOUT_S = 10.0


# The seeded clock's tick counter shares the counters table; no account id can contain a NUL.
CLOCK_COUNTER = "\x00clock"
# Counters whose key starts with this are the mock's own (the clock, fresh values of `unique`
# relations), not an account's `refId` counter: /__admin/counters leaves them out.
INTERNAL_COUNTER = "\x00"


# Headers the journal never shows (credentials): their value is kept as "<redacted>".
REDACTED_HEADERS = frozenset({"auth", "authorization", "cookie"})


def journal_time() -> str:
    """Now, as the journal writes it: UTC to the millisecond (`2025-06-04T10:18:00.725Z`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def printable(text: str, limit: int = 300) -> str:
    """Text safe for one log line: control characters escaped, long values cut."""
    cleaned = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


@dataclass(frozen=True)
class JournalEntry:
    """One request as the journal keeps it (auth already redacted)."""

    at: str
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: str
    status: int
    violations: list[dict[str, Any]]
    answer: bytes
    ms: float


class _Unit(threading.local):
    """This thread's open unit (`StateStore.unit`): whether one is open, and its connection once a
    statement began it."""

    active = False
    conn: sqlite3.Connection | None = None


class StateStore:
    """The SQLite file every worker shares; safe to use from any process and thread."""

    def __init__(self, path: Path, *, journal_size: int = 1000) -> None:
        self.path = Path(path)
        self.journal_size = journal_size
        # The threads of a process take turns on its one connection. gunicorn forks the workers from
        # a master that built the app but never used the store, so the lock is free in every fork.
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._units = _Unit()
        # Called when a unit rolls back, before another thread may use the connection: caches of
        # what the rolled-back statements wrote (ObjectStore's scope ids) must forget it.
        self._rollback_hooks: list[Callable[[], None]] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._open()
        try:
            conn.executescript(_SCHEMA)
        finally:
            # The creating process (gunicorn's master) must not hand a connection down to its workers.
            conn.close()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, each statement is its own transaction. timeout=0: a locked
        # file raises at once and _run retries with shorter sleeps than SQLite's busy handler.
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        # NORMAL is durable across application crashes in WAL mode; only a power cut may lose the
        # last commits, which a mock can afford, and it saves an fsync per request.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _here(self) -> sqlite3.Connection:
        """This process's connection (the caller holds `_lock`)."""
        pid = os.getpid()
        if self._connection is None or self._pid != pid:
            self._connection = self._open()  # a fork's copy of the parent's connection is never used
            self._pid = pid
        return self._connection

    def _run(self, statements: Callable[[sqlite3.Connection], _T], *, apart: bool = False) -> _T:
        """Run on this process's connection, one thread at a time, retrying while another worker writes;
        inside a unit, as part of the unit's transaction (`apart`: on their own while the unit has not
        begun, so that they do not begin it)."""
        units = self._units
        if units.active and not (apart and units.conn is None):
            conn = units.conn
            if conn is None:
                # The unit's first statement: the connection is this thread's until the unit ends.
                self._lock.acquire()
                try:
                    conn = self._here()
                    begin = conn
                    self._retry(lambda: begin.execute("BEGIN IMMEDIATE"))
                except BaseException:
                    self._lock.release()
                    raise
                units.conn = conn
            return statements(conn)
        with self._lock:
            conn = self._here()
            return self._retry(lambda: statements(conn))

    @contextmanager
    def unit(self) -> Iterator[None]:
        """Every statement run by this thread within the block, one transaction: begun (BEGIN IMMEDIATE)
        by the first, committed when the block ends, rolled back when it raises. Until then the
        connection is this thread's and the file's write lock this process's, so keep the block to
        one request's work. A unit within a unit is part of it."""
        units = self._units
        if units.active:
            yield
            return
        units.active, units.conn = True, None
        try:
            yield
        except BaseException:
            self._end_unit(commit=False)
            raise
        self._end_unit(commit=True)

    def _end_unit(self, *, commit: bool) -> None:
        units = self._units
        conn = units.conn
        units.active, units.conn = False, None
        if conn is None:
            return
        try:
            if commit and conn.in_transaction:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    commit = False
                    raise
        finally:
            if not commit:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                for hook in self._rollback_hooks:
                    hook()
            self._lock.release()

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever a unit rolls back (before another thread may use the connection)."""
        self._rollback_hooks.append(hook)

    def read(self, statements: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run read-only `statements` in one deferred transaction: one snapshot of the file, read without
        its write lock, so other workers write meanwhile. Inside a unit that has begun, part of it."""
        units = self._units
        if units.conn is not None:  # a unit has begun: its snapshot is the one to read
            return statements(units.conn)

        def run(conn: sqlite3.Connection) -> _T:
            conn.execute("BEGIN")
            try:
                return statements(conn)
            finally:
                conn.execute("COMMIT")  # nothing written: ends the snapshot

        return self._run(run, apart=True)

    def transaction(self, statements: Callable[[sqlite3.Connection], _T], *, apart: bool = False) -> _T:
        """Run `statements` as one transaction holding the write lock (BEGIN IMMEDIATE), committed before
        it returns; rolled back when they raise, and retried whole while another worker writes.
        Inside a unit they are a savepoint of the unit's transaction, committed with it; with `apart`,
        committed on their own if the unit has not begun (work any request may do, such as indexing,
        that need not hold the file's lock for the rest of the request)."""

        def run(conn: sqlite3.Connection) -> _T:
            if self._units.conn is conn:  # inside the unit that has begun on this connection
                conn.execute("SAVEPOINT step")
                try:
                    result = statements(conn)
                except BaseException:
                    conn.execute("ROLLBACK TO step")
                    conn.execute("RELEASE step")
                    raise
                conn.execute("RELEASE step")
                return result
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = statements(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return self._run(run, apart=apart)

    def close(self) -> None:
        """Close this process's connection (gunicorn's master, before it forks the workers)."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    @staticmethod
    def _retry(statements: Callable[[], _T]) -> _T:
        delay = _BUSY_FIRST_S
        deadline = 0.0
        while True:
            try:
                return statements()
            except sqlite3.OperationalError as exc:
                # Each statement is its own transaction: when the file is locked, it changed nothing.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                now = time.monotonic()
                if not deadline:
                    deadline = now + _BUSY_TIMEOUT_S
                elif now > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, _BUSY_MAX_S)

    def next_ref_number(self, account_id: str) -> int:
        """The next `refId` number of an account, 1-based, shared by all workers."""
        row = self._run(
            lambda conn: conn.execute(
                "INSERT INTO ref_counters (account, value) VALUES (?, 1) "
                "ON CONFLICT (account) DO UPDATE SET value = value + 1 RETURNING value",
                (account_id,),
            ).fetchone()
        )
        return int(row[0])

    def count_hit(self, account_id: str, window: int) -> int:
        """Count one request of an account in a rate window; the count so far, this one included."""
        row = self._run(
            lambda conn: conn.execute(
                "INSERT INTO rate_windows (account, window, count) VALUES (?, ?, 1) "
                "ON CONFLICT (account, window) DO UPDATE SET count = count + 1 RETURNING count",
                (account_id, window),
            ).fetchone()
        )
        count = int(row[0])
        if count == 1:  # a new window: forget the account's old ones
            self._run(
                lambda conn: conn.execute(
                    "DELETE FROM rate_windows WHERE account = ? AND window < ?", (account_id, window)
                )
            )
        return count

    def record(self, entry: JournalEntry) -> int:
        """Append a request to the journal (the oldest beyond `journal_size` are dropped); its id."""
        row = (
            entry.at,
            entry.method,
            entry.path,
            entry.query,
            orjson.dumps(dict(entry.headers)).decode(),
            entry.body,
            entry.status,
            orjson.dumps(entry.violations).decode(),
            entry.answer.decode("utf-8", "replace"),
            entry.ms,
            os.getpid(),
        )
        cursor = self._run(
            lambda conn: conn.execute(
                "INSERT INTO journal (at, method, path, query, headers, body, status, violations, answer, ms, "
                "pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )
        row_id = int(cursor.lastrowid or 0)
        if row_id > self.journal_size and row_id % _TRIM_EVERY == 0:
            self._run(
                lambda conn: conn.execute("DELETE FROM journal WHERE id <= ?", (row_id - self.journal_size,))
            )
        return row_id

    def journal(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent requests (at most `journal_size`), newest first."""
        size = self.journal_size if limit is None else min(limit, self.journal_size)
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT {', '.join(_JOURNAL_COLUMNS)} FROM journal ORDER BY id DESC LIMIT ?", (size,)
            ).fetchall()
        )
        entries = []
        for row in rows:
            entry = dict(zip(_JOURNAL_COLUMNS, row, strict=True))
            for column in _JSON_COLUMNS:
                entry[column] = _loads(entry[column])
            entries.append(entry)
        return entries

    def remember(self, kind: str, key: str, *, keep: int) -> bool:
        """Record `key` under `kind`; True when no process had recorded it before (one atomic statement).

        The newest `keep` records (all kinds together) are kept; older ones are forgotten in batches.
        """
        cursor = self._run(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO seen_values (kind, key) VALUES (?, ?)", (kind, key)
            )
        )
        new = cursor.rowcount == 1
        row_id = int(cursor.lastrowid or 0) if new else 0
        if row_id > keep and row_id % _TRIM_EVERY == 0:
            self._run(lambda conn: conn.execute("DELETE FROM seen_values WHERE id <= ?", (row_id - keep,)))
        return new

    def clear_journal(self) -> int:
        """Forget every journaled request; how many the journal showed."""
        deleted: int = self._run(lambda conn: conn.execute("DELETE FROM journal").rowcount)
        return min(deleted, self.journal_size)

    def reset(self) -> None:
        """Forget the journal, the `refId` counters, the rate windows and the values a proxy has seen.

        A reset mock hands out its ids and refIds again from the start; a proxy sharing the file must
        not take them for repeats.
        """

        def forget(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM journal")
                conn.execute("DELETE FROM ref_counters")
                conn.execute("DELETE FROM rate_windows")
                conn.execute("DELETE FROM seen_values")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        self._run(forget)

    def counters(self) -> dict[str, int]:
        """The last `refId` number of each account."""
        rows = self._run(lambda conn: conn.execute("SELECT account, value FROM ref_counters").fetchall())
        return {account: int(value) for account, value in rows if not account.startswith(INTERNAL_COUNTER)}


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # an answer that was not JSON is kept as sent


def window_of(now: float, per_seconds: int) -> tuple[int, float]:
    """The rate window holding `now`, and the seconds until it ends."""
    window = int(now // per_seconds)
    return window, (window + 1) * per_seconds - now


def wall_clock() -> float:
    """Seconds since the epoch (rate windows follow real time even when task time is frozen)."""
    return time.time()


def open_store(state_file: Path | None, *, prefix: str, journal_size: int) -> StateStore:
    """The store of `state_file`; without one, of a file in a new temporary folder that goes with the store.

    For an app built without --state-file outside `serve` (tests, an embedding program). The folder is
    removed when the store is collected or at exit, by the process that made it: a fork of this process
    (a gunicorn worker) exits without removing it, since the other processes still use it.
    """
    if state_file is not None:
        return StateStore(state_file, journal_size=journal_size)
    temp_dir = tempfile.mkdtemp(prefix=prefix)
    store = StateStore(Path(temp_dir) / "state.sqlite3", journal_size=journal_size)
    weakref.finalize(store, _remove_if_made_here, temp_dir, os.getpid())
    return store


def _remove_if_made_here(temp_dir: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(temp_dir, ignore_errors=True)
