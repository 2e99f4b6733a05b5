"""Relations over sequences of calls (`x-contract-sequences`) and the listing rules they use.

Each relation kind is shown kept by a faithful sequence of exchanges and broken by one fault; the
listing rules (`x-filter`, `x-sort`, `x-page`) are shown on small stores.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from spec import SPEC_PATH, Exchange, Listing, Sequences, SpecLocationError, Store, load_spec
from spec._loader import SEQUENCE_KINDS

CONTRACT = load_spec()
SEQ = Sequences(CONTRACT)
ACCOUNT, OTHER = "6639f7bd58c97ffac03b1a2c", "6639f7bd58c97ffac03b9f9f"
STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b4c1d"
AGENT = "u-320fa237-51be-5c46-a046-14e97c770001"


def case(n: int, name: str, *, account: str = ACCOUNT, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CONTRACT.operation("createCase").response_examples()["email-inside-user"])
    stamp = f"2025-11-0{n}T09:00:00.000Z"
    body.update(
        {
            "_id": f"ci-5b0e7a1-93c2-4f6e-a1d4-7c2e9b84d1f{n}",
            "refId": f"CS00030{n}",
            "name": name,
            "lname": name.lower(),
            "accountId": account,
            "iId": STREAM,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
    )
    body.update(changes)
    return body


def task(n: int, name: str, case_id: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(CONTRACT.operation("createTask").response_examples()["email-only-user"])
    stamp = f"2025-11-0{n}T10:00:00.000Z"
    body.update(
        {
            "_id": f"ti-73acd32-0123-4114-9891-00a950aa000{n}",
            "refId": f"TS00040{n}",
            "caseId": case_id,
            "name": name,
            "lname": name.lower(),
            "accountId": ACCOUNT,
            "iId": STREAM,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
    )
    body.update(changes)
    return body


def page(
    results: list[dict[str, Any]], *, page: int = 1, limit: int = 50, total: int | None = None
) -> dict[str, Any]:
    total = len(results) if total is None else total
    pages = -(-total // limit)
    return {
        "results": results,
        "page": page,
        "limit": limit,
        "hasMore": page < pages,
        "totalPages": pages,
        "totalResults": total,
    }


def checks(findings: list[Any]) -> list[str]:
    return [f.check for f in findings]


def created(store: Store, *objects: dict[str, Any]) -> None:
    for obj in objects:
        op = "createCase" if obj["_id"].startswith("ci-") else "createTask"
        assert SEQ.observe(store, Exchange(op, obj["accountId"], STREAM, {}, 200, obj)) == []


# -- the declarations ------------------------------------------------------------------------


def test_the_spec_declares_the_family_sequences() -> None:
    sequences = CONTRACT.sequences
    assert [(c.name, c.create, c.list, c.update, c.path_id) for c in sequences.collections] == [
        ("cases", "createCase", "getCases", "updateCase", "caseId"),
        ("tasks", "createTask", "getTasks", "updateTask", "taskId"),
    ]
    kinds = {r.kind for r in sequences.relations}
    assert kinds == SEQUENCE_KINDS
    decided = {d.id for d in CONTRACT.decisions}
    for relation in sequences.relations:
        assert relation.description and relation.basis in ("seed", "decision"), relation.id
        assert relation.decision is None or relation.decision in decided
        assert set(relation.operations) <= set(CONTRACT.operations)
    assert {r.id for r in sequences.relations}.isdisjoint({r.id for r in CONTRACT.relations})


def test_each_listing_operation_declares_filters_sort_and_paging() -> None:
    for op_id in ("getCases", "getTasks"):
        listing = SEQ.listing(op_id)
        assert {f.field for f in listing.filters} >= {
            "/priority",
            "/status",
            "/searchText",
            "/mycase",
            "/mytask",
        }
        assert listing.sort is not None and listing.paging is not None
        assert (listing.paging.default_limit, listing.paging.maximum_limit) == (50, 100)
    with pytest.raises(ValueError, match="createCase"):
        SEQ.listing("createCase")


def test_no_code_of_the_interpreters_names_an_operation() -> None:
    for module in ("_sequences.py", "_listing.py"):
        code = "\n".join(
            line
            for line in (SPEC_PATH.parent / module).read_text().splitlines()
            if not line.lstrip().startswith(">>>")
        )
        assert not re.search(r"(create|get|update)(Case|Task)s?\b", code.split('"""', 2)[-1]), module


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "spec"
    shutil.copytree(SPEC_PATH.parent, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


@pytest.mark.parametrize(
    ("old", "new", "pointer_end", "says"),
    [
        (
            "      list: getCases\n",
            "      list: getCase\n",
            "/collections/0/list",
            "'getCase' is not an operationId",
        ),
        ("kind: pages-partition", "kind: pages-partitions", "/kind", "sequence kind 'pages-partitions'"),
        ("decision: task-joins-case\n", "decision: task-joins\n", "/decision", "must name a decision"),
    ],
)
def test_the_loader_names_a_broken_sequence(
    spec_copy: Path, old: str, new: str, pointer_end: str, says: str
) -> None:
    root = spec_copy / "openapi.yaml"
    text = root.read_text()
    assert old in text
    root.write_text(text.replace(old, new, 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(root)
    assert info.value.file == str(root) and info.value.pointer.startswith("/x-contract-sequences/")
    assert info.value.pointer.endswith(pointer_end) and says in str(info.value)


def test_the_loader_names_a_broken_filter(spec_copy: Path) -> None:
    path_file = spec_copy / "paths" / "getTasks.yaml"
    path_file.write_text(path_file.read_text().replace("match: contains", "match: resembles", 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(spec_copy / "openapi.yaml")
    assert info.value.file == str(path_file) and info.value.pointer == "/post/x-filter/0/match"
    assert "'resembles'" in str(info.value)


def test_a_sequence_id_may_not_repeat_an_answer_relation(spec_copy: Path) -> None:
    root = spec_copy / "openapi.yaml"
    root.write_text(root.read_text().replace("- id: tasks-last-page\n", "- id: echo-caseId\n", 1))
    with pytest.raises(SpecLocationError, match="'echo-caseId' is missing or repeated"):
        load_spec(root)


# -- listing rules ---------------------------------------------------------------------------

TASKS = Listing.parse(CONTRACT.operation("getTasks").definition)
assert TASKS is not None


def _ids(items: Any) -> list[str]:
    return [i["_id"] for i in items]


STORED = [
    task(1, "Refund the duplicate charge", "ci-1", priority={"name": "High", "score": 20}),
    task(2, "Call back customer", "ci-1", status={"name": "In-Progress", "statusCategory": "open"}),
    task(3, "Close refund ticket", "ci-1", status={"name": "Done", "statusCategory": "resolved"}),
    task(4, "Verify address", "ci-2", assigneeType="agent", currAssignee={"agentId": AGENT}, source="email"),
]


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({}, [1, 2, 3, 4]),
        ({"searchText": "REFUND"}, [1, 3]),
        ({"searchText": ""}, [1, 2, 3, 4]),
        ({"priority": ["high"]}, [1]),
        ({"priority": ["High", "Medium"]}, [1, 2, 3, 4]),
        ({"priority": []}, [1, 2, 3, 4]),
        ({"status": ["in-progress", "done"]}, [2, 3]),
        ({"searchText": "refund", "status": ["Open"]}, [1]),
        ({"channel": ["EMAIL"]}, [4]),
        ({"unresolved": True}, [1, 2, 4]),
        ({"unresolved": False}, [1, 2, 3, 4]),
        ({"unassigned": True}, [1, 2, 3]),
        ({"mytask": True}, [4]),
        ({"mycase": True}, [4]),
        ({"startDate": "2025-11-02T10:00:00.000Z"}, [2, 3, 4]),
        ({"endDate": "2025-11-02T10:00:00.000Z"}, [1, 2]),
        ({"startDate": 1762077600000, "endDate": "2025-11-03T10:00:00Z"}, [2, 3]),
    ],
)
def test_filters_keep_exactly_the_matching_items(body: dict[str, Any], kept: list[int]) -> None:
    assert [n for n, item in enumerate(STORED, 1) if TASKS.keeps(item, body, AGENT)] == kept


def test_mine_without_a_known_caller_keeps_nothing() -> None:
    assert [t for t in STORED if TASKS.keeps(t, {"mytask": True}, None)] == []


def test_due_date_filter_matches_the_instant_in_either_form() -> None:
    due = task(5, "Due", "ci-1", dueDate=1762534800000)
    assert TASKS.keeps(due, {"dueDate": "2025-11-07T17:00:00.000Z"})
    assert TASKS.keeps(due, {"dueDate": 1762534800000})
    assert not TASKS.keeps(due, {"dueDate": "2025-11-07T17:00:00.001Z"})


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        (None, [4, 3, 2, 1]),
        ("createdDate", [1, 2, 3, 4]),
        ({"createdAt": "desc"}, [4, 3, 2, 1]),
        ({"priority": "desc"}, [1, 2, 3, 4]),
        ("name", [2, 3, 1, 4]),
        ("no such key", [4, 3, 2, 1]),
        ({"dueDate": "desc"}, [2, 1, 3, 4]),
        ({"dueDate": "asc"}, [1, 2, 3, 4]),
    ],
)
def test_sort_forms_keys_and_missing_values(sort: Any, order: list[int]) -> None:
    stored = copy.deepcopy(STORED)
    stored[0]["dueDate"], stored[1]["dueDate"] = "2025-12-01T00:00:00Z", 1767225600000  # 2026-01-01
    stored[1]["priority"] = {"name": "Medium", "score": 10}
    body = {} if sort is None else {"sortBy": sort}
    expected = TASKS.expected(stored, body)
    assert [int(t["_id"][-1]) for t in expected.results] == order


@pytest.mark.parametrize(
    ("body", "answered", "ids", "page", "limit", "has_more", "pages"),
    [
        ({"page": 1, "limit": 2}, None, [4, 3], 1, 2, True, 2),
        ({"page": 2, "limit": 2}, None, [2, 1], 2, 2, False, 2),
        ({"skip": 1, "limit": 2}, None, [3, 2], 1, 2, True, 2),
        ({"skip": 2, "page": 1, "limit": 2}, None, [2, 1], 2, 2, False, 2),
        ({"page": 9, "limit": 2}, None, [], 9, 2, False, 2),
        ({"limit": 1000}, None, [4, 3, 2, 1], 1, 100, False, 1),
        ({"skip": 0, "limit": 50}, 3, [4, 3, 2], 1, 3, True, 2),
        ({"limit": 2}, 10, [4, 3], 1, 2, True, 2),
    ],
)
def test_paging_skip_or_page_default_maximum_and_smaller_answers(
    body: dict[str, Any],
    answered: int | None,
    ids: list[int],
    page: int,
    limit: int,
    has_more: bool,
    pages: int,
) -> None:
    expected = TASKS.expected(STORED, body, answered_limit=answered)
    assert [int(t["_id"][-1]) for t in expected.results] == ids
    assert (expected.page, expected.limit, expected.has_more, expected.total_pages) == (
        page,
        limit,
        has_more,
        pages,
    )
    assert expected.total_results == 4


# -- relations over calls ----------------------------------------------------------------------


def test_a_created_case_is_listed_in_its_scope_and_no_other() -> None:
    store = Store()
    one, two, foreign = case(1, "Refund"), case(2, "Address"), case(3, "Other", account=OTHER)
    created(store, one, two, foreign)
    assert SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([two, one]))) == []
    assert SEQ.observe(store, Exchange("getCases", OTHER, STREAM, {}, 200, page([foreign]))) == []
    assert SEQ.observe(store, Exchange("getCases", ACCOUNT, "st-another", {}, 200, page([]))) == []
    missing = SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([two])))
    assert "relation:case-listed-after-create" in checks(missing)
    leaked = SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([two, one, foreign])))
    assert (
        checks(leaked)[0] == "relation:case-listed-after-create"
        and leaked[0].pointer == "/body/results/2/_id"
    )
    assert leaked[0].decision == "account-stream-scope" and leaked[0].basis.value == "decision"


