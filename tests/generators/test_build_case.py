"""build_case(): the platform's answer to a new case, valid against its schema and keeping every relation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators import Caller, FrozenClock, SeededIds, build_case, valid_requests
from generators._casework import CASE_TEMPLATES
from generators._ids import id_regex
from spec import RequestFacts, SchemaCheck, check_relations, load_spec

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createCase")
ANSWER = SchemaCheck(OPERATION.response_schema())
SAMPLE = OPERATION.response_examples()["seed-sample"]
STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b4e1b"
ACCOUNT = "6639f7bd58c97ffac03b1a2c"
CALLER = Caller("u-9471a3c6-d950-5720-a812-fbc1ac9f0ad2", "John Doe")
INSTANT = datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC)


def _build(request: Mapping[str, Any], *, ids: Any = None, instant: datetime = INSTANT) -> dict[str, Any]:
    return build_case(
        request,
        stream_id=STREAM,
        account_id=ACCOUNT,
        caller=CALLER,
        clock=FrozenClock(instant),
        ids=ids or SeededIds(0),
    )


def _facts(request: Mapping[str, Any]) -> RequestFacts:
    return RequestFacts(body=request, path={"streamId": STREAM}, headers={"accountId": ACCOUNT})


def _errors(case: Any) -> list[str]:
    return [error.message for error in ANSWER.validator.iter_errors(case)]


@pytest.mark.parametrize("name", sorted(OPERATION.request_examples))
def test_named_examples_build_valid_cases(name: str) -> None:
    request = OPERATION.request_examples[name]
    case = _build(request)
    assert _errors(case) == []
    assert [str(v) for v in check_relations(OPERATION.relations, _facts(request), case)] == []


@given(
    st.lists(valid_requests(operation=OPERATION), min_size=1, max_size=3),
    st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 2**32),
)
def test_built_cases_validate_and_keep_every_relation(
    requests: list[dict[str, Any]], instant: datetime, seed: int
) -> None:
    ids = SeededIds(seed)
    seen: dict[str, set[str]] = {}
    for request in requests:
        case = _build(request, ids=ids, instant=instant)
        assert _errors(case) == [], request
        assert [str(v) for v in check_relations(OPERATION.relations, _facts(request), case, seen=seen)] == []


def test_the_seed_sample_shape_defaults_and_ids() -> None:
    request = OPERATION.request_examples["seed-sample"]
    case = _build(request)
    assert list(case)[: len(SAMPLE)] == list(SAMPLE)
    assert re.fullmatch(id_regex("ci"), case["_id"]) and case["_id"].split("-")[1].__len__() == 7
    assert case["refId"] == "CS000001"
    assert case["status"]["name"] == "Open" and case["status"]["statusCategory"] == "open"
    assert case["priority"]["name"] == "Medium"
    assert case["caseTmp"] in CASE_TEMPLATES  # the template's id in, its name out
    # Contacts beside userInfo are kept inside it (decision case-contact-placement).
    assert case["userInfo"] == {
        "_id": request["userInfo"]["_id"],
        "name": "dummy",
        "emailId": request["emailId"],
        "phoneNumber": request["phoneNumber"],
    }
    assert case["createdAt"] == case["updatedAt"] == "2025-06-04T10:18:00.725Z"
    assert case["timestampValue"] == 1749032280725
    assert case["lname"] == "this is demo case" and case["desc"] == "Demo case"
    assert (case["dueDate"], case["ETA"]) == (1788531300000, "2026-09-04T14:15:00.000Z")
    assert case["taskIds"] == [] and case["currAssignee"]["agentId"] == CALLER.user_id


def test_user_id_spelled_id_and_epoch_due_date() -> None:
    request = OPERATION.request_examples["due-date-epoch-ms"]
    case = _build(request)
    assert case["userInfo"]["_id"] == request["userInfo"]["id"] and "id" not in case["userInfo"]
    assert case["dueDate"] == request["dueDate"] and case["ETA"].endswith("Z")


def test_a_template_name_is_kept_and_ref_numbers_count_per_account() -> None:
    ids = SeededIds(3)
    first = _build(OPERATION.request_examples["email-inside-user"], ids=ids)
    second = _build(OPERATION.request_examples["email-inside-user"], ids=ids, instant=INSTANT + timedelta(1))
    assert first["caseTmp"] == "Billing"
    assert (first["refId"], second["refId"]) == ("CS000001", "CS000002") and first["_id"] != second["_id"]


def test_build_case_refuses_an_operation_that_does_not_create_a_case() -> None:
    with pytest.raises(ValueError, match="getCases's success answer is not it"):
        build_case(
            OPERATION.request_examples["seed-sample"],
            stream_id=STREAM,
            account_id=ACCOUNT,
            caller=CALLER,
            clock=FrozenClock(INSTANT),
            ids=SeededIds(0),
            operation=CONTRACT.operation("getCases"),
        )
    with pytest.raises(ValueError, match="lacks"):
        _build({"name": "x"})


@pytest.mark.parametrize(
    "sent", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", 253402300799999, 10**17]
)
def test_due_dates_at_the_edges_of_the_calendar_are_stored(sent: Any) -> None:
    """Regression (Schemathesis found a 500): valid instants Python cannot write in UTC keep their form."""
    from generators._cases import due_date_forms

    stored, eta = due_date_forms(sent)
    if isinstance(sent, int):
        assert stored == sent and isinstance(eta, str)
    else:
        assert eta == sent  # Python cannot write it in UTC: the ETA keeps the form it was sent in
        # before the epoch: kept as sent; after it: epoch milliseconds
        assert stored == sent if sent.startswith("0001") else isinstance(stored, int) and stored > 0
