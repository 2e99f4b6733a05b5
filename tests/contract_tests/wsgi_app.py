"""A second correct implementation of the Case Management API, written differently from `apps.py` on purpose.

Everything the seed page and the spec leave open is decided the other way here, so that the contract
tests are shown not to be tuned to one implementation's habits (nor to the mock's): a bare WSGI
callable (no Flask), JWTs verified by hand (hmac, no PyJWT) with a client secret shorter than PyJWT
likes, the body read before the token, 415 for a foreign content type, `charset` parameters and
lower-case header names on every answer, string error codes and extra envelope fields, the whole
`userInfo` echoed (email, phone and unknown members kept), extra task fields, full uuid4 ids (an
8-character first group), seven-digit `refId`s, `+00:00` time stamps with microseconds, the app's
own account when no `accountId` header is sent, gzip-encoded answers when asked, and every seventh
request answered 429 with an HTTP-date `Retry-After`. Served either as HTTP/1.0 (no keep-alive, no
Content-Length: the body ends when the connection closes) or as HTTP/1.1 with chunked bodies.

The five other operations are small. Their bodies are checked with `jsonschema` against the spec's
request schemas (a shortcut: the contract tests judge answers, not how a server reads a request).
An update checks the token, then looks the id up before reading the body; the app keeps nothing,
so every id is unknown and answered 404 (decision `unknown-ids`), even with a body it would refuse.
Listings serve pages of at most 20 whatever is asked (a server may serve smaller pages, decision
`pagination`), empty. createCase echoes the whole `userInfo` and keeps `dueDate` as sent.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler as WsgirefHandler
from wsgiref.simple_server import WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from jsonschema import Draft202012Validator
from openapi_schema_validator import oas31_format_checker
from werkzeug.serving import WSGIRequestHandler as WerkzeugHandler
from werkzeug.serving import make_server as make_werkzeug_server

# Shorter than the 32 bytes PyJWT asks of an HS256 key: a platform's client secret is what it is.
SHORT_SECRET = "s3cr3t"
TRANSPORTS = ("http/1.0-close", "http/1.1-chunked")

_PATH = re.compile(
    r"^/caseManagement/api/public/analytics/(?P<stream>[^/]+)/"
    r"(?:(?P<operation>createTask|createCase|getCases|getTasks)|(?P<update>updateCase|updateTask)/(?P<id>[^/]+))$"
)
# The page size this app serves at most, below the contract's maximum.
_PAGE_SIZE = 20
_REQUIRED_TEXT = ("caseId", "caseRefId", "taskTmp", "source")
_CONTACTS = ("_id", "emailId", "phoneNumber")
_SYSTEM_FIELDS = (
    ("Due Date", "dueDate", "datetime", "datetime"),
    ("Description", "description", "textarea", "textarea"),
    ("Title", "title", "input", "input"),
)
Wsgi = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verified_claims(token: str | None, secret: str) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with `secret`, unexpired and with an `appId`; else a 401."""
    refused = _Refusal(401, "4002", "Invalid SDK credentials")
    if not token or token.count(".") != 2:
        raise refused
    header_part, payload_part, signature_part = token.split(".")
    try:
        header = json.loads(_b64decode(header_part))
        claims = json.loads(_b64decode(payload_part))
        signature = _b64decode(signature_part)
    except ValueError:
        raise refused from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise refused
    expected = hmac.new(secret.encode(), f"{header_part}.{payload_part}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise refused
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp <= time.time()):
        raise refused
    if not isinstance(claims.get("appId"), str):
        raise refused
    return claims


def _checked_body(environ: WSGIEnvironment) -> dict[str, Any]:
    """The request body as the seed page documents it; a 415 or a 400 saying what is wrong otherwise."""
    media_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _Refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"send application/json, not {media_type or 'nothing'}")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Refusal(400, "INVALID_JSON", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "INVALID_BODY", "the body must be an object")
    for name in _REQUIRED_TEXT:
        if not isinstance(body.get(name), str) or not body[name]:
            raise _Refusal(400, "INVALID_FIELD", f"{name} must be a non-empty string")
    for name in ("name", "desc"):
        if name in body and not isinstance(body[name], str):
            raise _Refusal(400, "INVALID_FIELD", f"{name} must be a string")
    user = body.get("userInfo")
    if not isinstance(user, dict) or not isinstance(user.get("name"), str) or not user["name"]:
        raise _Refusal(400, "INVALID_FIELD", "userInfo.name must be a non-empty string")
    for name in _CONTACTS:
        if name in user and not isinstance(user[name], str):
            raise _Refusal(400, "INVALID_FIELD", f"userInfo.{name} must be a string")
    if not any(name in user for name in _CONTACTS):
        raise _Refusal(400, "NO_CONTACT", "userInfo needs _id, emailId or phoneNumber")
    if "emailId" in user and "@" not in user["emailId"]:
        raise _Refusal(400, "INVALID_FIELD", "userInfo.emailId must be an email address")
    return body


