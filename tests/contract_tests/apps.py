"""Small implementations of the Case Management API for testing the contract tests: one correct, and faulty variants.

The correct app is written from the seed page and the spec by hand: it does not use the generators'
`build_task`, the mock, or the judge, so the contract tests are judged against an independent
reading of the contract. Each fault flag breaks it in exactly one way.

createTask is written out in full. The five other operations are kept small: their request bodies
are checked against the spec's request schemas (a shortcut: the contract tests judge answers, not
how a server reads requests), the app keeps no objects (every update names an unknown id: 404 by
decision `unknown-ids`; every listing is an empty page with its numbers worked out by hand), and
createCase answers a whole case built here.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, Response, request
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from werkzeug.serving import WSGIRequestHandler, make_server

SECRET = "test-client-secret-0123456789abcdef"
CLIENT_ID = "cs-5f2c9a1e-7d3b-4c1a-9e8f-0a1b2c3d4e5f"
STREAM_ID = "st-084d3c5e-376a-559f-9987-a012bb2b0001"
ACCOUNT_ID = "6639f7bd58c97ffac03b0001"
APP_ACCOUNT_ID = "5f0c2d1e8a7b6c5d4e3f2a1b"
PREFIX = "/caseManagement/api/public/analytics/<stream_id>"
PATH = f"{PREFIX}/createTask"
# Listing pages: the default and the largest page size (decision `pagination`).
DEFAULT_LIMIT, MAXIMUM_LIMIT = 50, 100

REQUIRED_STRINGS = ("caseId", "caseRefId", "taskTmp", "source")
OPTIONAL_STRINGS = ("name", "desc")
CONTACTS = ("_id", "emailId", "phoneNumber")


def token(**claims: Any) -> str:
    """A token the apps accept: HS256 with SECRET and an appId claim."""
    return jwt.encode({"appId": CLIENT_ID, "sub": "u-test", **claims}, SECRET, algorithm="HS256")


@dataclass
class Journal:
    """What an app received: request bodies in order."""

    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: bytes) -> None:
        with self.lock:
            self.bodies.append(body)


def _error(status: int, msg: str, code: int | None = None, *, faults: frozenset[str]) -> Response:
    if "error-not-envelope" in faults:
        return Response(json.dumps({"error": msg}), status=status, mimetype="application/json")
    if "wrong-status-invalid" in faults and status == 400:
        status = 422
    body = {"errors": [{"msg": msg, "code": code if code is not None else status}]}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _problem(body: Any, faults: frozenset[str]) -> str | None:
    """What is wrong with a request body, by the spec's request schema read by hand; None when valid."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if "rejects-unknown-properties" in faults:
        known = {*REQUIRED_STRINGS, *OPTIONAL_STRINGS, "userInfo"}
        user_known = {"name", *CONTACTS}
        user = body.get("userInfo")
        if set(body) - known or (isinstance(user, dict) and set(user) - user_known):
            return "unknown properties"
    lenient = "accepts-empty-strings" in faults
    for name in REQUIRED_STRINGS:
        if name == "caseId" and "accepts-missing-caseId" in faults and name not in body:
            continue
        if not isinstance(body.get(name), str):
            return f"{name} must be a string"
        if body[name] == "" and not lenient:
            return f"{name} must not be empty"
    for name in OPTIONAL_STRINGS:
        if name in body and not isinstance(body[name], str):
            return f"{name} must be a string"
        # The seed page's table calls `desc` required and the task `name` conditional; a validator
        # that requires a string commonly refuses a blank one too.
        if f"requires-{name}" in faults and (name not in body or not body[name].strip()):
            return f"{name} is required"
    user = body.get("userInfo")
    if not isinstance(user, dict):
        return "userInfo must be an object"
    if not isinstance(user.get("name"), str) or (user["name"] == "" and not lenient):
        return "userInfo.name must be a non-empty string"
    for name in CONTACTS:
        if name in user and not isinstance(user[name], str):
            return f"userInfo.{name} must be a string"
    if not any(name in user for name in CONTACTS):
        return "userInfo must contain at least one of _id, emailId, phoneNumber"
    if "emailId" in user and "@" not in user["emailId"] and "accepts-bad-email" not in faults:
        return "userInfo.emailId must be an email address"
    return None


