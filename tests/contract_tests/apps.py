"""Small implementations of Create a task for testing the contract tests: one correct, and faulty variants.

The correct app is written from the seed page and the spec by hand: it does not use the generators'
`build_task`, the mock, or the spec's schemas, so the contract tests are judged against an
independent reading of the contract. Each fault flag breaks it in exactly one way.
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
from werkzeug.serving import WSGIRequestHandler, make_server

SECRET = "test-client-secret-0123456789abcdef"
CLIENT_ID = "cs-5f2c9a1e-7d3b-4c1a-9e8f-0a1b2c3d4e5f"
STREAM_ID = "st-084d3c5e-376a-559f-9987-a012bb2b0001"
ACCOUNT_ID = "6639f7bd58c97ffac03b0001"
APP_ACCOUNT_ID = "5f0c2d1e8a7b6c5d4e3f2a1b"
PATH = "/caseManagement/api/public/analytics/<stream_id>/createTask"

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

    @app.post(PATH)
    def create_task(stream_id: str) -> Response:
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
