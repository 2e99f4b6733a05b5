"""A world of cases and their tasks over two accounts and two streams, as the platform would store them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from generators._builder import Caller, FrozenClock, build_task, task_operation
from generators._cases import build_case, case_operation
from generators._casework import (
    CASE_NAMES,
    CASE_PROGRESS,
    CASE_REPORTS,
    CASE_TEMPLATES,
    DUE_IN_DAYS,
    PRIORITIES,
    SOURCES,
    STATUSES,
    TASK_NAMES,
    TASK_NEXT_STEPS,
    TASK_SITUATIONS,
    case_description,
    task_description,
)
from generators._ids import HEX_DIGITS, SeededIds, hashed_nibbles
from generators._options import option_id
from generators._people import DEFAULT_LOCALES, EMAIL_DOMAINS, EMAIL_FORMS, LOCALES, Person
from spec import ContractSpec, Sequences, load_spec

WORLD_VERSION = 1
# The world starts at the createCase seed sample's instant; one object is created every few minutes.
_START = datetime(2025, 6, 3, 10, 51, 59, 779000, tzinfo=UTC)
_STEP = timedelta(minutes=4, seconds=17, milliseconds=113)


def _account(seed: int, index: int) -> str:
    return "".join(HEX_DIGITS[n] for n in hashed_nibbles(seed, "world-account", str(index))[:24])


def _person(rng: random.Random) -> Person:
    locale = rng.choice(DEFAULT_LOCALES)
    table = LOCALES[locale]
    return Person(locale, rng.choice(table.given_names), rng.choice(table.family_names))


def _user(rng: random.Random, ids: SeededIds, key: str) -> dict[str, Any]:
    person = _person(rng)
    user: dict[str, Any] = {"_id": ids.new_id("u", key=key), "name": person.name}
    if rng.random() < 0.6:
        user["emailId"] = person.email(rng.choice(EMAIL_FORMS), rng.choice(EMAIL_DOMAINS), rng.randint(1, 99))
    return user


def _case_request(rng: random.Random, ids: SeededIds, number: int, created: datetime) -> dict[str, Any]:
    due = created + timedelta(days=rng.choice(DUE_IN_DAYS))
    due_ms = int(due.timestamp() * 1000)
    return {
        "caseTmp": rng.choice((ids.new_id("ctm", key=f"template/{number % 4}"), rng.choice(CASE_TEMPLATES))),
        "name": rng.choice(CASE_NAMES),
        "desc": case_description(rng.choice(CASE_REPORTS), rng.choice(CASE_PROGRESS)),
        "userInfo": _user(rng, ids, f"case-user/{number}"),
        "source": rng.choice(SOURCES),
        # Both forms a client sends (decision due-date-forms).
        "dueDate": due_ms if rng.random() < 0.5 else due.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def _task_request(rng: random.Random, ids: SeededIds, case: dict[str, Any], number: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "caseId": case["_id"],
        "caseRefId": case["refId"],
        "taskTmp": ids.new_id("ttm", key=f"task-template/{number % 3}"),
        "name": rng.choice(TASK_NAMES),
        "userInfo": {
            "_id": case["userInfo"].get("_id", ids.new_id("u", key=f"task-user/{number}")),
            "name": case["userInfo"]["name"] or "Customer",
        },
        "source": case["source"],
    }
    if rng.random() < 0.7:
        body["desc"] = task_description(rng.choice(TASK_SITUATIONS), rng.choice(TASK_NEXT_STEPS))
    return body


def _update_body(rng: random.Random, ids: SeededIds, account: str) -> dict[str, Any]:
    """A few fields an agent changes: status, priority, sometimes the name."""
    status = rng.choice(STATUSES[1:])
    priority = PRIORITIES[rng.choice(("Low", "High", "Urgent"))]
    body: dict[str, Any] = {
        "status": {"_id": option_id("status", status["name"], account, ids), **status},
        "priority": {"_id": option_id("priority", priority["name"], account, ids), **priority},
    }
    if rng.random() < 0.3:
        body["name"] = rng.choice(CASE_NAMES)
    return body


def build_world(
    *, cases: int, tasks_per_case: int, seed: int, spec: ContractSpec | None = None
) -> dict[str, Any]:
    """Cases with their tasks in two accounts and two streams: the document `World` describes.

    Example:
        >>> world = build_world(cases=4, tasks_per_case=2, seed=1)
        >>> world["version"], len(world["cases"]), len(world["tasks"])
        (1, 4, 8)
    """
    if cases < 0 or tasks_per_case < 0:
        raise ValueError(f"cases and tasks_per_case must be >= 0, got {cases} and {tasks_per_case}")
    contract = spec if spec is not None else load_spec()
    sequences = Sequences(contract)
    case_op, task_op = case_operation(contract), task_operation(contract)
    update = next(
        (c.update for c in contract.sequences.collections if c.create == case_op.id and c.update), None
    )
    rng = random.Random(seed)
    ids = SeededIds(seed)
    accounts = [_account(seed, i) for i in range(2)]
    streams = [ids.new_id("st", key=f"world-stream/{i}") for i in range(2)]
    callers = {a: Caller.for_app(ids.new_id("cs", key=f"world-app/{a}"), seed=seed) for a in accounts}
    clock = iter(_START + i * _STEP for i in range(cases * (tasks_per_case + 2) + 1))
    built_cases: list[dict[str, Any]] = []
    built_tasks: list[dict[str, Any]] = []
    for number in range(cases):
        # Case i lives in account i % 2 and stream (i // 2) % 2: four cases cover both of each.
        account, stream = accounts[number % 2], streams[(number // 2) % 2]
        created = next(clock)
        case = build_case(
            _case_request(rng, ids, number, created),
            stream_id=stream,
            account_id=account,
            caller=callers[account],
            clock=FrozenClock(created),
            ids=ids,
            spec=contract,
            operation=case_op,
        )
        built_cases.append(case)
        for task_number in range(tasks_per_case):
            task = build_task(
                _task_request(rng, ids, case, number * 1000 + task_number),
                stream_id=stream,
                account_id=account,
                caller=callers[account],
                clock=FrozenClock(next(clock)),
                ids=ids,
                spec=contract,
                operation=task_op,
            )
            built_tasks.append(task)
            case["taskIds"].append(task["_id"])  # decision task-joins-case
    # Every third case is worked on after everything was created.
    for case in built_cases[::3] if update is not None else ():
        assert update is not None
        body = _update_body(rng, ids, case["accountId"])
        merged = sequences.merged(update, case, body)
        merged["updatedAt"] = FrozenClock(next(clock))().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        merged["updatedBy"] = callers[case["accountId"]].actor()
        case.clear()
        case.update(merged)
    return {"version": WORLD_VERSION, "cases": built_cases, "tasks": built_tasks}