def _kore_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def create_app(*, faults: frozenset[str] = frozenset(), journal: Journal | None = None) -> Flask:
    """The app: correct unless `faults` names what to break."""
    app = Flask(__name__)
    # A crash is the fault under test; its traceback in the test log would only be noise.
    app.logger.disabled = True

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _error(404, "no such operation", faults=faults)

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return _error(405, "use POST", faults=faults)

    counter = itertools.count(1)
    fixed_id = _kore_id("ti")
    calls = itertools.count(1)

    def limited() -> Response | None:
        call = next(calls)
        if journal is not None:
            journal.add(request.get_data())
        if "rate-limited" in faults and call % 3 == 0:
            return Response(
                json.dumps({"errors": [{"msg": "Rate limit exceeded", "code": 429}]}),
                status=429,
                mimetype="application/json",
                headers={"Retry-After": "0"},
            )
        if "slow" in faults:
            time.sleep(0.08)
        return None

    def refused_token() -> Response | None:
        bad_credentials = _error(401, "Invalid SDK credentials", 4002, faults=faults)
        raw_token = request.headers.get("auth")
        if raw_token is None:
            return None if "accepts-missing-token" in faults else bad_credentials
        try:
            claims = jwt.decode(
                raw_token,
                SECRET,
                algorithms=["HS256"],
                options={
                    "verify_signature": "accepts-wrong-signature" not in faults,
                    "verify_exp": "accepts-expired-token" not in faults,
                },
            )
        except jwt.PyJWTError:
            if "accepts-malformed-token" not in faults or raw_token.count(".") == 2:
                return bad_credentials
            claims = {"appId": CLIENT_ID}
        return None if "appId" in claims else bad_credentials

    def checked(operation_id: str, *, account_required: bool) -> tuple[Response | None, Any]:
        """The token, then the media type, the JSON, the account header and the body's schema."""
        refusal = refused_token()
        if refusal is not None:
            return refusal, None
        if request.mimetype != "application/json":
            return _error(
                415, f"Content-Type {request.content_type!r}: send application/json", faults=faults
            ), None
        try:
            body = json.loads(request.get_data())
        except ValueError as exc:
            return _error(400, f"Malformed JSON body: {exc}", faults=faults), None
        if account_required and "accountId" not in request.headers:
            return _error(400, "the accountId header is required", faults=faults), None
        problem = next(iter(_schema_check(operation_id).iter_errors(body)), None)
        if problem is not None:
            return _error(
                400, f"/{'/'.join(map(str, problem.absolute_path))}: {problem.message}", faults=faults
            ), None
        return None, body

    @app.post(f"{PREFIX}/createCase")
    def create_case(stream_id: str) -> Response:
        refusal = limited()
        if refusal is None:
            refusal, body = checked("createCase", account_required=False)
        if refusal is not None:
            return refusal
        return Response(
            json.dumps(_case(body, stream_id, next(counter))), status=200, mimetype="application/json"
        )

    @app.post(f"{PREFIX}/getCases")
    @app.post(f"{PREFIX}/getTasks")
    def listing(stream_id: str) -> Response:
        operation = request.path.rsplit("/", 1)[1]
        refusal = limited()
        if refusal is None:
            refusal, body = checked(operation, account_required=True)
        if refusal is not None:
            return refusal
        return Response(json.dumps(_empty_page(body, faults)), status=200, mimetype="application/json")

    @app.post(f"{PREFIX}/updateCase/<object_id>")
    @app.post(f"{PREFIX}/updateTask/<object_id>")
    def update(stream_id: str, object_id: str) -> Response:
        operation = request.path.split("/")[-2]
        refusal = limited()
        if refusal is None:
            refusal, _ = checked(operation, account_required=True)
        if refusal is not None:
            return refusal
        if "update-refuses-unknown" in faults:
            return _error(400, f"{object_id} is not an id", faults=faults)
        # This app keeps nothing: every id is unknown to it (decision `unknown-ids`).
        return _error(404, f"No object {object_id} in this account and stream", faults=faults)

    @app.post(PATH)
    def create_task(stream_id: str) -> Response:
        refused = limited()
        if refused is not None:
            return refused

        def refused_body() -> tuple[Response | None, Any]:
            if "rejects-charset" in faults and "charset" in (request.content_type or "").lower():
                return _error(415, "send application/json without parameters", faults=faults), None
            if request.mimetype != "application/json":
                return _error(
                    415,
                    f"Content-Type {request.content_type!r} is not supported; send application/json",
                    faults=faults,
                ), None
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                return _error(400, f"Malformed JSON body: {exc}", faults=faults), None
            problem = _problem(body, faults)
            if problem is None and "refuses-valid" in faults:
                problem = "task creation is disabled for this stream"
            return (_error(400, problem, faults=faults) if problem is not None else None), body

        # A server may validate the body before the token: both orders keep the contract.
        if "body-before-auth" in faults:
            refusal, body = refused_body()
            refusal = refusal or refused_token()
        else:
            refusal = refused_token()
            if refusal is None:
                refusal, body = refused_body()
        if refusal is not None:
            return refusal
        if "odd-stream-teapot" in faults and not re.fullmatch(r"[\w.-]+", stream_id, re.ASCII):
            return _error(418, "this stream id is odd", faults=faults)
        if "crash-on-desc" in faults and "desc" in body:
            raise RuntimeError("desc is not supported yet")
        return _task(body, stream_id, faults, next(counter), fixed_id)

    return app


