"""A small stateful implementation of the six Case Management operations, correct, and faulty variants.

Issue 14's "tests of the tests": the stateful contract tests are judged against an implementation
written here by hand from the spec's decisions (`account-stream-scope`, `update-merges`,
`read-only-fields`, `unknown-ids`, `pagination`, `sort-forms`, `filter-matching`,
`unresolved-unassigned-mine`, `task-joins-case`, `update-task-table-copy`), not from the generators'
builders, the mock, `spec.Sequences`, `spec.Listing` or the judge. Each fault flag breaks it in
exactly one way; `STATE_FAULTS` names the relation of `x-contract-sequences` (or the single-call
check) that must catch it, and `STATE_FAULT_COMPANIONS` the relations the spec's interpreter
necessarily reports beside it (a case missing from a listing also makes the listing inexact).

Objects live in memory per collection and (account, stream), behind one lock; `CaseStore.reset()`
empties it. A create belongs to the `accountId` header's account, or the app's own when a create
omits it; any header value is its own account. Requests are checked as in apps.py (token, media
type, JSON, the `accountId` header where required, the spec's request schema).

Example (in a test; `serving` is apps.py's loopback server):

    store = CaseStore()
    with serving(create_app(faults=frozenset({"not-listed"}), store=store)) as base_url:
        ...  # run the stateful contract tests against base_url; store.reset() between runs
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, Response, request

from tests.contract_tests.apps import SECRET, _case, _schema_check, _task

PREFIX = "/caseManagement/api/public/analytics/<stream_id>"

# fault -> the relation of x-contract-sequences (`relation:<id>`) or the single-call check that catches it.
STATE_FAULTS: dict[str, str] = {
    # A created case is missing from getCases (the listing reads a copy one write behind).
    "not-listed": "relation:case-listed-after-create",
    # getTasks lists the account's tasks of every stream, not only the path's.
    "wrong-scope": "relation:task-listed-after-create",
    # updateTask answers the merged task, but only its new `updatedAt` is stored.
    "update-not-persisted": "relation:task-update-merged",
    # updateCase takes `refId` from the body (its read-only list misses it).
    "read-only-changed": "relation:case-ids-unchanged",
    # updateCase stamps `updatedAt` from a clock an hour slow (local time written as UTC).
    "updated-at-stale": "relation:case-updated-at-forward",
    # updateTask renames without recomputing `lname`.
    "lname-stale": "relation:task-lname-follows-name",
    # getTasks' page n > 1 starts one item late: an item is on no page.
    "page-lost": "relation:tasks-pages-partition",
    # getCases' page n > 1 starts one item early: an item is on two pages.
    "page-repeated": "relation:cases-pages-partition",
    # getCases' totalResults counts the account's and stream's cases, not the ones the filters keep.
    "total-wrong": "relation:cases-total-counts",
    # getTasks answers hasMore true on a full last page (`<=` for `<`).
    "has-more-wrong": "relation:tasks-last-page",
    # getTasks ignores `searchText`.
    "filter-ignored": "relation:tasks-listing-exact",
    # A new task is not added to its case's `taskIds`.
    "not-joined": "relation:task-joins-case",
    # updateTask finds the id in any stream of the account and answers it merged with 200 (nothing
    # is written: the scoped write matches no row). A 404 is due (decision `unknown-ids`): a caller
    # that knows the id is not its stream's expects a refusal, Expect.INVALID with statuses {404}.
    "unknown-id-200": "negative_data_rejection",
}
# fault -> the other relations the interpreter reports too, with a complete store (every object of the
# scopes created by the run), in the scenarios of test_stateful_app.py.
STATE_FAULT_COMPANIONS: dict[str, frozenset[str]] = {
    # A missing item breaks the exact listing and its count, and ends the walk a page early.
    "not-listed": frozenset(
        {"relation:cases-listing-exact", "relation:cases-total-counts", "relation:cases-last-page"}
    ),
    # An item of another stream is an extra item, counted, and walks a page further.
    "wrong-scope": frozenset(
        {"relation:tasks-listing-exact", "relation:tasks-total-counts", "relation:tasks-last-page"}
    ),
    # The lost item is missing from the page that should hold it.
    "page-lost": frozenset({"relation:task-listed-after-create", "relation:tasks-listing-exact"}),
    # The page that repeats an item is not the page asked.
    "page-repeated": frozenset({"relation:cases-listing-exact"}),
    # Extra items are counted.
    "filter-ignored": frozenset({"relation:tasks-total-counts"}),
    # The listed case's `taskIds` differ from the stored case's.
    "not-joined": frozenset({"relation:case-listed-after-create"}),
}
FAULTS = frozenset(STATE_FAULTS)

# Decision `read-only-fields`: accepted on update and ignored.
READ_ONLY = frozenset(
    {
        "_id",
        "refId",
        "createdAt",
        "updatedAt",
        "accountId",
        "iId",
        "lid",
        "orgId",
        "timestampValue",
        "createdBy",
        "updatedBy",
        "lname",
    }
)
# Decision `update-task-table-copy`: ignored on a task (`caseTmp`, `taskIds`) or read-only there.
TASK_READ_ONLY = READ_ONLY | {"caseTmp", "taskIds", "taskTmp", "caseId", "caseRefId"}
# Decision `pagination`.
DEFAULT_LIMIT, MAXIMUM_LIMIT = 50, 100
# Decision `sort-forms`: sort key -> the stored fields it reads (the first present wins).
SORT_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "createdDate": (("createdAt",),),
    "createdAt": (("createdAt",),),
    "updatedAt": (("updatedAt",),),
    "dueDate": (("dueDate",), ("ETA",)),
    "priority": (("priority", "score"),),
    "status": (("status", "name"),),
    "name": (("name",),),
}
# Decision `filter-matching`: list filters -> the stored fields they match.
LIST_FILTERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "priority": (("priority",),),
    "status": (("status",),),
    "channel": (("channel",), ("source",)),
    "queues": (("queues",),),
}
HOUR_MS = 3_600_000

Scope = tuple[str, str]


@dataclass
class CaseStore:
    """The app's objects: per collection ("cases", "tasks") and (account, stream), by id in creation order."""

    objects: dict[str, dict[Scope, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: Any = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        """Forget every object (the reference numbers start again)."""
        with self.lock:
            self.objects.clear()
            self.numbers = itertools.count(1)

    def bucket(self, collection: str, scope: Scope) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault(collection, {}).setdefault(scope, {})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, msg: str, code: int | None = None) -> Response:
    return _json({"errors": [{"msg": msg, "code": code if code is not None else status}]}, status)


def _ms(value: Any) -> float | None:
    """Epoch milliseconds of an ISO 8601 instant with a zone, or of epoch milliseconds; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.timestamp() * 1000 if parsed.tzinfo is not None else None
    return None


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _at(item: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(item, Mapping) or name not in item:
            return None
        item = item[name]
    return item


def _names(value: Any) -> list[Any]:
    """The values a list filter compares: an array's elements, an object's `name`."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for element in value for v in _names(element)]
    if isinstance(value, Mapping):
        return _names(value.get("name"))
    return [value]


def _fold(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else str(value)


def _keeps(
    item: Mapping[str, Any], body: Mapping[str, Any], caller: str | None, faults: frozenset[str]
) -> bool:
    """Whether a stored object passes every filter the listing body sends (decision `filter-matching`)."""
    text = body.get("searchText")
    if isinstance(text, str) and text and "filter-ignored" not in faults:
        name = item.get("name")
        if not (isinstance(name, str) and text.casefold() in name.casefold()):
            return False
    for filter_name, paths in LIST_FILTERS.items():
        wanted = body.get(filter_name)
        if isinstance(wanted, list) and wanted:
            folded = {_fold(w) for w in wanted}
            if not any(_fold(v) in folded for path in paths for v in _names(_at(item, path))):
                return False
    created = _ms(item.get("createdAt"))
    for bound_name, after in (("startDate", True), ("endDate", False)):
        bound = _ms(body.get(bound_name))
        if bound is not None and (created is None or (created < bound if after else created > bound)):
            return False
    due = _ms(body.get("dueDate"))
    if due is not None and not any(_ms(item.get(name)) == due for name in ("dueDate", "ETA")):
        return False
    if body.get("unresolved") is True and _fold(_at(item, ("status", "statusCategory"))) in {
        "resolved",
        "closed",
    }:
        return False
    if body.get("unassigned") is True and _fold(item.get("assigneeType")) != "unassigned":
        return False
    if body.get("mycase") is True or body.get("mytask") is True:
        agent = _at(item, ("currAssignee", "agentId"))
        if caller is None or agent != caller:
            return False
    return True


def _sort_value(item: Mapping[str, Any], paths: Iterable[tuple[str, ...]]) -> tuple[int, Any] | None:
    """Instants and numbers as numbers (before strings), strings ignoring case; None when absent."""
    for path in paths:
        value = _at(item, path)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            return (1, int(value))
        if isinstance(value, int | float):
            return (1, float(value))
        if isinstance(value, str):
            instant = _ms(value)
            return (1, instant) if instant is not None else (2, value.casefold())
        return (3, repr(value))
    return None


def _sorted(items: list[dict[str, Any]], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Decision `sort-forms`: a key ascending, or {key: asc|desc}; otherwise newest first; ties by `_id`."""
    key, direction = "createdAt", "desc"
    asked = body.get("sortBy")
    if isinstance(asked, str) and asked in SORT_KEYS:
        key, direction = asked, "asc"
    elif isinstance(asked, Mapping) and len(asked) == 1:
        ((name, way),) = asked.items()
        if name in SORT_KEYS and way in ("asc", "desc"):
            key, direction = name, way
    paths = SORT_KEYS[key]
    sign = -1 if direction == "desc" else 1

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        ka, kb = _sort_value(a, paths), _sort_value(b, paths)
        if ka is None or kb is None:
            if (ka is None) != (kb is None):
                return 1 if ka is None else -1  # missing last, either direction
        elif ka != kb:
            return sign * (1 if ka > kb else -1)
        ia, ib = str(a.get("_id", "")), str(b.get("_id", ""))
        return (ia > ib) - (ia < ib)

    return sorted(items, key=functools.cmp_to_key(compare))


def _page(
    kept: list[dict[str, Any]],
    body: Mapping[str, Any],
    collection: str,
    faults: frozenset[str],
    counted: int,
) -> dict[str, Any]:
    """Decision `pagination`: skip wins over page, limit 50 by default and at most 100."""
    asked = body.get("limit")
    limit: int = DEFAULT_LIMIT
    if isinstance(asked, int) and not isinstance(asked, bool) and asked >= 1:
        limit = asked
    limit = min(limit, MAXIMUM_LIMIT)
    skip, page = body.get("skip"), body.get("page")
    if isinstance(skip, int) and not isinstance(skip, bool) and skip >= 0:
        start, number = skip, skip // limit + 1
    else:
        number = page if isinstance(page, int) and not isinstance(page, bool) and page >= 1 else 1
        start = (number - 1) * limit
    total = len(kept)
    has_more = start + limit < total
    if collection == "tasks" and "has-more-wrong" in faults:
        has_more = start + limit <= total and total > 0
    # The paging faults shift the window of a later page only; the envelope's numbers stay right.
    window = start
    if number > 1 and skip is None and collection == "tasks" and "page-lost" in faults:
        window += 1
    if number > 1 and skip is None and collection == "cases" and "page-repeated" in faults:
        window -= 1
    return {
        "results": kept[window : window + limit],
        "page": number,
        "limit": limit,
        "hasMore": has_more,
        "totalPages": math.ceil(counted / limit),
        "totalResults": counted,
    }


def create_app(*, faults: frozenset[str] = frozenset(), store: CaseStore | None = None) -> Flask:
    """The stateful app: correct unless `faults` (keys of STATE_FAULTS) names what to break."""
    unknown = faults - FAULTS
    if unknown:
        raise ValueError(f"unknown state faults {sorted(unknown)}; known: {sorted(FAULTS)}")
    app = Flask(__name__)
    app.logger.disabled = True
    state = store if store is not None else CaseStore()
    app.extensions["case_store"] = state

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _error(404, "no such operation")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return _error(405, "use POST")

    def checked(operation_id: str, *, account_required: bool) -> tuple[Response | None, Any, str | None]:
        """The token (its `sub` is the caller), the media type, the JSON, the account header, the schema."""
        refused = _error(401, "Invalid SDK credentials", 4002)
        raw = request.headers.get("auth")
        if raw is None:
            return refused, None, None
        try:
            claims = jwt.decode(raw, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return refused, None, None
        if "appId" not in claims:
            return refused, None, None
        if request.mimetype != "application/json":
            return _error(415, f"Content-Type {request.content_type!r}: send application/json"), None, None
        try:
            body = json.loads(request.get_data())
        except ValueError as exc:
            return _error(400, f"Malformed JSON body: {exc}"), None, None
        if account_required and "accountId" not in request.headers:
            return _error(400, "the accountId header is required"), None, None
        problem = next(iter(_schema_check(operation_id).iter_errors(body)), None)
        if problem is not None:
            where = "/".join(map(str, problem.absolute_path))
            return _error(400, f"/{where}: {problem.message}"), None, None
        caller = claims.get("sub")
        return None, body, caller if isinstance(caller, str) else None

    def now_ms() -> int:
        return int(time.time() * 1000)

    @app.post(f"{PREFIX}/createCase")
    def create_case(stream_id: str) -> Response:
        refusal, body, _ = checked("createCase", account_required=False)
        if refusal is not None:
            return refusal
        with state.lock:
            case = _case(body, stream_id, next(state.numbers))
            # Listed cases carry a description and the due date in epoch ms (decision `due-date-forms`).
            case.setdefault("desc", "")
            due = _ms(body["dueDate"])
            case["dueDate"] = int(due) if due is not None else body["dueDate"]
            state.bucket("cases", (case["accountId"], stream_id))[case["_id"]] = case
            return _json(case)

    @app.post(f"{PREFIX}/createTask")
    def create_task(stream_id: str) -> Response:
        refusal, body, _ = checked("createTask", account_required=False)
        if refusal is not None:
            return refusal
        with state.lock:
            task = _task(body, stream_id, frozenset(), next(state.numbers), "").get_json()
            scope = (task["accountId"], stream_id)
            state.bucket("tasks", scope)[task["_id"]] = task
            # Decision `task-joins-case`: a task naming a case of its account and stream joins it.
            case = state.bucket("cases", scope).get(task["caseId"])
            if case is not None and "not-joined" not in faults:
                case.setdefault("taskIds", []).append(task["_id"])
            return _json(task)

    @app.post(f"{PREFIX}/getCases")
    @app.post(f"{PREFIX}/getTasks")
    def listing(stream_id: str) -> Response:
        operation = request.path.rsplit("/", 1)[1]
        collection = "cases" if operation == "getCases" else "tasks"
        refusal, body, caller = checked(operation, account_required=True)
        if refusal is not None:
            return refusal
        account = request.headers["accountId"]
        with state.lock:
            if collection == "tasks" and "wrong-scope" in faults:
                stored = [
                    item
                    for (owner, _), objects in state.objects.get(collection, {}).items()
                    if owner == account
                    for item in objects.values()
                ]
            else:
                stored = list(state.bucket(collection, (account, stream_id)).values())
            if collection == "cases" and "not-listed" in faults and stored:
                stored = stored[:-1]
            kept = _sorted(
                [
                    i
                    for i in stored
                    if _keeps(i, body, caller, faults if collection == "tasks" else frozenset())
                ],
                body,
            )
            counted = len(stored) if collection == "cases" and "total-wrong" in faults else len(kept)
            return _json(copy.deepcopy(_page(kept, body, collection, faults, counted)))

    @app.post(f"{PREFIX}/updateCase/<object_id>")
    @app.post(f"{PREFIX}/updateTask/<object_id>")
    def update(stream_id: str, object_id: str) -> Response:
        operation = request.path.split("/")[-2]
        collection = "cases" if operation == "updateCase" else "tasks"
        refusal, body, _ = checked(operation, account_required=True)
        if refusal is not None:
            return refusal
        account = request.headers["accountId"]
        with state.lock:
            stored = state.bucket(collection, (account, stream_id)).get(object_id)
            write = stored is not None
            if stored is None and collection == "tasks" and "unknown-id-200" in faults:
                stored = next(
                    (
                        objects[object_id]
                        for (owner, _), objects in state.objects.get(collection, {}).items()
                        if owner == account and object_id in objects
                    ),
                    None,
                )
            if stored is None:
                # Decision `unknown-ids`: unknown and foreign ids alike.
                return _error(404, f"No object {object_id} in this account and stream")
            read_only = TASK_READ_ONLY if collection == "tasks" else READ_ONLY
            if collection == "cases" and "read-only-changed" in faults:
                read_only = read_only - {"refId"}
            merged = copy.deepcopy(stored)
            for key, value in body.items():
                if key not in read_only:
                    merged[key] = copy.deepcopy(value)  # decision `update-merges`: top-level fields whole
            if isinstance(merged.get("name"), str) and not (
                collection == "tasks" and "lname-stale" in faults
            ):
                merged["lname"] = merged["name"].lower()
            before = _ms(stored.get("updatedAt"))
            moved = max(now_ms(), int(before) + 1 if before is not None else 0)
            if collection == "cases" and "updated-at-stale" in faults:
                moved -= HOUR_MS
            merged["updatedAt"] = _stamp(moved)
            if write:
                if collection == "tasks" and "update-not-persisted" in faults:
                    stored["updatedAt"] = merged["updatedAt"]
                else:
                    stored.clear()
                    stored.update(merged)
            return _json(merged)

    return app


__all__ = ["FAULTS", "STATE_FAULTS", "STATE_FAULT_COMPANIONS", "CaseStore", "create_app"]