def _read_json(environ: WSGIEnvironment) -> Any:
    media_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise _Refusal(415, "UNSUPPORTED_MEDIA_TYPE", f"send application/json, not {media_type or 'nothing'}")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Refusal(400, "INVALID_JSON", "the body is not JSON") from None


_VALIDATORS: dict[str, Draft202012Validator] = {}


def _schema_checked(operation: str, environ: WSGIEnvironment) -> dict[str, Any]:
    """A body of one of the five operations, checked against the spec's request schema."""
    body = _read_json(environ)
    if operation not in _VALIDATORS:
        from spec import load_spec

        schema = dict(load_spec().operation(operation).request_schema)
        _VALIDATORS[operation] = Draft202012Validator(schema, format_checker=oas31_format_checker)
    for error in _VALIDATORS[operation].iter_errors(body):
        raise _Refusal(400, "INVALID_FIELD", f"{error.json_path}: {error.message}")
    return body  # type: ignore[no-any-return]


def _page(body: dict[str, Any]) -> dict[str, Any]:
    """An empty page: at most _PAGE_SIZE a page, whatever is asked; skip wins over page."""
    limit = min(body.get("limit", 50), 100, _PAGE_SIZE)
    page = body["skip"] // limit + 1 if "skip" in body else body.get("page", 1)
    return {"totalResults": 0, "totalPages": 0, "hasMore": False, "page": page, "limit": limit, "results": []}


def _case(body: dict[str, Any], stream: str, account: str, ref_number: int) -> dict[str, Any]:
    created = datetime.now(UTC)
    user = {"name": "", **body["userInfo"]}
    user.update({k: body[k] for k in _CONTACTS if k in body and k not in user})
    if "id" in user and "_id" not in user:
        user["_id"] = user["id"]
    due = body["dueDate"]
    eta = datetime.fromtimestamp(due / 1000, UTC).isoformat() if isinstance(due, int) else due
    actor = {"_id": _kore_id("u"), "name": "Integration App", "profImage": "no-avatar"}
    case = {
        "_id": f"ci-{str(uuid.uuid4())[1:]}",
        "refId": f"CS{ref_number:07d}",
        "caseTmp": body["caseTmp"],
        "name": body["name"],
        "lname": body["name"].lower(),
        "desc": body["desc"],
        "userInfo": user,
        "source": body["source"],
        "accountId": account,
        "iId": stream,
        "orgId": _kore_id("o"),
        "language": "en",
        "conversationType": "CASE",
        "status": {"_id": _kore_id("sts"), "name": "Open", "statusCategory": "open"},
        "priority": {"_id": _kore_id("pr"), "name": "Medium", "color": "#16a34a", "score": 10},
        "dueDate": due,
        "ETA": eta,
        "taskIds": [],
        "tasks": [],
        "supportCustomTasks": False,
        "assigneeType": "unassigned",
        "currAssignee": {},
        "isActive": True,
        "isBreached": False,
        "createdBy": actor,
        "updatedBy": dict(actor),
        "createdAt": created.isoformat(),
        "updatedAt": created.isoformat(),
        "timestampValue": int(created.timestamp() * 1000),
        "__v": 0,
    }
    for empty in ("tags", "sessIds", "convIds", "fields", "participants", "attachments", "feedback"):
        case[empty] = []
    for empty in ("activityIds", "commentIds", "resolutionCmts", "queues", "channel"):
        case[empty] = []
    return case


def _kore_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def _task(body: dict[str, Any], stream: str, account: str, ref_number: int) -> dict[str, Any]:
    created = datetime.now(UTC)
    stamp = created.isoformat()  # 2025-06-04T10:18:00.725123+00:00
    actor = {"_id": _kore_id("u"), "name": "Integration App", "profImage": "no-avatar", "type": "app"}
    task: dict[str, Any] = {
        "_id": _kore_id("ti"),
        "refId": f"TS{ref_number:07d}",
        "caseId": body["caseId"],
        "caseRefId": body["caseRefId"],
        "taskTmp": body["taskTmp"],
        "userInfo": dict(body["userInfo"]),
        "source": body["source"],
        "accountId": account,
        "iId": stream,
        "orgId": _kore_id("o"),
        "status": {"_id": _kore_id("sts"), "name": "Open", "statusCategory": "open", "color": "#999999"},
        "priority": {"_id": _kore_id("pr"), "name": "Medium", "color": "#16a34a", "score": 10},
        "conversationType": "TASK",
        "fields": [
            {
                "_id": _kore_id("fd"),
                "displayName": display,
                "lname": display.lower(),
                "type": "system",
                "dataType": data_type,
                "required": True,
                "metaData": {"type": meta_type, "name": name, "displayName": display},
            }
            for display, name, meta_type, data_type in _SYSTEM_FIELDS
        ],
        "tags": [],
        "sessIds": [],
        "convIds": [],
        "participants": [],
        "assigneeType": "unassigned",
        "isCustTsk": False,
        "isActive": True,
        "attachments": [],
        "feedback": [],
        "createdBy": actor,
        "updatedBy": dict(actor),
        "timestampValue": int(created.timestamp() * 1000),
        "activityIds": [],
        "commentIds": [],
        "resolutionCmts": [],
        "isBreached": False,
        "queues": [],
        "channel": [],
        "createdAt": stamp,
        "updatedAt": stamp,
        "currAssignee": {},
        "ETA": "",
        "__v": 0,
        "watchers": [],
    }
    if "name" in body:
        task["name"] = body["name"]
        task["lname"] = body["name"].lower()
    if "desc" in body:
        task["desc"] = body["desc"]
    return task