_SCHEMA_CHECKS: dict[str, Any] = {}


def _schema_check(operation_id: str) -> Any:
    """The spec's request schema of an operation, as a validator (built once)."""
    if operation_id not in _SCHEMA_CHECKS:
        from spec import load_spec

        schema = load_spec().operation(operation_id).request_schema
        _SCHEMA_CHECKS[operation_id] = OAS31Validator(dict(schema), format_checker=oas31_format_checker)
    return _SCHEMA_CHECKS[operation_id]


def _empty_page(body: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """An empty page of a listing: the page and size asked (skip wins over page), nothing in it."""
    asked = body.get("limit")
    limit = min(asked if isinstance(asked, int) and asked >= 1 else DEFAULT_LIMIT, MAXIMUM_LIMIT)
    skip, page = body.get("skip"), body.get("page")
    number = skip // limit + 1 if isinstance(skip, int) else page if isinstance(page, int) else 1
    # The fault counts one item more than it lists (its totalPages and hasMore agree with that count).
    total = 1 if "listing-total-off" in faults else 0
    return {
        "results": [],
        "page": number,
        "limit": limit,
        "hasMore": False,
        "totalPages": total,
        "totalResults": total,
    }


def _case_user(body: dict[str, Any]) -> dict[str, Any]:
    """The case's user: its id either spelling, a name (empty when none was sent), contacts inside or beside."""
    sent = body["userInfo"]
    user: dict[str, Any] = {"name": sent.get("name", "")}
    if "_id" in sent or "id" in sent:
        user["_id"] = sent.get("_id", sent.get("id"))
    for contact in ("emailId", "phoneNumber"):
        if contact in sent or contact in body:
            user[contact] = sent.get(contact, body.get(contact))
    return user


def _case(body: dict[str, Any], stream_id: str, number: int) -> dict[str, Any]:
    """A new case: what the request sent, the stream and account, an open Medium case with no tasks."""
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}Z"
    actor = {
        "_id": "u-9471a3c6-d950-5720-a812-fbc1ac9f0001",
        "name": "Contract Tester",
        "profImage": "no-avatar",
    }
    case: dict[str, Any] = {
        "_id": f"ci-{str(uuid.uuid4())[1:]}",
        "refId": f"CS{number:06d}",
        "caseTmp": body["caseTmp"],
        "name": body["name"],
        "lname": body["name"].lower(),
        "tags": [],
        "userInfo": _case_user(body),
        "sessIds": [],
        "accountId": request.headers.get("accountId", APP_ACCOUNT_ID),
        "iId": stream_id,
        "orgId": "o-85e72576-06a6-5c0b-8844-25fa0cd60001",
        "convIds": [],
        "status": {
            "_id": "sts-a3ed479-e945-4b59-a0c0-4369472a0001",
            "name": "Open",
            "statusCategory": "open",
        },
        "source": body["source"],
        "language": "en",
        "conversationType": "CASE",
        "fields": [],
        "participants": [],
        "priority": {
            "_id": "pr-cad98ea-d89c-489b-acc7-e86341e50001",
            "name": "Medium",
            "color": "#16A34A",
            "score": 10,
        },
        "assigneeType": "unassigned",
        "currAssignee": {},
        "isActive": True,
        "taskIds": [],
        "attachments": [],
        "feedback": [],
        "createdBy": actor,
        "updatedBy": actor,
        "timestampValue": int(now * 1000),
        "activityIds": [],
        "commentIds": [],
        "resolutionCmts": [],
        "isBreached": False,
        "queues": [],
        "channel": [],
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    due = body["dueDate"]
    # Due dates come as ISO 8601 or epoch milliseconds (decision `due-date-forms`); answered as ISO.
    case["ETA"] = (
        datetime.fromtimestamp(due / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if isinstance(due, int)
        else due
    )
    case["supportCustomTasks"] = True
    if isinstance(body.get("desc"), str):
        case["desc"] = body["desc"]
    return case


def _task(
    body: dict[str, Any], stream_id: str, faults: frozenset[str], number: int, fixed_id: str
) -> Response:
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}Z"
    user = body["userInfo"]
    actor = {
        "_id": "u-9471a3c6-d950-5720-a812-fbc1ac9f0001",
        "name": "Contract Tester",
        "profImage": "no-avatar",
    }
    task: dict[str, Any] = {
        "_id": fixed_id if "reuses-_id" in faults else _kore_id("ti"),
        "refId": "TS000001" if "refId-repeats" in faults else f"TS{number:06d}",
        "caseId": body.get("caseId", "") + ("-other" if "no-echo-caseId" in faults else ""),
        "caseRefId": body["caseRefId"],
        "taskTmp": "jbhk" if "taskTmp-not-echoed" in faults else body["taskTmp"],
        "tags": [],
        "userInfo": {k: user[k] for k in ("_id", "name", "emailId", "phoneNumber") if k in user},
        "sessIds": [],
        "accountId": request.headers.get("accountId", APP_ACCOUNT_ID)
        if "ignores-account-header" not in faults
        else APP_ACCOUNT_ID,
        "iId": "st-00000000-0000-0000-0000-000000000000" if "wrong-iId" in faults else stream_id,
        "orgId": "o-85e72576-06a6-5c0b-8844-25fa0cd60001",
        "convIds": [],
        "status": {
            "_id": "sts-a3ed479-e945-4b59-a0c0-4369472a0001",
            "name": "Open",
            "statusCategory": "open",
        },
        "source": body["source"],
        "conversationType": "TASK",
        "fields": [],
        "participants": [],
        "priority": {
            "_id": "pr-cad98ea-d89c-489b-acc7-e86341e50001",
            "name": "Medium",
            "color": "#16A34A",
            "score": 10,
        },
        "assigneeType": "unassigned",
        "isCustTsk": False,
        "isActive": True,
        "attachments": [],
        "feedback": [],
        "createdBy": actor,
        "updatedBy": actor,
        "timestampValue": int(now * 1000) - (5000 if "timestamp-off" in faults else 0),
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
    }
    if "name" in body:
        task["name"] = body["name"]
        task["lname"] = body["name"] if "wrong-lname" in faults else body["name"].lower()
    if "desc" in body:
        task["desc"] = body["desc"]
    if "schema-missing-refId" in faults:
        del task["refId"]
    if "schema-bad-id" in faults:
        task["_id"] = f"task-{number}"
    if "updated-differs" in faults:
        later = (
            datetime.fromtimestamp(now + 1, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{int(now * 1000) % 1000:03d}Z"
        )
        task["updatedAt"] = later
    if "status-not-open" in faults:
        task["status"] = {**task["status"], "name": "New", "statusCategory": "new"}
    return Response(json.dumps(task), status=200, mimetype="application/json")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep test output to the contract tests' own report."""


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` over real HTTP on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
