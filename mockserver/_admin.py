"""What the mock and the proxy both serve under `/__admin/`: JSON answers, health and the journal."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response, request

from mockserver._gunicorn import JSON_CONTENT_TYPE
from mockserver._state import StateStore

HEALTH_PATH = "/__admin/health"
JOURNAL_PATH = "/__admin/requests"


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