def test_a_listing_in_the_wrong_order_or_count_is_found() -> None:
    store = Store()
    one, two = case(1, "Refund"), case(2, "Address")
    created(store, one, two)
    assert checks(SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([one, two])))) == [
        "relation:cases-listing-exact"
    ]
    wrong_total = page([two, one], total=3)
    assert "relation:cases-total-counts" in checks(
        SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, wrong_total))
    )
    wrong_flag = {**page([two, one]), "hasMore": True}
    assert checks(SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, wrong_flag))) == [
        "relation:cases-last-page"
    ]


def test_a_page_starting_part_way_ends_where_the_items_end() -> None:
    """skip 1, limit 2 over 3 cases: items 1-2 are the last ones, so hasMore is false although page 1 <
    totalPages 2 (decision `pagination`: the page starts at `skip`); the judge and Listing agree."""
    store = Store()
    one, two, three = case(1, "Refund"), case(2, "Address"), case(3, "Billing")
    created(store, one, two, three)
    body = {"skip": 1, "limit": 2}
    expected = SEQ.expected_page(store, Exchange("getCases", ACCOUNT, STREAM, body, 200, {}))
    assert expected.has_more is False and (expected.page, expected.total_pages) == (1, 2)
    answer = {
        "results": list(expected.results),
        "page": 1,
        "limit": 2,
        "hasMore": False,
        "totalPages": 2,
        "totalResults": 3,
    }
    assert checks(SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, body, 200, answer))) == []
    assert checks(SEQ.check_page("getCases", body, answer)) == []
    assert "relation:cases-last-page" in checks(SEQ.check_page("getCases", body, {**answer, "hasMore": True}))


