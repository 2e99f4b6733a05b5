"""Per operation, from the spec: a made-up operation (`archiveNote`) gets valid and invalid requests of
every kind its schema yields, parameters and media types, with no generator code naming it."""

from __future__ import annotations

import json
from email.message import Message
from typing import Any
from urllib.parse import quote, unquote

import pytest
import yaml
from hypothesis import given, settings
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from generators import (
    InvalidRequest,
    RequestParameters,
    build_task,
    invalid_kinds,
    invalid_requests,
    media_types,
    request_parameters,
    valid_requests,
)
from generators._schema import KIND_KEYWORDS, TRANSPORT_KINDS, rules, tokens
from spec import ContractSpec, Operation, load_spec
from tests.generators.helpers import drawn
from tests.madeup import OPERATION_ID, write_madeup_spec

SMALL = settings(max_examples=30)
MADEUP_KINDS = (
    "missing-required",
    "wrong-type",
    "empty-string",
    "too-long",
    "too-small",
    "too-large",
    "not-in-enum",
    "missing-required-parameter",
    "malformed-json",
    "wrong-content-type",
    "no-body",
    "non-object-body",
)


@pytest.fixture(scope="module")
def madeup(tmp_path_factory: pytest.TempPathFactory) -> ContractSpec:
    return load_spec(write_madeup_spec(tmp_path_factory.mktemp("madeup")))


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> ContractSpec:
    """The made-up spec with more constraints on archiveNote: the remaining kinds have somewhere to live."""
    root = write_madeup_spec(tmp_path_factory.mktemp("strict"))
    document = yaml.safe_load(root.read_text(encoding="utf-8"))
    schema = document["components"]["schemas"]["ArchiveNoteRequest"]
    schema["additionalProperties"] = False
    schema["properties"]["ref"] = {
        "type": "string",
        "minLength": 3,
        "maxLength": 12,
        "pattern": "^[a-z0-9-]+$",
    }
    schema["properties"]["weight"] = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10}
    operation = next(
        item["post"]
        for item in document["paths"].values()
        if "post" in item and item["post"].get("operationId") == OPERATION_ID
    )
    operation["parameters"].append(
        {
            "name": "dryRun",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": ["yes", "no"]},
        }
    )
    root.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_spec(root)


def _validator(schema: Any) -> OAS31Validator:
    return OAS31Validator(dict(schema), format_checker=oas31_format_checker)


def _valid_value_at(spec: ContractSpec, operation: Operation, pointer: str) -> Any:
    """A value the schema at `pointer` takes (from the documented example, else a small draw)."""
    example = next(iter(operation.request_examples.values()), {})
    node: Any = example
    for token in tokens(pointer):
        node = node.get(token) if isinstance(node, dict) else None
    if node is not None:
        return node
    schema: Any = operation.request_schema
    for token in tokens(pointer):
        schema = schema["properties"][token]
    # Values the strict spec's extra properties take.
    return {"string": "abc", "number": 5.5, "integer": 5, "boolean": True}[schema["type"]]


def assert_breaks_exactly_its_rule(spec: ContractSpec, operation: Operation, bad: InvalidRequest) -> None:
    """The request breaks its labelled rule, and putting that one place right makes it valid."""
    assert bad.operation == operation.id
    assert bad.expected_statuses and bad.expected_statuses <= operation.documented_statuses
    assert bad.path_params is None
    validator = _validator(operation.request_schema)
    if bad.kind == "missing-required-parameter":
        location, name = tokens(bad.pointer)
        overrides = bad.headers if location == "header" else bad.query
        assert dict(overrides) == {name: None}
        assert any(
            p["name"] == name and p["in"] == location and p.get("required") for p in operation.parameters
        )
        assert validator.is_valid(bad.json_body)
        return
    assert not bad.headers and not bad.query
    if bad.kind in TRANSPORT_KINDS:
        if bad.kind == "malformed-json":
            with pytest.raises(ValueError):
                json.loads(bad.body or b"")
        elif bad.kind == "wrong-content-type":
            assert bad.content_type not in operation.request_media_types and validator.is_valid(bad.json_body)
        elif bad.kind == "no-body":
            assert bad.body is None
        else:
            assert not isinstance(bad.json_body, dict)
        return
    body = bad.json_body
    errors = list(validator.iter_errors(body))
    assert errors, str(bad)
    where = tokens(bad.pointer)
    keywords = set(KIND_KEYWORDS[bad.kind])
    for error in errors:
        if bad.kind == "missing-required":
            assert (error.validator, list(error.absolute_path)) == ("required", where[:-1]), error.message
        elif bad.kind == "unknown-property":
            assert (error.validator, list(error.absolute_path)) == ("additionalProperties", where), (
                error.message
            )
        else:
            # A value of the wrong type is outside an enum too: the one place, the one value.
            allowed = keywords | ({"enum"} if bad.kind == "wrong-type" else set())
            assert error.validator in allowed and list(error.absolute_path) == where, error.message
    # Put the one place right: the rest of the request was valid.
    if bad.kind == "unknown-property":
        parent = body
        for token in where:
            parent = parent[token]
        documented = set(operation.request_schema["properties"])
        for extra in set(parent) - documented:
            del parent[extra]
    else:
        *parents, last = where
        parent = body
        for token in parents:
            parent = parent[token]
        parent[last] = _valid_value_at(spec, operation, bad.pointer)
    assert validator.is_valid(body), (str(bad), body)


