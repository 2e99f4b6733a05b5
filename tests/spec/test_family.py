"""The Case Management family: every operation's named examples and the pages' samples keep the contract.

The pages' samples are kept as printed in tests/spec/pages (`<operationId>.request.json`,
`<operationId>.response.json`); updateTask's answer is cut short on its page, so only its printed
fields are kept (`updateTask.response.head.json`) and compared with the completed example.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_core.testing import MockRequest, MockResponse

from spec import ContractSpec, Operation, SchemaCheck, load_spec

PAGES = Path(__file__).parent / "pages"
FAMILY = ("createCase", "getCases", "updateCase", "getTasks", "updateTask")
ERROR_STATUSES = (400, 401, 404, 405, 413, 415, 429)
PATH_VALUES = {
    "streamId": "st-084d3c5e-376a-559f-9987-a012bb2bxxxx",
    "caseId": "ci-b4eaa6e-b3d9-4bb3-ae54-bb043b4axxxx",
    "taskId": "ti-73acd32-0123-4114-9891-00a950aaxxxx",
}
HEADERS = {"auth": "token", "accountId": "6639f7bd58c97ffac03bxxxx"}


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


def page_sample(name: str) -> Any:
    return json.loads((PAGES / name).read_text(encoding="utf-8"))


def _path(operation: Operation) -> str:
    return operation.path(**{name: PATH_VALUES[name] for name in operation.path_parameters})


def request_errors(
    contract: ContractSpec, operation: Operation, body: Any, headers: dict[str, str] | None = None
) -> list[Exception]:
    request = MockRequest(
        "https://platform.kore.ai",
        "post",
        _path(operation),
        data=json.dumps(body).encode(),
        headers=HEADERS if headers is None else headers,
        content_type="application/json",
    )
    return list(contract.openapi.unmarshal_request(request).errors)


def response_errors(contract: ContractSpec, operation: Operation, status: int, body: Any) -> list[Exception]:
    request = MockRequest(
        "https://platform.kore.ai", "post", _path(operation), headers=HEADERS, content_type="application/json"
    )
    response = MockResponse(json.dumps(body).encode(), status_code=status, content_type="application/json")
    return list(contract.openapi.unmarshal_response(request, response).errors)


def _examples(kind: str) -> list[tuple[str, str, str]]:
    contract = load_spec()
    found = []
    for op_id in FAMILY:
        operation = contract.operation(op_id)
        if kind == "request":
            found += [(op_id, "200", name) for name in operation.request_examples]
        else:
            for status in sorted(operation.responses):
                found += [(op_id, status, name) for name in operation.response_examples(status)]
    return found


def test_the_family_is_in_the_contract(contract: ContractSpec) -> None:
    assert set(FAMILY) | {"createTask"} == set(contract.operations)
    for op_id in FAMILY:
        operation = contract.operation(op_id)
        assert operation.method == "POST"
        assert operation.documented_statuses >= ERROR_STATUSES_SET
        assert "seed-sample" in operation.request_examples
        assert "seed-sample" in operation.response_examples()
        assert len(operation.request_examples) >= 2


ERROR_STATUSES_SET = frozenset(ERROR_STATUSES)


@pytest.mark.parametrize(("op_id", "_status", "name"), _examples("request"))
def test_named_request_example_is_valid(contract: ContractSpec, op_id: str, _status: str, name: str) -> None:
    operation = contract.operation(op_id)
    assert request_errors(contract, operation, operation.request_examples[name]) == []


@pytest.mark.parametrize(("op_id", "status", "name"), _examples("response"))
def test_named_response_example_is_valid(contract: ContractSpec, op_id: str, status: str, name: str) -> None:
    operation = contract.operation(op_id)
    assert response_errors(contract, operation, int(status), operation.response_examples(status)[name]) == []


@pytest.mark.parametrize("op_id", FAMILY)
def test_the_pages_samples_are_the_seed_examples_and_valid(contract: ContractSpec, op_id: str) -> None:
    operation = contract.operation(op_id)
    request = page_sample(f"{op_id}.request.json")
    assert operation.request_examples["seed-sample"] == request
    assert request_errors(contract, operation, request) == []
    answer = operation.response_examples()["seed-sample"]
    if op_id == "updateTask":
        printed = page_sample("updateTask.response.head.json")
        assert {key: answer[key] for key in printed} == printed
    else:
        assert answer == page_sample(f"{op_id}.response.json")
    assert response_errors(contract, operation, 200, answer) == []


@pytest.mark.parametrize("op_id", FAMILY)
def test_each_documented_error_answers_the_envelope(contract: ContractSpec, op_id: str) -> None:
    operation = contract.operation(op_id)
    for status in ERROR_STATUSES:
        assert operation.response_schema(status) == contract.error_schema, status
        assert operation.response_examples(status), status


@pytest.mark.parametrize(
    ("op_id", "required"),
    [
        ("getCases", True),
        ("getTasks", True),
        ("updateCase", True),
        ("updateTask", True),
        ("createCase", False),
    ],
)
def test_account_header_is_required_on_gets_and_updates(
    contract: ContractSpec, op_id: str, required: bool
) -> None:
    operation = contract.operation(op_id)
    (header,) = [p for p in operation.parameters_in("header") if p["name"] == "accountId"]
    assert header["required"] is required
    errors = request_errors(contract, operation, operation.request_examples["seed-sample"], {"auth": "token"})
    assert bool(errors) is required


# -- required fields removed, wrong types ------------------------------------------------------

_WRONG: dict[str, Any] = {
    "string": 42,
    "object": "x",
    "integer": "7",
    "boolean": "yes",
    "array": {},
    "number": "7",
}


def _required(schema: dict[str, Any], prefix: str = "") -> list[str]:
    pointers = []
    for name in schema.get("required", []):
        pointers.append(f"{prefix}/{name}")
        child = schema.get("properties", {}).get(name, {})
        if child.get("type") == "object":
            pointers += _required(child, f"{prefix}/{name}")
    for part in schema.get("allOf", []):
        pointers += _required(part, prefix)
    return pointers


def _typed(schema: dict[str, Any], body: Any, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    properties: dict[str, Any] = {}
    for part in [schema, *schema.get("allOf", [])]:
        properties.update(part.get("properties", {}))
    for name, child in properties.items():
        if not isinstance(body, dict) or name not in body or isinstance(child.get("type"), list | None):
            continue
        found.append((f"{prefix}/{name}", child["type"]))
        if child["type"] == "object":
            found += _typed(child, body[name], f"{prefix}/{name}")
    return found


def _set(body: Any, pointer: str, value: Any, *, delete: bool = False) -> Any:
    body = copy.deepcopy(body)
    *parents, last = pointer.strip("/").split("/")
    node = body
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if delete:
        del node[last]
    else:
        node[last] = value
    return body


def _cases(kind: str) -> list[tuple[str, str, str]]:
    contract = load_spec()
    cases = []
    for op_id in FAMILY:
        operation = contract.operation(op_id)
        if kind == "request-required":
            cases += [(op_id, p, "") for p in _required(dict(operation.request_schema or {}))]
        elif kind == "request-type":
            body = operation.request_examples["seed-sample"]
            cases += [(op_id, p, t) for p, t in _typed(dict(operation.request_schema or {}), body)]
        elif kind == "response-required":
            cases += [(op_id, p, "") for p in _required(dict(operation.response_schema() or {}))]
        else:
            answer = operation.response_examples()["seed-sample"]
            cases += [(op_id, p, t) for p, t in _typed(dict(operation.response_schema() or {}), answer)]
    return cases


def test_the_required_request_fields_are_the_documented_ones(contract: ContractSpec) -> None:
    required = {op: sorted(_required(dict(contract.operation(op).request_schema or {}))) for op in FAMILY}
    assert required == {
        "createCase": sorted(["/caseTmp", "/name", "/desc", "/userInfo", "/source", "/dueDate"]),
        "getCases": [],
        "updateCase": [],
        "getTasks": [],
        "updateTask": [],
    }


@pytest.mark.parametrize(("op_id", "pointer", "_t"), _cases("request-required"))
def test_removing_a_required_request_field_is_invalid(
    contract: ContractSpec, op_id: str, pointer: str, _t: str
) -> None:
    operation = contract.operation(op_id)
    body = _set(operation.request_examples["seed-sample"], pointer, None, delete=True)
    assert request_errors(contract, operation, body) != []


@pytest.mark.parametrize(("op_id", "pointer", "json_type"), _cases("request-type"))
def test_a_wrong_request_type_is_invalid(
    contract: ContractSpec, op_id: str, pointer: str, json_type: str
) -> None:
    operation = contract.operation(op_id)
    body = _set(operation.request_examples["seed-sample"], pointer, _WRONG[json_type])
    assert request_errors(contract, operation, body) != []


@pytest.mark.parametrize(("op_id", "pointer", "_t"), _cases("response-required"))
def test_removing_a_required_answer_field_is_invalid(
    contract: ContractSpec, op_id: str, pointer: str, _t: str
) -> None:
    operation = contract.operation(op_id)
    answer = _set(operation.response_examples()["seed-sample"], pointer, None, delete=True)
    assert not SchemaCheck(operation.response_schema()).accepts(answer)


@pytest.mark.parametrize(("op_id", "pointer", "json_type"), _cases("response-type"))
def test_a_wrong_answer_type_is_invalid(
    contract: ContractSpec, op_id: str, pointer: str, json_type: str
) -> None:
    operation = contract.operation(op_id)
    answer = _set(operation.response_examples()["seed-sample"], pointer, _WRONG[json_type])
    assert not SchemaCheck(operation.response_schema()).accepts(answer)


@pytest.mark.parametrize(("op_id", "item_pointer"), [("getCases", "/results/0"), ("getTasks", "/results/0")])
def test_a_listed_item_missing_a_required_field_is_invalid(
    contract: ContractSpec, op_id: str, item_pointer: str
) -> None:
    operation = contract.operation(op_id)
    answer = operation.response_examples()["seed-sample"]
    for name in ("_id", "status", "priority", "createdAt"):
        assert not SchemaCheck(operation.response_schema()).accepts(
            _set(answer, f"{item_pointer}/{name}", None, delete=True)
        )
        assert not SchemaCheck(operation.response_schema()).accepts(
            _set(answer, f"{item_pointer}/{name}", 42)
        )


# -- the two readings the contract accepts ----------------------------------------------------

CREATE_CASE = {
    "caseTmp": "Billing",
    "name": "n",
    "desc": "d",
    "source": "rtm",
    "dueDate": "2026-01-01T00:00:00.000Z",
}


@pytest.mark.parametrize(
    ("extra", "valid"),
    [
        ({"userInfo": {"_id": "u-1"}}, True),
        ({"userInfo": {"id": "u-1"}}, True),
        ({"userInfo": {"emailId": "a@example.com"}}, True),
        ({"userInfo": {"phoneNumber": "+14155550123"}}, True),
        ({"userInfo": {"name": "Dana"}, "emailId": "a@example.com"}, True),
        ({"userInfo": {"name": "Dana"}, "phoneNumber": "+14155550123"}, True),
        ({"userInfo": {"name": "Dana"}}, False),
        ({"userInfo": {"name": "Dana"}, "emailId": "not an email"}, False),
    ],
)
def test_case_contacts_inside_or_beside_user_info(
    contract: ContractSpec, extra: dict[str, Any], valid: bool
) -> None:
    errors = request_errors(contract, contract.operation("createCase"), {**CREATE_CASE, **extra})
    assert (errors == []) is valid


@pytest.mark.parametrize(
    ("due", "valid"),
    [
        ("2026-09-04T14:15:00.000Z", True),
        (1748491380000, True),
        ("next week", False),
        (-1, False),
        (True, False),
    ],
)
def test_due_date_as_iso_or_epoch_ms(contract: ContractSpec, due: Any, valid: bool) -> None:
    body = {**CREATE_CASE, "userInfo": {"_id": "u-1"}, "dueDate": due}
    assert (request_errors(contract, contract.operation("createCase"), body) == []) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"sortBy": "createdDate"}, True),
        ({"sortBy": {"dueDate": "desc"}}, True),
        ({"sortBy": {"dueDate": "sideways"}}, False),
        ({"sortBy": {"dueDate": "asc", "name": "desc"}}, False),
        ({"skip": 0, "limit": 50}, True),
        ({"page": 2, "limit": 10}, True),
        ({"page": 0}, False),
        ({"limit": 0}, False),
        ({"skip": -1}, False),
        ({"mycase": True, "mytask": False}, True),
        ({"priority": "High"}, False),
        ({}, True),
    ],
)
def test_listing_bodies_accept_both_readings(
    contract: ContractSpec, body: dict[str, Any], valid: bool
) -> None:
    for op_id in ("getCases", "getTasks"):
        assert (request_errors(contract, contract.operation(op_id), body) == []) is valid, op_id