def test_an_update_answers_and_lists_the_merged_object() -> None:
    store = Store()
    one = case(1, "Refund")
    created(store, one)
    body = {"name": "Refund - Escalated", "refId": "CS999999", "priority": {"name": "High"}}
    stamp = "2025-11-05T09:00:00.000Z"
    answer = {**one, "name": body["name"], "lname": body["name"].lower(), "updatedAt": stamp}
    answer["priority"] = {**one["priority"], "name": "High"}
    exchange = Exchange("updateCase", ACCOUNT, STREAM, body, 200, answer, {"caseId": one["_id"]})
    assert SEQ.observe(store, exchange) == []
    stored = store.bucket("cases", (ACCOUNT, STREAM))[one["_id"]]
    assert (stored["name"], stored["lname"], stored["refId"], stored["updatedAt"]) == (
        body["name"],
        body["name"].lower(),
        one["refId"],
        stamp,
    )
    assert SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([answer]))) == []
    stale = SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([one])))
    assert "relation:case-update-merged" in checks(stale)
    assert "relation:case-updated-at-forward" in checks(stale)


@pytest.mark.parametrize(
    ("change", "relation"),
    [
        ({"name": "Refund"}, "relation:case-update-merged"),
        ({"lname": "REFUND - ESCALATED"}, "relation:case-lname-follows-name"),
        ({"refId": "CS999999"}, "relation:case-ids-unchanged"),
        ({"createdAt": "2025-11-04T00:00:00.000Z"}, "relation:case-ids-unchanged"),
        ({"updatedAt": "2025-10-01T00:00:00.000Z"}, "relation:case-updated-at-forward"),
    ],
)
def test_each_update_fault_is_found(change: dict[str, Any], relation: str) -> None:
    store = Store()
    one = case(1, "Refund")
    created(store, one)
    body = {"name": "Refund - Escalated"}
    answer = {
        **one,
        "name": body["name"],
        "lname": body["name"].lower(),
        "updatedAt": "2025-11-05T09:00:00.000Z",
    }
    answer.update(change)
    found = SEQ.observe(
        store, Exchange("updateCase", ACCOUNT, STREAM, body, 200, answer, {"caseId": one["_id"]})
    )
    assert relation in checks(found)
    assert all(not f.replayable for f in found)


