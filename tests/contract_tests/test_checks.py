"""How the checks word what they found."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from contract_tests._checks import _schema_problems


def test_schema_problems_escape_pointer_tokens() -> None:
    schema = {"properties": {"a/b": {"properties": {"c~d": {"type": "integer"}}}}}
    problems = _schema_problems(Draft202012Validator(schema), {"a/b": {"c~d": "x"}})
    assert problems == [
        "/a~1b/c~0d: 'x' is not of type 'integer' (schema properties/a~1b/properties/c~0d/type)"
    ]


def test_schema_problems_name_plain_keys_and_indexes_as_they_are() -> None:
    schema = {"properties": {"items": {"type": "array", "items": {"type": "string"}}}}
    problems = _schema_problems(Draft202012Validator(schema), {"items": ["ok", 3]})
    assert problems == ["/items/1: 3 is not of type 'string' (schema properties/items/items/type)"]
