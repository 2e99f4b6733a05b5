"""The interpreter of x-contract-relations: each kind catches what it should and nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from spec import MISSING, RequestFacts, check_relations, load_spec, resolve_pointer
from spec._relations import check_relation

CONTRACT = load_spec()
STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b4e1b"


def _pair(name: str = "email-only-user") -> tuple[RequestFacts, dict[str, Any]]:
    body = copy.deepcopy(CONTRACT.operation("createTask").request_examples[name])
    task = copy.deepcopy(CONTRACT.operation("createTask").response_examples()[name])
    return RequestFacts(body=body, path={"streamId": STREAM}, headers={"AccountId": task["accountId"]}), task


def _broken(task: dict[str, Any]) -> set[str]:
    facts, _ = _pair()
    return {
        v.relation.id
        for v in check_relations(CONTRACT.operation("createTask").relations, facts, task, seen={})
    }


@pytest.mark.parametrize("name", ["email-only-user", "phone-only-user", "no-task-name"])
def test_named_examples_keep_every_relation(name: str) -> None:
    facts, task = _pair(name)
    assert check_relations(CONTRACT.operation("createTask").relations, facts, task, seen={}) == []


def test_the_seed_sample_breaks_only_the_decided_taskTmp_echo() -> None:
    body = CONTRACT.operation("createTask").request_examples["seed-sample"]
    task = CONTRACT.operation("createTask").response_examples()["seed-sample"]
    facts = RequestFacts(body=body, path={"streamId": task["iId"]})
    assert [
        v.relation.id
        for v in check_relations(CONTRACT.operation("createTask").relations, facts, task, seen={})
    ] == ["echo-taskTmp"]


@pytest.mark.parametrize(
    ("pointer", "value", "relation"),
    [
        ("/caseId", "ci-other", "echo-caseId"),
        ("/caseRefId", "CS999999", "echo-caseRefId"),
        ("/taskTmp", "jbhk", "echo-taskTmp"),
        ("/source", "email", "echo-source"),
        ("/name", "Another name", "echo-name"),
        ("/lname", "CALL BACK", "lname-is-lowercased-name"),
        ("/userInfo/name", "Someone Else", "echo-user-name"),
        ("/userInfo/emailId", "other@example.com", "echo-user-email"),
        ("/iId", "st-other", "stream-is-path"),
        ("/accountId", "000000000000000000000000", "account-is-header"),
        ("/updatedAt", "2030-01-01T00:00:00.000Z", "created-equals-updated"),
        ("/timestampValue", 0, "same-instant"),
        ("/status/name", "Closed", "default-status-name"),
        ("/status/statusCategory", "closed", "default-status-open"),
        ("/priority/name", "High", "default-priority-medium"),
        ("/assigneeType", "user", "default-unassigned"),
        ("/isActive", 1, "default-active"),
        ("/isBreached", True, "default-not-breached"),
    ],
)
def test_each_relation_catches_its_fault(pointer: str, value: Any, relation: str) -> None:
    _, task = _pair()
    *parents, last = pointer.strip("/").split("/")
    node = task
    for token in parents:
        node = node[token]
    node[last] = value
    assert relation in _broken(task)


def test_a_missing_echo_is_a_violation_but_an_optional_one_is_not() -> None:
    _, task = _pair()
    del task["caseId"]
    del task["userInfo"]["emailId"]
    broken = _broken(task)
    assert "echo-caseId" in broken
    assert "echo-user-email" not in broken


def test_relations_without_request_value_do_not_apply() -> None:
    facts, task = _pair("no-task-name")
    task["name"] = "Template default name"
    task["lname"] = "template default name"
    assert (
        check_relations(
            CONTRACT.operation("createTask").relations,
            RequestFacts(body=facts.body, path=facts.path),
            task,
            seen={},
        )
        == []
    )


def test_timestamp_within_tolerance_is_the_same_instant() -> None:
    _, task = _pair()
    task["timestampValue"] -= 999
    assert "same-instant" not in _broken(task)
    task["timestampValue"] -= 2
    assert "same-instant" in _broken(task)


def test_unique_relations_remember_earlier_answers() -> None:
    facts, task = _pair()
    seen: dict[str, set[str]] = {}
    assert check_relations(CONTRACT.operation("createTask").relations, facts, task, seen=seen) == []
    repeated = {
        v.relation.id
        for v in check_relations(CONTRACT.operation("createTask").relations, facts, task, seen=seen)
    }
    assert repeated == {"new-task-id", "new-ref-id"}


def test_violation_message_says_received_and_documented() -> None:
    facts, task = _pair()
    task["caseId"] = "ci-wrong"
    relation = next(r for r in CONTRACT.operation("createTask").relations if r.id == "echo-caseId")
    violation = check_relation(relation, facts, task)
    assert violation is not None
    assert "Received: 'ci-wrong'" in str(violation) and "Documented:" in str(violation)


def test_resolve_pointer_escapes_and_misses() -> None:
    assert resolve_pointer({"a/b": {"c~d": [1, 2]}}, "/a~1b/c~0d/1") == 2
    assert resolve_pointer({"a": 1}, "/b") is MISSING
    assert resolve_pointer([1], "/5") is MISSING


def test_header_pointers_ignore_case() -> None:
    facts = RequestFacts(body={}, headers={"AccountId": "abc"})
    assert facts.get("/header/accountid") == "abc"
    with pytest.raises(ValueError, match="must start with"):
        facts.get("/query/x")


# Greek capital ODOS and a Turkish dotted capital I, escaped so the source stays ASCII.
ODOS, ISTANBUL = "\u039f\u0394\u039f\u03a3", "\u0130stanbul"


@pytest.mark.parametrize(
    ("name", "lname"),
    [
        (ODOS, "\u03bf\u03b4\u03bf\u03c2"),  # Python: word-final sigma
        (ODOS, "\u03bf\u03b4\u03bf\u03c3"),  # Go, Java, .NET: plain sigma
        (ISTANBUL, "i\u0307stanbul"),  # Python: i + combining dot
        (ISTANBUL, "istanbul"),  # Go: plain i
    ],
)
def test_lowercasing_of_other_runtimes_keeps_the_relation(name: str, lname: str) -> None:
    _, task = _pair()
    task["name"], task["lname"] = name, lname
    facts = RequestFacts(
        body={**_pair()[0].body, "name": name},
        path={"streamId": STREAM},
        headers={"AccountId": task["accountId"]},
    )
    assert "lname-is-lowercased-name" not in {
        v.relation.id
        for v in check_relations(CONTRACT.operation("createTask").relations, facts, task, seen={})
    }


def test_lowercasing_still_catches_upper_case() -> None:
    _, task = _pair()
    task["lname"] = task["name"]
    assert "lname-is-lowercased-name" in _broken(task)


def test_created_and_updated_may_be_written_differently() -> None:
    _, task = _pair()
    task["updatedAt"] = task["createdAt"].replace("Z", "+00:00")
    assert "created-equals-updated" not in _broken(task)


def test_ref_ids_are_unique_within_an_account_only() -> None:
    facts, task = _pair()
    seen: dict[str, set[str]] = {}
    assert check_relations(CONTRACT.operation("createTask").relations, facts, task, seen=seen) == []
    other = copy.deepcopy(task)
    other["_id"] = other["_id"][:-4] + "beef"
    other["accountId"] = "0" * 24
    other_facts = RequestFacts(body=facts.body, path=facts.path, headers={"AccountId": other["accountId"]})
    assert check_relations(CONTRACT.operation("createTask").relations, other_facts, other, seen=seen) == []