def test_read_only_and_ignored_fields_are_never_merged() -> None:
    stored = task(1, "Refund", "ci-1")
    merged = SEQ.merged(
        "updateTask",
        stored,
        {"_id": "ti-x", "caseId": "ci-9", "taskIds": ["x"], "name": "New", "lname": "zzz"},
    )
    assert (merged["_id"], merged["caseId"], merged["name"], merged["lname"]) == (
        stored["_id"],
        "ci-1",
        "New",
        "new",
    )
    assert "taskIds" not in merged
    assert SEQ.merged("updateCase", case(1, "A"), {"dueDate": 1})["dueDate"] == 1


def test_an_update_of_an_unknown_object_is_not_judged_here() -> None:
    answer = case(1, "Refund")
    assert (
        SEQ.observe(
            Store(), Exchange("updateCase", ACCOUNT, STREAM, {}, 200, answer, {"caseId": "ci-unknown"})
        )
        == []
    )


def test_a_new_task_joins_its_case() -> None:
    store = Store()
    one = case(1, "Refund")
    created(store, one)
    created(store, task(1, "Call", one["_id"]), task(2, "Elsewhere", "ci-not-stored"))
    assert store.bucket("cases", (ACCOUNT, STREAM))[one["_id"]]["taskIds"] == [task(1, "Call", "")["_id"]]
    joined = {**one, "taskIds": [task(1, "Call", "")["_id"]]}
    assert SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([joined]))) == []
    found = SEQ.observe(store, Exchange("getCases", ACCOUNT, STREAM, {}, 200, page([one])))
    assert "relation:task-joins-case" in checks(found)


