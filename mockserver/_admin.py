"""What the mock and the proxy both serve under `/__admin/`: JSON answers, health and the journal,
and the one builder of a journal entry both record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response, request
from werkzeug.wrappers import Request

from mockserver._gunicorn import JSON_CONTENT_TYPE
from mockserver._state import REDACTED_HEADERS, JournalEntry, StateStore, journal_time

HEALTH_PATH = "/__admin/health"
JOURNAL_PATH = "/__admin/requests"
# The part of a request body the journal keeps.
JOURNAL_BODY_MAX = 64 * 1024


def json_response(payload: Any, status: int = 200) -> Response:
    """An answer with a JSON body (orjson)."""
    return Response(orjson.dumps(payload), status, content_type=JSON_CONTENT_TYPE)


def add_journal_routes(app: Flask, store: StateStore) -> None:
    """`GET /__admin/requests[?limit=N]` (newest first) and `DELETE /__admin/requests` on `store`'s journal."""

    @app.get(JOURNAL_PATH)
    def journal() -> Response:
        limit = request.args.get("limit", type=int)
        entries = store.journal(limit=limit)
        return json_response({"requests": entries, "count": len(entries)})

    @app.delete(JOURNAL_PATH)
    def clear_journal() -> Response:
        return json_response({"cleared": store.clear_journal()})


def journal_body(data: bytes, note: str | None = None) -> str:
    """A body for the journal: its first JOURNAL_BODY_MAX bytes as text, and a note when that is not all."""
    text = data[:JOURNAL_BODY_MAX].decode("utf-8", "replace")
    if note is None and len(data) > JOURNAL_BODY_MAX:
        note = f"{len(data)} bytes, truncated"
    if not note:
        return text
    return f"{text}... [{note}]" if text else f"[{note}]"


def journal_entry(
    received: Request,
    *,
    status: int,
    body: bytes,
    findings: list[dict[str, Any]],
    answer: bytes,
    ms: float,
    headers: Mapping[str, str] | None = None,
    body_note: str | None = None,
) -> JournalEntry:
    """The journal's record of a request and its answer (the mock's and the proxy's alike).

    `headers` as the journal shows them (default: the request's, `auth` and cookies redacted);
    `body_note` replaces the truncation note of a body that was not read whole.
    """
    if headers is None:
        headers = {
            k: ("<redacted>" if k.lower() in REDACTED_HEADERS else v) for k, v in received.headers.items()
        }
    return JournalEntry(
        at=journal_time(),
        method=received.method,
        path=received.path,
        query=received.query_string.decode("latin-1"),
        headers=dict(headers),
        body=journal_body(body, body_note),
        status=status,
        violations=findings,
        answer=answer,
        ms=round(ms, 3),
    )
