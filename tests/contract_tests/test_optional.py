"""Properties optional by a decision are read from the spec's `x-optional-by-decision`, and filled validly."""

from __future__ import annotations

import copy

from jsonschema import Draft202012Validator

from contract_tests._optional import MARKER, decided_optional, describe, filled, left_out
from spec import Operation, load_spec


def create_task() -> Operation:
    """The operation whose request schema marks properties optional by a decision."""
    return load_spec().operation("createTask")


def test_the_markers_come_from_the_resolved_request_schema() -> None:
    schema = create_task().request_schema or {}
    marked = {
        name: node[MARKER] for name, node in schema["properties"].items() if isinstance(node.get(MARKER), str)
    }
    found = decided_optional(schema)
    assert {p.name: p.decision for p in found} == marked
    assert marked, "the spec marks no property x-optional-by-decision"


def test_a_marker_anywhere_in_the_schema_is_found_without_naming_it_in_code() -> None:
    schema = copy.deepcopy(dict(create_task().request_schema or {}))
    schema["properties"]["userInfo"]["properties"]["phoneNumber"][MARKER] = "some-decision"
    found = {p.name: p.decision for p in decided_optional(schema)}
    assert found["userInfo.phoneNumber"] == "some-decision"


def test_filling_what_a_body_omits_keeps_it_valid() -> None:
    operation = create_task()
    validator = Draft202012Validator(
        dict(operation.request_schema or {}), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    properties = decided_optional(operation.request_schema)
    for body in operation.request_examples.values():
        missing = left_out(body, properties)
        completed = filled(body, missing)
        assert validator.is_valid(completed)
        assert not left_out(completed, properties)
        assert all(completed[p.name] == p.value for p in missing)
        assert body != completed or not missing


def test_messages_name_the_properties_and_decisions() -> None:
    properties = decided_optional(create_task().request_schema)
    by_name = {p.name: p for p in properties}
    assert describe([by_name["desc"]]) == ("`desc`", "decision desc-optional")
    assert describe([by_name["name"], by_name["desc"]]) == (
        "`name` and `desc`",
        "decisions desc-optional, task-name-optional",
    )


def test_a_blank_value_counts_as_left_out_and_is_named_so() -> None:
    properties = decided_optional(create_task().request_schema)
    by_name = {p.name: p for p in properties}
    body = {"desc": " \t", "name": "Call back", "userInfo": {}}
    assert left_out(body, properties) == (by_name["desc"],)
    assert describe([by_name["desc"]], body) == ("a non-empty `desc`", "decision desc-optional")
    assert filled(body, [by_name["desc"]])["desc"] == by_name["desc"].value


def test_unknown_properties_rely_on_the_decision_their_object_names() -> None:
    from contract_tests._optional import OPEN_BY_DECISION, opening_decisions

    schema = copy.deepcopy(dict(create_task().request_schema or {}))
    body = copy.deepcopy(create_task().request_examples["seed-sample"])
    assert set(opening_decisions(schema, body)) == set()
    body["userInfo"]["nickname"] = "Pri"
    assert set(opening_decisions(schema, body)) == {schema["properties"]["userInfo"][OPEN_BY_DECISION]}
    # Read from the schema, not named in code: another decision on the nested object is the one relied on.
    schema["properties"]["userInfo"][OPEN_BY_DECISION] = "some-decision"
    body["extra"] = 1
    assert set(opening_decisions(schema, body)) == {schema[OPEN_BY_DECISION], "some-decision"}
    # An object the spec does not mark relies on no decision.
    del schema[OPEN_BY_DECISION], schema["properties"]["userInfo"][OPEN_BY_DECISION]
    assert set(opening_decisions(schema, body)) == set()
