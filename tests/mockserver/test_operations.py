"""The six operations, each answered as its role in x-contract-sequences implies (tests may name them).

Creates make new objects (fresh `_id` and `refId` every time), listings answer the page of the
test's account and stream (empty here: the seeded world lives in the documented ones) with the page
and limit asked, updates of ids that account and stream do not hold answer 404 (decision
`unknown-ids`) after auth and validation; `Prefer` works for each, and every answer passes the
self-check. test_store.py tests what the mock keeps.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from spec import Listing, Operation, Sequences, load_spec
from tests.mockserver.support import STREAM, headers, schema_problems

CONTRACT = load_spec()
SEQUENCES = Sequences(CONTRACT)
PATH_IDS = {
    "caseId": "ci-b4eaa6e-b3d9-4bb3-ae54-bb043b4axxxx",
    "taskId": "ti-73acd32-0123-4114-9891-00a950aaxxxx",
}
CREATES = ("createTask", "createCase")
LISTINGS = ("getTasks", "getCases")
UPDATES = ("updateTask", "updateCase")


def path_of(operation: Operation, **ids: str) -> str:
    values = {name: ids.get(name, PATH_IDS.get(name, STREAM)) for name in operation.path_parameters}
    return operation.path(**values)


def call(client: FlaskClient, operation_id: str, body: Any = None, **extra: str) -> Any:
    operation = CONTRACT.operation(operation_id)
    if body is None:
        body = copy.deepcopy(next(iter(operation.request_examples.values())))
    return client.open(path_of(operation), method=operation.method, json=body, headers=headers(**extra))


def assert_healthy(client: FlaskClient) -> None:
    health = client.get("/__admin/health").json
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)


def test_the_roles_are_the_specs() -> None:
    roles = {op: found[1] for op in CONTRACT.operations if (found := SEQUENCES.role(op)) is not None}
    assert roles == {
        **dict.fromkeys(CREATES, "create"),
        **dict.fromkeys(LISTINGS, "list"),
        **dict.fromkeys(UPDATES, "update"),
    }


@pytest.mark.parametrize("operation_id", sorted(CONTRACT.operations))
def test_every_example_of_every_operation_gets_a_documented_answer(
    client: FlaskClient, operation_id: str
) -> None:
    operation = CONTRACT.operation(operation_id)
    for name, body in operation.request_examples.items():
        response = call(client, operation_id, copy.deepcopy(body))
        expected = 404 if operation_id in UPDATES else operation.success_status
        assert response.status_code == expected, (name, response.json)
        assert schema_problems(response.status_code, response.json, operation) == [], name
    assert_healthy(client)


@pytest.mark.parametrize("operation_id", CREATES)
def test_two_creates_never_share_an_id_or_a_reference(client: FlaskClient, operation_id: str) -> None:
    first, second = (call(client, operation_id).json for _ in range(2))
    assert first["_id"] != second["_id"]
    assert first["refId"] != second["refId"]
    assert first["refId"][:2] == second["refId"][:2]  # the example's prefix (TS, CS)
    assert_healthy(client)


def test_a_new_case_gets_the_accounts_next_case_reference_and_the_creation_instant(
    client: FlaskClient,
) -> None:
    task = call(client, "createTask").json
    case = call(client, "createCase").json
    assert task["refId"] == "TS000001"  # numbered apart from the cases
    example = CONTRACT.operation("createCase").response_examples()["seed-sample"]
    assert case["refId"] == "CS000001"
    assert case["_id"].startswith("ci-") and case["_id"] != example["_id"]
    assert case["createdAt"] == case["updatedAt"] != example["createdAt"]


@pytest.mark.parametrize(
    ("body", "page", "limit"),
    [
        ({}, 1, 50),
        ({"page": 3, "limit": 10}, 3, 10),
        ({"skip": 20, "limit": 10}, 3, 10),
        ({"limit": 100}, 1, 100),
    ],
)
@pytest.mark.parametrize("operation_id", LISTINGS)
def test_a_listing_answers_the_empty_stores_page_as_asked(
    client: FlaskClient, operation_id: str, body: dict[str, Any], page: int, limit: int
) -> None:
    response = call(client, operation_id, body)
    assert response.status_code == 200, response.json
    expected = Listing.parse(CONTRACT.operation(operation_id).definition)
    assert expected is not None
    implied = expected.expected((), body)
    assert response.json == {
        "results": [],
        "page": page,
        "limit": limit,
        "hasMore": False,
        "totalPages": implied.total_pages,
        "totalResults": 0,
    }
    assert (implied.page, implied.limit) == (page, limit)


@pytest.mark.parametrize("operation_id", UPDATES)
def test_an_update_of_an_unknown_id_is_404_in_the_envelope(client: FlaskClient, operation_id: str) -> None:
    operation = CONTRACT.operation(operation_id)
    response = call(client, operation_id)
    assert response.status_code == 404
    (error,) = response.json["errors"]
    (path_id,) = (name for name in operation.path_parameters if name in PATH_IDS)
    assert error["code"] == 404
    assert error["pointer"] == f"/path/{path_id}"
    assert error["decision"] == "unknown-ids"
    assert PATH_IDS[path_id] in error["msg"]
    assert_healthy(client)


@pytest.mark.parametrize("operation_id", UPDATES)
def test_an_update_is_authenticated_and_validated_before_its_id_is_looked_up(
    client: FlaskClient, operation_id: str
) -> None:
    assert call(client, operation_id, auth="not-a-jwt").status_code == 401
    assert call(client, operation_id, ["not", "an", "object"]).status_code == 400


@pytest.mark.parametrize("operation_id", sorted(CONTRACT.operations))
def test_prefer_answers_each_operations_documented_examples(client: FlaskClient, operation_id: str) -> None:
    operation = CONTRACT.operation(operation_id)
    success = operation.response_examples()
    name, example = next(iter(success.items()))
    by_code = call(client, operation_id, Prefer=f"code={operation.success_status}, dynamic=false")
    assert (by_code.status_code, by_code.json) == (operation.success_status, example)
    by_name = call(client, operation_id, Prefer=f"example={name}")
    assert (by_name.status_code, by_name.json) == (operation.success_status, example)
    errors = call(client, operation_id, Prefer="code=401")
    assert errors.status_code == 401
    assert schema_problems(401, errors.json, operation) == []
    assert_healthy(client)


@pytest.mark.parametrize("operation_id", sorted(CONTRACT.operations))
def test_another_method_is_405_allowing_the_specs_methods_at_that_path(
    client: FlaskClient, operation_id: str
) -> None:
    operation = CONTRACT.operation(operation_id)
    path = path_of(operation)
    response = client.delete(path, headers=headers())
    assert response.status_code == 405
    assert response.headers["Allow"] == ", ".join([*sorted(CONTRACT.methods_at(path)), "OPTIONS"])


@pytest.mark.parametrize(
    ("example", "fresh"),
    [
        ("CS00xxxx", "CS000007"),
        ("TS000102", "TS000007"),
        (5, 7),
        ("n-1", "n-1-7"),
    ],
)
def test_a_fresh_value_keeps_the_examples_form(example: Any, fresh: Any) -> None:
    from generators import SeededIds
    from mockserver._app import _fresh_value

    class Ids(SeededIds):
        def next_ref_number(self, account_id: str) -> int:
            return 7

    assert _fresh_value(example, "key", Ids(1)) == fresh  # type: ignore[arg-type]
    made = _fresh_value("ci-b4eaa6e-b3d9-4bb3-ae54-bb043b4axxxx", "key", Ids(1))  # type: ignore[arg-type]
    assert made.startswith("ci-") and made != "ci-b4eaa6e-b3d9-4bb3-ae54-bb043b4axxxx"


@pytest.mark.parametrize("due", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", 10**17])
def test_a_case_due_at_the_edge_of_the_calendar_is_created(client: FlaskClient, due: Any) -> None:
    """Regression: Schemathesis's fuzzing sent such a `dueDate`, and the mock answered 500 (OverflowError)."""
    operation = load_spec().operation("createCase")
    body = copy.deepcopy(next(iter(operation.request_examples.values())))
    body["dueDate"] = due
    response = client.post(operation.path(streamId=STREAM), json=body, headers=headers())
    assert response.status_code == 200, response.get_data()[:300]
    assert schema_problems(200, response.json, operation) == []