def test_the_made_up_operation_yields_its_kinds(madeup: ContractSpec) -> None:
    assert invalid_kinds(spec=madeup, operation=OPERATION_ID) == MADEUP_KINDS
    ids = {rule.id for rule in rules(madeup, madeup.operation(OPERATION_ID))}
    assert {"too-long:/reason", "too-small:/keepDays", "too-large:/keepDays", "not-in-enum:/mode"} <= ids
    assert "missing-required-parameter:/header/accountId" in ids
    # The operation that documents no required header yields no parameter rule.
    assert "missing-required-parameter" not in invalid_kinds(spec=madeup, operation="createTask")


def test_the_strict_operation_yields_the_remaining_kinds(strict: ContractSpec) -> None:
    kinds = invalid_kinds(spec=strict, operation=OPERATION_ID)
    assert {"too-short", "pattern-mismatch", "unknown-property"} <= set(kinds)
    ids = {rule.id for rule in rules(strict, strict.operation(OPERATION_ID))}
    assert {
        "too-short:/ref",
        "too-long:/ref",
        "pattern-mismatch:/ref",
        "too-small:/weight",
        "too-large:/weight",
        "unknown-property:",
        "missing-required-parameter:/query/dryRun",
    } <= ids


def test_an_operation_must_be_named_when_there_are_several(madeup: ContractSpec) -> None:
    for make in (valid_requests, invalid_requests, invalid_kinds, request_parameters, media_types):
        with pytest.raises(ValueError, match="archiveNote"):
            make(spec=madeup)
    with pytest.raises(ValueError, match=r"no operation .nope.*createTask, .*archiveNote"):
        valid_requests(spec=madeup, operation="nope")


def test_contacts_apply_only_where_the_schema_has_contact_groups(madeup: ContractSpec) -> None:
    with pytest.raises(ValueError, match="no contact groups"):
        valid_requests(spec=madeup, operation=OPERATION_ID, contacts={"emailId"})


def test_valid_requests_of_the_made_up_operation_validate(madeup: ContractSpec) -> None:
    operation = madeup.operation(OPERATION_ID)
    validator = _validator(operation.request_schema)
    for realistic in (True, False):
        for body in drawn(valid_requests(spec=madeup, operation=operation, realistic=realistic), count=40):
            assert validator.is_valid(body), body


@pytest.mark.parametrize("which", ["madeup", "strict"])
def test_every_kind_is_drawn_and_breaks_exactly_its_rule(which: str, request: pytest.FixtureRequest) -> None:
    spec: ContractSpec = request.getfixturevalue(which)
    operation = spec.operation(OPERATION_ID)
    for kind in invalid_kinds(spec=spec, operation=OPERATION_ID):
        found = drawn(invalid_requests(spec=spec, operation=OPERATION_ID, kinds={kind}), count=8, seed=1)
        assert found and {bad.kind for bad in found} == {kind}
        for bad in found:
            assert_breaks_exactly_its_rule(spec, operation, bad)


def test_the_labels_say_the_rule(madeup: ContractSpec) -> None:
    [bad] = drawn(invalid_requests(spec=madeup, operation=OPERATION_ID, kinds={"too-large"}), count=1)
    assert (bad.rule, bad.pointer, bad.basis, bad.decision) == (
        "too-large:/keepDays",
        "/keepDays",
        "seed",
        None,
    )
    assert bad.description.startswith("`/keepDays` is ") and "at most 365" in bad.description
    [missing] = drawn(
        invalid_requests(spec=madeup, operation=OPERATION_ID, kinds={"missing-required-parameter"}), count=1
    )
    assert missing.pointer == "/header/accountId" and dict(missing.headers) == {"accountId": None}