def test_slim_listed_tasks_agree_with_the_stored_tasks() -> None:
    store = Store()
    one, two = task(1, "Refund", "ci-1"), task(2, "Call", "ci-1")
    created(store, one, two)
    slim = [
        {k: t[k] for k in ("_id", "caseId", "caseRefId", "name", "createdAt", "updatedAt")}
        for t in (two, one)
    ]
    for item, full in zip(slim, (two, one), strict=True):
        item["priority"] = {"name": full["priority"]["name"], "color": full["priority"]["color"]}
    assert SEQ.observe(store, Exchange("getTasks", ACCOUNT, STREAM, {}, 200, page(slim))) == []
    slim[0]["priority"]["name"] = "Critical"
    assert checks(SEQ.observe(store, Exchange("getTasks", ACCOUNT, STREAM, {}, 200, page(slim)))) == [
        "relation:task-listed-after-create"
    ]


def test_pages_walked_to_the_end_partition_the_listing() -> None:
    store = Store()
    tasks = [task(n, f"Task {n}", "ci-1") for n in range(1, 6)]
    created(store, *tasks)
    answers = []
    for number in (1, 2, 3):
        body = {"page": number, "limit": 2}
        expected = SEQ.expected_page(store, Exchange("getTasks", ACCOUNT, STREAM, body, 200, {}))
        answer = page(list(expected.results), page=number, limit=2, total=5)
        assert SEQ.observe(store, Exchange("getTasks", ACCOUNT, STREAM, body, 200, answer)) == []
        answers.append(answer)
    assert [t["_id"][-1] for a in answers for t in a["results"]] == ["5", "4", "3", "2", "1"]
    assert SEQ.check_pages("getTasks", answers) == []
    repeated = copy.deepcopy(answers)
    repeated[1]["results"][0] = repeated[0]["results"][0]
    assert checks(SEQ.check_pages("getTasks", repeated)) == ["relation:tasks-pages-partition"]
    early_end = copy.deepcopy(answers)
    early_end[1]["hasMore"] = False
    assert checks(SEQ.check_pages("getTasks", early_end)) == ["relation:tasks-last-page"]


def test_with_objects_made_before_the_run_only_the_filters_are_judged() -> None:
    store = Store(complete=False)
    mine = task(1, "Refund", "ci-1")
    created(store, mine)
    unknown = task(7, "Made elsewhere", "ci-1")
    listed = page([unknown, mine], total=40, limit=2)
    assert SEQ.observe(store, Exchange("getTasks", ACCOUNT, STREAM, {"limit": 2}, 200, listed)) == []
    wrong = SEQ.observe(
        store, Exchange("getTasks", ACCOUNT, STREAM, {"searchText": "refund", "limit": 2}, 200, listed)
    )
    assert [(f.check, f.pointer) for f in wrong] == [("relation:tasks-listing-exact", "/body/results/0")]


def test_failed_calls_change_nothing() -> None:
    store = Store()
    assert SEQ.observe(store, Exchange("createCase", ACCOUNT, STREAM, {}, 400, {"errors": []})) == []
    assert store.objects == {}


def test_the_listing_samples_are_only_forms() -> None:
    """The pages' listing samples answer other requests: against an empty store they list unknown objects."""
    sample = CONTRACT.operation("getTasks").response_examples()["seed-sample"]
    assert SEQ.observe(Store(complete=False), Exchange("getTasks", ACCOUNT, STREAM, {}, 200, sample)) == []
    decisions = yaml.safe_dump([d.decision for d in CONTRACT.decisions if d.id == "filter-matching"])
    assert "other requests" in decisions
