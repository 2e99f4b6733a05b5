"""The case the platform answers to a valid Create a case request."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from generators._builder import (
    SEED_EXAMPLE,
    Caller,
    Clock,
    _echoed,
    _instant,
    creating_operations,
    served_operation,
)
from generators._casework import CASE_TEMPLATES
from generators._ids import IdSource, case_ref_id
from generators._schema import PER_SPEC
from spec import ContractSpec, Operation, load_spec

# The component schema of the answer `build_case` produces (see TASK_SCHEMA in _builder.py).
CASE_SCHEMA = "Case"
# A template sent by id has this prefix; anything else is a template's name (decision
# case-template-id-in-name-out).
TEMPLATE_ID_PREFIX = "ctm-"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Fields of the template the request or the platform fills in; the rest are a new case's defaults.
_FILLED = frozenset({"name", "lname", "caseTmp", "userInfo", "participants", "currAssignee", "assigneeType"})


def case_operations(spec: ContractSpec) -> tuple[Operation, ...]:
    """The operations that create what the case schema describes (what `build_case` produces)."""
    return creating_operations(spec, CASE_SCHEMA)


def case_operation(spec: ContractSpec, operation: Operation | None = None) -> Operation:
    """The operation a case answers: `operation` when given (it must create a case), else the spec's one."""
    return served_operation(spec, operation, CASE_SCHEMA, "build_case")


def seed_sample_case(spec: ContractSpec, operation: Operation | None = None) -> Mapping[str, Any]:
    """The seed page's sample answer of the case operation (`operation`, or the spec's one)."""
    return case_operation(spec, operation).response_examples()[SEED_EXAMPLE]  # type: ignore[no-any-return]


def _defaults(spec: ContractSpec, operation: Operation) -> bytes:
    def make() -> bytes:
        template = operation.response_examples()[SEED_EXAMPLE]
        return orjson.dumps({key: value for key, value in template.items() if key not in _FILLED})

    return PER_SPEC.get(spec, ("case-defaults", operation.id), make)  # type: ignore[no-any-return]


def template_name(sent: str) -> str:
    """The template name a case answers for the `caseTmp` sent: a `ctm-` id names one template, a name itself.

    Example:
        >>> template_name("Billing"), template_name("ctm-1") == template_name("ctm-1")
        ('Billing', True)
    """
    if not sent.startswith(TEMPLATE_ID_PREFIX):
        return sent
    digest = hashlib.sha256(sent.encode("utf-8")).digest()
    return CASE_TEMPLATES[int.from_bytes(digest[:4], "big") % len(CASE_TEMPLATES)]


def stored_user(request: Mapping[str, Any]) -> dict[str, Any]:
    """The case's `userInfo`: `_id` (sent as `_id` or `id`), name, and contacts sent inside or beside it."""
    sent = request.get("userInfo")
    sent = sent if isinstance(sent, Mapping) else {}
    user: dict[str, Any] = {}
    user_id = sent.get("_id", sent.get("id"))
    if isinstance(user_id, str):
        user["_id"] = user_id
    name = sent.get("name")
    user["name"] = name if isinstance(name, str) else ""
    for key in ("emailId", "phoneNumber"):
        value = sent.get(key, request.get(key))
        if isinstance(value, str):
            user[key] = value
    return user


def due_date_forms(sent: Any) -> tuple[Any, str]:
    """(`dueDate` as stored, `ETA`): epoch ms and ISO 8601 of the instant sent in either form.

    An instant that epoch ms cannot hold (before 1970) or that Python cannot read (a leap second)
    is kept as sent.

    Example:
        >>> due_date_forms("2026-09-04T14:15:00Z")
        (1788531300000, '2026-09-04T14:15:00.000Z')
        >>> due_date_forms(1788531300000)
        (1788531300000, '2026-09-04T14:15:00.000Z')
    """
    if isinstance(sent, int) and not isinstance(sent, bool):
        try:
            instant = _EPOCH + timedelta(milliseconds=sent)
        except OverflowError:
            return sent, ""
        return sent, _iso(instant)
    if isinstance(sent, str):
        try:
            parsed = datetime.fromisoformat(sent)
        except ValueError:
            return sent, sent
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = (parsed - _EPOCH) // timedelta(milliseconds=1)
        try:
            eta = _iso(parsed)
        except OverflowError:
            # Valid RFC 3339 whose UTC form falls outside years 1-9999 (`9999-12-31T23:59:59-23:59`):
            # Python cannot write it in UTC, so the ETA keeps the form it was sent in.
            eta = sent
        return (ms if ms >= 0 else sent), eta
    return sent, ""