def create_wsgi_app(*, secret: str = SHORT_SECRET) -> Wsgi:
    """The WSGI callable, verifying tokens with `secret`."""
    requests = itertools.count(1)
    ref_numbers = itertools.count(1_000_001)
    lock = threading.Lock()

    def answer(
        environ: WSGIEnvironment,
        start_response: StartResponse,
        status: int,
        document: Any,
        *extra: tuple[str, str],
    ) -> Iterator[bytes]:
        content_type = (
            "application/json;charset=UTF-8" if status == 200 else "application/json; charset=utf-8"
        )
        headers = [("content-type", content_type), ("x-request-id", str(uuid.uuid4())), *extra]
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            data = gzip.compress(data)
            headers.append(("content-encoding", "gzip"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        # A generator and no Content-Length: the server delimits the body by closing, or chunks it.
        middle = len(data) // 2
        yield data[:middle]
        yield data[middle:]

    def refusal(
        environ: WSGIEnvironment, start_response: StartResponse, refused: _Refusal, *extra: tuple[str, str]
    ) -> Iterator[bytes]:
        envelope = {
            "errors": [{"msg": refused.message, "code": refused.code}],
            "requestId": str(uuid.uuid4()),
        }
        return answer(environ, start_response, refused.status, envelope, *extra)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # WSGI hands the percent-decoded path as Latin-1 text of its bytes.
        match = _PATH.match(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"))
        if match is None:
            return refusal(environ, start_response, _Refusal(404, "NOT_FOUND", "no such operation"))
        if environ["REQUEST_METHOD"] != "POST":
            return refusal(
                environ, start_response, _Refusal(405, "METHOD_NOT_ALLOWED", "use POST"), ("allow", "POST")
            )
        with lock:
            number = next(requests)
        if number % 7 == 0:
            return refusal(
                environ,
                start_response,
                _Refusal(429, "RATE_LIMITED", "too many requests"),
                ("retry-after", formatdate(time.time(), usegmt=True)),
            )
        operation = match["operation"]
        try:
            if match["update"]:
                _verified_claims(environ.get("HTTP_AUTH"), secret)
                raise _Refusal(404, "NOT_FOUND", f"no {match['update'][6:].lower()} {match['id']} here")
            body = (
                _checked_body(environ) if operation == "createTask" else _schema_checked(operation, environ)
            )
            claims = _verified_claims(environ.get("HTTP_AUTH"), secret)
            if operation.startswith("get"):
                if "HTTP_ACCOUNTID" not in environ:
                    raise _Refusal(400, "MISSING_HEADER", "accountId is required")
                return answer(environ, start_response, 200, _page(body))
        except _Refusal as refused:
            return refusal(environ, start_response, refused)
        # Without an `accountId` header, the object belongs to the calling app's own account.
        account = environ.get("HTTP_ACCOUNTID") or hashlib.sha256(claims["appId"].encode()).hexdigest()[:24]
        with lock:
            ref_number = next(ref_numbers)
        build = _task if operation == "createTask" else _case
        return answer(environ, start_response, 200, build(body, match["stream"], account, ref_number))

    return app


class _Http10Handler(WsgirefHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output to the contract tests' own report."""


class _ChunkedHandler(WerkzeugHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep test output to the contract tests' own report."""


@contextmanager
def serving_wsgi(app: Wsgi, transport: str) -> Iterator[str]:
    """Serve the WSGI app on a free loopback port in a thread; yields its base URL."""
    if transport == "http/1.0-close":
        server: Any = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=_Http10Handler)
    elif transport == "http/1.1-chunked":
        server = make_werkzeug_server("127.0.0.1", 0, app, threaded=True, request_handler=_ChunkedHandler)
    else:
        raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport!r}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
