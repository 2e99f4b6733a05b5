"""A small WSGI implementation of the made-up `archiveNote` operation (tests/madeup.py), with faults.

Written by hand from the made-up operation's definition, like `apps.py` for Create a task: the
contract tests must judge it from the spec copy alone, with no code naming the operation. Each fault
flag breaks it in exactly one way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import jwt

from tests.contract_tests.apps import SECRET
from tests.madeup import PATH_TEMPLATE

Wsgi = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
FAULTS = frozenset(
    {
        "rejects-keepDays-over-180",
        "echoes-wrong-reason",
        "accepts-long-reason",
        "rejects-charset",
        "needs-notify",
        "accepts-no-account",
    }
)

_PATH = re.compile(
    "^"
    + re.escape(PATH_TEMPLATE)
    .replace(r"\{streamId\}", "(?P<stream>[^/]+)")
    .replace(r"\{noteId\}", "(?P<note>[^/]+)")
    + "$"
)


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _checked_body(environ: WSGIEnvironment, faults: frozenset[str]) -> dict[str, Any]:
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise _Refusal(415, "send application/json")
    if "rejects-charset" in faults and ";" in content_type:
        raise _Refusal(415, "send application/json without parameters")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        body = json.loads(environ["wsgi.input"].read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Refusal(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "the body must be an object")
    reason, keep = body.get("reason"), body.get("keepDays")
    longest = 10_000 if "accepts-long-reason" in faults else 40
    if not isinstance(reason, str) or not 1 <= len(reason) <= longest:
        raise _Refusal(400, "reason must be 1 to 40 characters")
    if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= 365:
        raise _Refusal(400, "keepDays must be an integer from 1 to 365")
    if "rejects-keepDays-over-180" in faults and keep > 180:
        raise _Refusal(400, "keepDays must be at most half a year")
    if "mode" in body and body["mode"] not in ("soft", "hard"):
        raise _Refusal(400, "mode must be soft or hard")
    if "notify" in body and not isinstance(body["notify"], bool):
        raise _Refusal(400, "notify must be a boolean")
    if "needs-notify" in faults and "notify" not in body:
        raise _Refusal(400, "notify is required")
    return body


def create_notes_app(*, faults: frozenset[str] = frozenset()) -> Wsgi:
    """The WSGI callable: correct unless `faults` names what to break."""
    unknown = faults - FAULTS
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)}")

    def answer(start_response: StartResponse, status: int, document: Any) -> list[bytes]:
        data = json.dumps(document).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # WSGI hands the percent-decoded path as Latin-1 text of its bytes.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        match = _PATH.match(path)
        try:
            if match is None:
                raise _Refusal(404, "no such operation")
            if environ["REQUEST_METHOD"] != "POST":
                raise _Refusal(405, "use POST")
            try:
                claims = jwt.decode(environ.get("HTTP_AUTH", ""), SECRET, algorithms=["HS256"])
            except jwt.PyJWTError:
                raise _Refusal(401, "Invalid SDK credentials") from None
            if "appId" not in claims:
                raise _Refusal(401, "Invalid SDK credentials")
            body = _checked_body(environ, faults)
            if not environ.get("HTTP_ACCOUNTID") and "accepts-no-account" not in faults:
                raise _Refusal(400, "the accountId header is required")
        except _Refusal as refused:
            return answer(
                start_response, refused.status, {"errors": [{"msg": refused.message, "code": refused.status}]}
            )
        reason = body["reason"] + (" (archived)" if "echoes-wrong-reason" in faults else "")
        return answer(
            start_response,
            200,
            {"noteId": match["note"], "reason": reason, "keepDays": body["keepDays"], "archived": True},
        )

    return app