def _iso(instant: datetime) -> str:
    return _instant(lambda: instant)[0]


def build_case(
    request: Mapping[str, Any],
    *,
    stream_id: str,
    account_id: str,
    caller: Caller,
    clock: Clock,
    ids: IdSource,
    spec: ContractSpec | None = None,
    operation: Operation | None = None,
) -> dict[str, Any]:
    """The case the platform answers to a validated request, with its defaults and new ids.

    Example:
        >>> from generators import FrozenClock, SeededIds
        >>> from spec import load_spec
        >>> case = build_case(
        ...     load_spec().operation("createCase").request_examples["seed-sample"],
        ...     stream_id="st-084d3c5e-376a-559f-9987-a012bb2b0c1d",
        ...     account_id="6639f7bd58c97ffac03b1a2c",
        ...     caller=Caller.for_app("cs-5e3b1a4f-0c2d-5e6f-8a9b-0c1d2e3f4a5b"),
        ...     clock=FrozenClock(datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC)),
        ...     ids=SeededIds(1),
        ... )
        >>> case["refId"], case["lname"], case["userInfo"]["emailId"], case["dueDate"], case["ETA"]
        ('CS000001', 'this is demo case', 'dummy.898@gmail.com', 1788531300000, '2026-09-04T14:15:00.000Z')
    """
    contract = spec if spec is not None else load_spec()
    served = case_operation(contract, operation)
    schema = served.request_schema or {}
    missing = [name for name in schema.get("required", ()) if name not in request]
    if missing:
        raise ValueError(f"build_case needs a request valid against the spec; it lacks {missing}")
    template = served.response_examples()[SEED_EXAMPLE]
    defaults: dict[str, Any] = orjson.loads(_defaults(contract, served))
    created_at, timestamp = _instant(clock)
    number = ids.next_ref_number(account_id)
    actor = caller.actor()
    agent = {"aId": ids.new_id("a", key=caller.user_id), "name": caller.name, "agentId": caller.user_id}
    due_date, eta = due_date_forms(request.get("dueDate"))
    computed: dict[str, Any] = {
        **{name: request[name] for name in _echoed(contract, served) if name in request},
        "_id": ids.new_id("ci", key=f"{account_id}/case/{number}"),
        "refId": case_ref_id(number),
        "caseTmp": template_name(str(request["caseTmp"])),
        "userInfo": stored_user(request),
        "accountId": account_id,
        "iId": stream_id,
        # Per-account ids: the same account always shows the same org, status, priority and fields.
        "orgId": ids.new_id("o", key=account_id),
        "status": {**defaults["status"], "_id": ids.new_id("sts", key=account_id)},
        "priority": {**defaults["priority"], "_id": ids.new_id("pr", key=account_id)},
        "fields": [
            {**field, "_id": ids.new_id("fd", key=f"{account_id}/case/{field['metaData']['name']}")}
            for field in defaults["fields"]
        ],
        # The seed sample's new case is assigned to the agent who created it.
        "participants": [
            {
                "agentId": caller.user_id,
                "aId": agent["aId"],
                "name": caller.name,
                "pStatus": "ACTIVE",
                "assignedAt": created_at,
            }
        ],
        "assigneeType": "agent",
        "currAssignee": agent,
        "createdBy": actor,
        "updatedBy": dict(actor),
        "timestampValue": timestamp,
        "createdAt": created_at,
        "updatedAt": created_at,
        "ETA": eta,
    }
    if "name" in request:
        computed["lname"] = str(request["name"]).lower()
    case: dict[str, Any] = {}
    for key in template:
        if key in computed:
            case[key] = computed.pop(key)
        elif key in defaults:
            case[key] = defaults[key]
    # Stored fields the sample does not show (`desc`, `dueDate`) come last; getCases lists them.
    case.update(computed)
    if "dueDate" in request:
        case["dueDate"] = due_date
    return case
