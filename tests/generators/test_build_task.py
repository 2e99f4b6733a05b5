"""build_task(): the platform's answer, valid against the 200 schema and keeping every declared relation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators import PRIORITIES, Caller, FrozenClock, SeededIds, build_task, system_clock, valid_requests
from generators._ids import id_regex
from spec import RequestFacts, check_relations, load_spec
from tests.generators.helpers import STREAM, task_errors

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createTask")
SAMPLE = OPERATION.response_examples()["seed-sample"]
ACCOUNT = "6639f7bd58c97ffac03b1a2c"
CALLER = Caller("u-9471a3c6-d950-5720-a812-fbc1ac9f0ad2", "John Doe")
INSTANT = datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2001, 1, 1),
    max_value=datetime(2099, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


def _build(
    request: Mapping[str, Any], *, ids: Any = None, clock: Any = None, account: str = ACCOUNT
) -> dict[str, Any]:
    return build_task(
        request,
        stream_id=STREAM,
        account_id=account,
        caller=CALLER,
        clock=clock or FrozenClock(INSTANT),
        ids=ids or SeededIds(0),
    )


def _facts(request: Mapping[str, Any], account: str = ACCOUNT) -> RequestFacts:
    return RequestFacts(body=request, path={"streamId": STREAM}, headers={"accountId": account})


@given(st.lists(valid_requests(operation=OPERATION), min_size=1, max_size=3), instants, st.integers(0, 2**32))
def test_built_tasks_validate_and_keep_every_relation(
    requests: list[dict[str, Any]], instant: datetime, seed: int
) -> None:
    ids = SeededIds(seed)
    seen: dict[str, set[str]] = {}
    for request in requests:
        task = _build(request, ids=ids, clock=FrozenClock(instant))
        assert task_errors(CONTRACT, task) == []
        assert [str(v) for v in check_relations(OPERATION.relations, _facts(request), task, seen=seen)] == []


@given(valid_requests(operation="createTask", realistic=False))
def test_tasks_from_schema_only_requests_validate(request: dict[str, Any]) -> None:
    task = _build(request)
    assert task_errors(CONTRACT, task) == []
    assert check_relations(OPERATION.relations, _facts(request), task) == []


@pytest.mark.parametrize("name", sorted(OPERATION.request_examples))
def test_named_examples_build_like_their_documented_answers(name: str) -> None:
    request = OPERATION.request_examples[name]
    documented = OPERATION.response_examples()[name]
    author = documented["createdBy"]
    task = build_task(
        request,
        stream_id=documented["iId"],
        account_id=ACCOUNT,
        caller=Caller(author["_id"], author["name"], author["profImage"]),
        clock=FrozenClock(INSTANT),
        ids=SeededIds(0),
    )
    assert task_errors(CONTRACT, task) == []
    assert list(task) == [key for key in documented if key in task]
    assert set(documented) - {"desc"} <= set(task)
    # Everything but the minted ids, the clock, the account and the seed's `jbhk` template matches.
    minted = {
        "_id",
        "refId",
        "orgId",
        "status",
        "priority",
        "fields",
        "accountId",
        "taskTmp",
        "createdAt",
        "updatedAt",
        "timestampValue",
    }
    assert {k: v for k, v in task.items() if k not in minted} == {
        k: v for k, v in documented.items() if k not in minted
    }
    assert task["taskTmp"] == request["taskTmp"]


def test_seed_sample_defaults() -> None:
    task = _build(OPERATION.request_examples["seed-sample"])
    assert task["status"] | {"_id": None} == SAMPLE["status"] | {"_id": None}
    assert (
        task["priority"] | {"_id": None}
        == SAMPLE["priority"] | {"_id": None}
        == dict(PRIORITIES["Medium"]) | {"_id": None}
    )
    assert [f | {"_id": None} for f in task["fields"]] == [f | {"_id": None} for f in SAMPLE["fields"]]
    assert (
        task["createdBy"]
        == task["updatedBy"]
        == {"name": "John Doe", "_id": CALLER.user_id, "profImage": "no-avatar"}
    )
    assert task["createdBy"] is not task["updatedBy"]
    for key, prefix in (("_id", "ti"), ("orgId", "o")):
        assert re.fullmatch(id_regex(prefix), task[key])
    assert re.fullmatch(id_regex("sts"), task["status"]["_id"])
    assert re.fullmatch(id_regex("pr"), task["priority"]["_id"])
    assert all(re.fullmatch(id_regex("fd"), f["_id"]) for f in task["fields"])


def test_user_info_keeps_id_and_name_or_the_contacts_sent() -> None:
    base = dict(OPERATION.request_examples["seed-sample"])
    with_id = {
        **base,
        "userInfo": {
            "_id": "u-1",
            "name": "Dana",
            "emailId": "d@example.com",
            "phoneNumber": "+14155550123",
            "x-a": 1,
        },
    }
    assert _build(with_id)["userInfo"] == {"_id": "u-1", "name": "Dana"}
    without_id = {
        **base,
        "userInfo": {"phoneNumber": "+14155550123", "name": "Dana", "emailId": "d@example.com"},
    }
    assert list(_build(without_id)["userInfo"].items()) == [
        ("name", "Dana"),
        ("emailId", "d@example.com"),
        ("phoneNumber", "+14155550123"),
    ]


def test_no_task_name_means_no_name_and_no_lname() -> None:
    request = {k: v for k, v in OPERATION.request_examples["seed-sample"].items() if k != "name"}
    task = _build(request)
    assert "name" not in task and "lname" not in task
    assert task_errors(CONTRACT, task) == []


def test_desc_is_echoed_last_when_sent() -> None:
    task = _build({**OPERATION.request_examples["seed-sample"], "desc": "Call before noon."})
    assert list(task)[-1] == "desc" and task["desc"] == "Call before noon."


def test_lname_is_the_lower_cased_name() -> None:
    task = _build({**OPERATION.request_examples["seed-sample"], "name": "Ärger MIT İstanbul"})
    assert task["lname"] == "Ärger MIT İstanbul".lower()


@pytest.mark.parametrize(
    ("instant", "printed", "epoch_ms"),
    [
        (INSTANT, "2025-06-04T10:18:00.725Z", 1749032280725),
        (datetime(2025, 6, 4, 10, 18, 0, 725999, tzinfo=UTC), "2025-06-04T10:18:00.725Z", 1749032280725),
        (
            datetime(2025, 6, 4, 15, 48, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2025-06-04T10:18:00.000Z",
            1749032280000,
        ),
    ],
)
def test_timestamps_are_one_instant(instant: datetime, printed: str, epoch_ms: int) -> None:
    task = _build(OPERATION.request_examples["seed-sample"], clock=FrozenClock(instant))
    assert task["createdAt"] == task["updatedAt"] == printed
    assert task["timestampValue"] == epoch_ms


def test_ref_numbers_and_task_ids_are_new_per_task_and_account_ids_stay() -> None:
    ids = SeededIds(5)
    request = OPERATION.request_examples["email-only-user"]
    first, second = _build(request, ids=ids), _build(request, ids=ids)
    other = _build(request, ids=ids, account="0123456789abcdef01234567")
    assert (first["refId"], second["refId"], other["refId"]) == ("TS000001", "TS000002", "TS000001")
    assert first["_id"] != second["_id"] != other["_id"]
    for key in ("orgId", "status", "priority", "fields"):
        assert first[key] == second[key]
        assert first[key] != other[key]


class _SharedCounter:
    """A worker: its own SeededIds, a counter shared with the other workers (what the mock's SQLite gives)."""

    def __init__(self, seed: int, counters: dict[str, int]) -> None:
        self._ids = SeededIds(seed)
        self.counters = counters

    def next_ref_number(self, account_id: str) -> int:
        self.counters[account_id] = self.counters.get(account_id, 0) + 1
        return self.counters[account_id]

    def new_id(self, prefix: str, *, key: str) -> str:
        return self._ids.new_id(prefix, key=key)


def test_workers_with_the_same_seed_answer_alike() -> None:
    request = OPERATION.request_examples["phone-only-user"]
    alone = SeededIds(9)
    expected = [_build(request, ids=alone) for _ in range(4)]
    shared: dict[str, int] = {}
    workers = [_SharedCounter(9, shared), _SharedCounter(9, shared)]
    assert [_build(request, ids=workers[i % 2]) for i in range(4)] == expected


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._ids = SeededIds(1)

    def next_ref_number(self, account_id: str) -> int:
        return 7

    def new_id(self, prefix: str, *, key: str) -> str:
        self.calls.append((prefix, key))
        return self._ids.new_id(prefix, key=key)


def test_every_id_is_minted_by_the_id_source_with_derived_keys() -> None:
    recording = _Recording()
    task = _build(OPERATION.request_examples["seed-sample"], ids=recording)
    minted = {recording._ids.new_id(p, key=k) for p, k in recording.calls}
    ids = {
        task["_id"],
        task["orgId"],
        task["status"]["_id"],
        task["priority"]["_id"],
        *(f["_id"] for f in task["fields"]),
    }
    assert ids == minted
    keys = dict(recording.calls)
    assert ACCOUNT in keys["ti"] and "7" in keys["ti"]
    assert keys["o"] == keys["sts"] == keys["pr"] == ACCOUNT
    assert all(
        k.startswith(ACCOUNT) and "7" not in k.removeprefix(ACCOUNT) for p, k in recording.calls if p == "fd"
    )


def test_caller_for_app_is_stable_and_realistic() -> None:
    caller = Caller.for_app("cs-5e3b1a4f-0c2d-5e6f-8a9b-0c1d2e3f4a5b")
    assert caller == Caller.for_app("cs-5e3b1a4f-0c2d-5e6f-8a9b-0c1d2e3f4a5b")
    assert caller != Caller.for_app("cs-other")
    assert caller != Caller.for_app("cs-5e3b1a4f-0c2d-5e6f-8a9b-0c1d2e3f4a5b", seed=1)
    assert re.fullmatch(id_regex("u"), caller.user_id)
    assert len(caller.name.split()) == 2 and caller.prof_image == "no-avatar"


def test_clocks() -> None:
    now = system_clock()()
    assert now.tzinfo is not None and abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2025, 1, 1))
    with pytest.raises(TypeError, match=r"system_clock\(\)"):
        _build(OPERATION.request_examples["seed-sample"], clock=lambda: datetime(2025, 1, 1))
    with pytest.raises(TypeError, match="timezone-aware"):
        _build(OPERATION.request_examples["seed-sample"], clock=system_clock)


def test_an_invalid_request_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="caseId"):
        _build({"userInfo": {"name": "x", "_id": "u"}})
