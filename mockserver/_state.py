"""State shared by every worker: the request journal, the per-account `refId` counters, rate windows.

One SQLite file in WAL mode (embedded, no server). gunicorn forks workers after the app is built, and
a SQLite connection must not cross a fork, so each process (and each of its threads) opens its own
connection on first use. Every update is one statement, so concurrent workers never lose a count.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

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


# The seeded clock's tick counter shares the counters table; no account id can contain a NUL.
CLOCK_COUNTER = "\x00clock"


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


class StateStore:
    """The SQLite file every worker shares; safe to use from any process and thread."""

    def __init__(self, path: Path, *, journal_size: int = 1000) -> None:
        self.path = Path(path)
        self.journal_size = journal_size
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._open()
        try:
            conn.executescript(_SCHEMA)
        finally:
            # The creating process (gunicorn's master) must not hand a connection down to its workers.
            conn.close()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, each statement is its own transaction.
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode; only a power cut may lose the
        # last commits, which a mock can afford, and it saves an fsync per request.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            local.conn = self._open()
            local.pid = pid
        conn: sqlite3.Connection = local.conn
        return conn

    def next_ref_number(self, account_id: str) -> int:
        """The next `refId` number of an account, 1-based, shared by all workers."""
        row = self._conn.execute(
            "INSERT INTO ref_counters (account, value) VALUES (?, 1) "
            "ON CONFLICT (account) DO UPDATE SET value = value + 1 RETURNING value",
            (account_id,),
        ).fetchone()
        return int(row[0])

    def count_hit(self, account_id: str, window: int) -> int:
        """Count one request of an account in a rate window; the count so far, this one included."""
        conn = self._conn
        row = conn.execute(
            "INSERT INTO rate_windows (account, window, count) VALUES (?, ?, 1) "
            "ON CONFLICT (account, window) DO UPDATE SET count = count + 1 RETURNING count",
            (account_id, window),
        ).fetchone()
        count = int(row[0])
        if count == 1:  # a new window: forget the account's old ones
            conn.execute("DELETE FROM rate_windows WHERE account = ? AND window < ?", (account_id, window))
        return count

    def record(self, entry: JournalEntry) -> int:
        """Append a request to the journal, dropping the oldest beyond `journal_size`; its id."""
        conn = self._conn
        cursor = conn.execute(
            "INSERT INTO journal (at, method, path, query, headers, body, status, violations, answer, ms, pid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )
        row_id = int(cursor.lastrowid or 0)
        if row_id > self.journal_size:
            conn.execute("DELETE FROM journal WHERE id <= ?", (row_id - self.journal_size,))
        return row_id

    def journal(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent requests, newest first."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_JOURNAL_COLUMNS)} FROM journal ORDER BY id DESC LIMIT ?",
            (limit if limit is not None else self.journal_size,),
        ).fetchall()
        entries = []
        for row in rows:
            entry = dict(zip(_JOURNAL_COLUMNS, row, strict=True))
            for column in _JSON_COLUMNS:
                entry[column] = _loads(entry[column])
            entries.append(entry)
        return entries

    def clear_journal(self) -> int:
        """Forget every journaled request; how many there were."""
        return self._conn.execute("DELETE FROM journal").rowcount

    def reset(self) -> None:
        """Forget the journal, the `refId` counters and the rate windows."""
        conn = self._conn
        conn.execute("DELETE FROM journal")
        conn.execute("DELETE FROM ref_counters")
        conn.execute("DELETE FROM rate_windows")

    def counters(self) -> dict[str, int]:
        """The last `refId` number of each account."""
        return {
            account: int(value)
            for account, value in self._conn.execute("SELECT account, value FROM ref_counters")
            if account != CLOCK_COUNTER
        }


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