def _check_parameters(spec: ContractSpec, operation: Operation, parameters: RequestParameters) -> None:
    by_place = {(p["in"], p["name"]): p for p in operation.parameters}
    assert set(parameters.path) == set(operation.path_parameters)
    for location, values in (
        ("path", parameters.path),
        ("header", parameters.headers),
        ("query", parameters.query),
    ):
        for name, value in values.items():
            assert isinstance(value, str)
            assert _validator(by_place[(location, name)]["schema"]).is_valid(value), (location, name, value)
    for (location, name), parameter in by_place.items():
        if parameter.get("required") and location in ("path", "header", "query"):
            assert (
                name
                in {"path": parameters.path, "header": parameters.headers, "query": parameters.query}[
                    location
                ]
            )
    assert not {name.lower() for name in parameters.headers} & {h.lower() for h in spec.auth_headers.values()}
    for value in parameters.headers.values():
        # What an HTTP client sends unchanged: Latin-1, no CR/LF/NUL or other controls, no edge spaces.
        value.encode("latin-1")
        assert value == value.strip() and not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value)
    for value in parameters.path.values():
        assert "/" not in value and value not in (".", "..")
    assert operation.match_path(unquote(operation.path(**parameters.path))) == dict(parameters.path)


@pytest.mark.parametrize("hostile", [False, True])
def test_request_parameters_are_valid_and_transmittable(hostile: bool, strict: ContractSpec) -> None:
    for operation_id in ("createTask", OPERATION_ID):
        operation = strict.operation(operation_id)
        found = drawn(request_parameters(spec=strict, operation=operation, hostile=hostile), count=50, seed=2)
        for parameters in found:
            _check_parameters(strict, operation, parameters)
        streams = [p.path["streamId"] for p in found]
        if hostile:
            awkward = [s for s in streams if any(c in s for c in "\n %?#") or not s.isascii() or len(s) > 100]
            assert awkward, streams
        else:
            assert all(s.startswith("st-") for s in streams), streams


def test_realistic_parameters_look_like_kore_ids(madeup: ContractSpec) -> None:
    for parameters in drawn(request_parameters(spec=madeup, operation=OPERATION_ID), count=20):
        assert len(parameters.headers["accountId"]) == 24 and int(parameters.headers["accountId"], 16) >= 0


@given(media_types(operation="createTask"))
@SMALL
def test_media_types_are_the_documented_json(content_type: str) -> None:
    message = Message()
    message["Content-Type"] = content_type
    assert message.get_content_type() == "application/json"
    assert (message.get_param("charset") or "utf-8").lower() == "utf-8"


def test_media_types_cover_case_and_charset_spellings(madeup: ContractSpec) -> None:
    seen = set(drawn(media_types(spec=madeup, operation=OPERATION_ID), count=50, seed=4))
    assert "application/json" in seen
    assert any(";charset=" in m for m in seen) and any("; charset=" in m for m in seen)
    assert any(m.split(";")[0] != m.split(";")[0].lower() for m in seen)


def test_build_task_serves_the_operation_that_answers_a_task(madeup: ContractSpec) -> None:
    from datetime import UTC, datetime

    from generators import Caller, FrozenClock, SeededIds

    create = madeup.operation("createTask")
    arguments: dict[str, Any] = {
        "stream_id": "st-084d3c5e-376a-559f-9987-a012bb2b0c1d",
        "account_id": "6639f7bd58c97ffac03b1a2c",
        "caller": Caller.for_app("cs-1"),
        "clock": FrozenClock(datetime(2025, 6, 4, tzinfo=UTC)),
        "ids": SeededIds(1),
        "spec": madeup,
    }
    # Two operations in the spec, one answers the Task schema: build_task finds it on its own.
    task = build_task(create.request_examples["seed-sample"], **arguments)
    assert task["refId"] == "TS000001"
    with pytest.raises(ValueError, match="archiveNote's success answer is not it"):
        build_task({"reason": "x", "keepDays": 1}, operation=madeup.operation(OPERATION_ID), **arguments)


def test_hostile_path_values_are_one_encoded_segment() -> None:
    for parameters in drawn(request_parameters(operation="createTask", hostile=True), count=40, seed=5):
        encoded = quote(parameters.path["streamId"], safe="")
        assert "/" not in encoded and len(encoded) <= 3000


def test_requests_and_parameters_stay_hashable(madeup: ContractSpec) -> None:
    [bad] = drawn(
        invalid_requests(spec=madeup, operation=OPERATION_ID, kinds={"missing-required-parameter"}), count=1
    )
    [parameters] = drawn(request_parameters(spec=madeup, operation=OPERATION_ID), count=1)
    assert bad in {bad} and parameters in {parameters}
