"""invalid_requests(operation=OPERATION): each draw breaks exactly one rule derived from the spec, and the spec's validator says so."""

from __future__ import annotations

import functools
import json
import shutil
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.validation.request.exceptions import InvalidRequestBody, MissingRequiredRequestBody

from generators import InvalidRequest, invalid_requests
from generators._schema import rules
from spec import SPEC_PATH, ContractSpec, load_spec
from tests.generators.helpers import VALIDATOR_OF_KIND, drawn, request_errors, schema_errors

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createTask")
TRANSPORT = {"malformed-json", "wrong-content-type", "no-body", "non-object-body"}


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]] if pointer else []


def assert_rejected_for_its_rule(contract: ContractSpec, bad: InvalidRequest) -> None:
    """openapi-core rejects the request, and only for the reason the draw is labelled with."""
    errors = request_errors(contract, bad.body, bad.content_type)
    assert len(errors) == 1, (str(bad), errors)
    error = errors[0]
    if bad.kind == "malformed-json":
        assert isinstance(error.__cause__, MediaTypeDeserializeError), error
        with pytest.raises(ValueError):
            json.loads(bad.body or b"")
    elif bad.kind == "wrong-content-type":
        assert isinstance(error.__cause__, MediaTypeNotFound), error
        assert json.loads(bad.body or b"") == bad.json_body and isinstance(bad.json_body, dict)
    elif bad.kind == "no-body":
        assert isinstance(error, MissingRequiredRequestBody) and bad.body is None
    elif bad.kind == "non-object-body":
        assert isinstance(error, InvalidRequestBody)
        assert [(e.validator, list(e.absolute_path)) for e in schema_errors(error)] == [("type", [])]
        assert not isinstance(bad.json_body, dict)
    else:
        assert isinstance(error, InvalidRequestBody), error
        found = schema_errors(error)
        assert len(found) == 1, (str(bad), [e.message for e in found])
        [reason] = found
        assert reason.validator == VALIDATOR_OF_KIND[bad.kind], (str(bad), reason.message)
        where = _tokens(bad.pointer)
        if bad.kind == "missing-required":
            assert list(reason.absolute_path) == where[:-1]
            assert where[-1] not in reason.instance
        else:
            assert list(reason.absolute_path) == where


@given(invalid_requests(operation=OPERATION))
def test_every_draw_is_rejected_for_its_labelled_rule(bad: InvalidRequest) -> None:
    assert_rejected_for_its_rule(CONTRACT, bad)


@given(invalid_requests(operation=OPERATION))
def test_draws_are_labelled_consistently(bad: InvalidRequest) -> None:
    assert bad.rule.split(":")[0] == bad.kind
    assert bad.rule == (f"{bad.kind}:{bad.pointer}" if bad.pointer else bad.kind)
    assert (bad.pointer == "") == (bad.kind in TRANSPORT)
    assert bad.basis == ("decision" if bad.kind in ("empty-string", "bad-format") else "seed")
    assert bad.expected_statuses == (
        frozenset({400, 415}) if bad.kind == "wrong-content-type" else frozenset({400})
    )
    assert bad.content_type == "application/json" or bad.kind == "wrong-content-type"
    assert bad.description.endswith(".") and "\n" not in bad.description
    assert str(bad) == f"{bad.rule}: {bad.description}"
    if bad.basis == "decision":
        assert "decision `" in bad.description


def _expected_rule_ids(schema: dict[str, Any], pointer: str = "") -> list[str]:
    """The rules the task's brief derives from a schema, written out independently of the generators."""
    found = []
    for name, child in schema.get("properties", {}).items():
        here = f"{pointer}/{name}"
        if name in schema.get("required", []):
            found.append(f"missing-required:{here}")
        if "type" in child:
            found.append(f"wrong-type:{here}")
        if child.get("minLength") == 1:
            found.append(f"empty-string:{here}")
        if child.get("format") == "email":
            found.append(f"bad-format:{here}")
        if child.get("type") == "object":
            found.extend(_expected_rule_ids(child, here))
    if any(set(branch) <= {"required", "title"} for branch in schema.get("anyOf", [])):
        found.append(f"no-contact:{pointer}")
    return found


def test_rules_are_the_ones_the_schema_implies() -> None:
    derived = [rule.id for rule in rules(CONTRACT, OPERATION)]
    assert sorted(derived) == sorted(
        [
            *_expected_rule_ids(dict(OPERATION.request_schema)),
            "malformed-json",
            "wrong-content-type",
            "no-body",
            "non-object-body",
        ]
    )
    basis = {rule.id: (rule.basis, rule.decision) for rule in rules(CONTRACT, OPERATION)}
    assert basis["bad-format:/userInfo/emailId"] == ("decision", "email-format")
    assert basis["empty-string:/userInfo/name"] == ("decision", "non-empty-required-strings")
    assert basis["no-contact:/userInfo"] == ("seed", None)
    assert basis["wrong-type:/caseId"] == ("seed", None)


def _labelled(rule: str, bad: InvalidRequest) -> bool:
    return bad.rule == rule


def test_every_rule_is_drawn() -> None:
    seen = {bad.rule for bad in drawn(invalid_requests(operation=OPERATION), count=600, seed=3)}
    # Hypothesis does not pick branches uniformly; look for any rule a plain run did not meet.
    for rule in sorted({rule.id for rule in rules(CONTRACT, OPERATION)} - seen):
        bad = find(
            invalid_requests(operation=OPERATION),
            functools.partial(_labelled, rule),
            settings=settings(
                database=None,
                max_examples=5000,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
        seen.add(bad.rule)
    assert seen == {rule.id for rule in rules(CONTRACT, OPERATION)}


def test_invalid_draws_shrink_to_a_small_example() -> None:
    bad = find(
        invalid_requests(operation="createTask", kinds={"wrong-type"}),
        lambda b: b.pointer == "/userInfo/emailId",
        settings=settings(database=None, max_examples=1000, suppress_health_check=list(HealthCheck)),
    )
    assert bad.json_body["userInfo"] == {
        "_id": "u-00000000-0000-5000-8000-000000000000",
        "name": "James Smith",
        "emailId": 0,
    }


@given(invalid_requests(operation="createTask", kinds={"no-contact", "bad-format"}, basis={"decision"}))
def test_kinds_and_basis_filter_the_rules(bad: InvalidRequest) -> None:
    assert bad.kind == "bad-format" and bad.basis == "decision"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kinds": {"too-loud"}}, "unknown kinds"),
        ({"kinds": "wrong-type"}, "not the string"),
        ({"kinds": set()}, "at least one"),
        ({"basis": {"folklore"}}, "unknown basis"),
        ({"kinds": {"no-body"}, "basis": {"decision"}}, "no rule"),
    ],
)
def test_bad_options_are_a_clear_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invalid_requests(operation="createTask", **options)


def test_json_body_is_the_parsed_body_or_none() -> None:
    bad = InvalidRequest(
        "no-body", "no-body", "", "seed", "No body.", None, "application/json", frozenset({400})
    )
    assert bad.json_body is None
    assert bad.__class__(**{**bad.__dict__, "body": b"{nope"}).json_body is None
    assert bad.__class__(**{**bad.__dict__, "body": b"[1]"}).json_body == [1]


@pytest.fixture(scope="module")
def edited_spec(tmp_path_factory: pytest.TempPathFactory) -> ContractSpec:
    """A copy of the spec where caseId may be empty, desc is required and the task name is bounded."""
    target = tmp_path_factory.mktemp("spec") / "spec"
    shutil.copytree(SPEC_PATH.parent, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    request = target / "schemas" / "request.yaml"
    # Edit the parsed YAML, not its text, so the edit survives unrelated changes to the file.
    schemas = yaml.safe_load(request.read_text())
    case_id = schemas["CreateTaskRequest"]["properties"]["caseId"]
    del case_id["minLength"], case_id["x-decision"]
    schemas["CreateTaskRequest"]["required"].append("desc")
    schemas["CreateTaskRequest"]["properties"]["name"]["maxLength"] = 40
    request.write_text(yaml.safe_dump(schemas, sort_keys=False, allow_unicode=True))
    # The named examples must stay valid: give each a description.
    examples_file = target / "examples" / "requests.yaml"
    examples = yaml.safe_load(examples_file.read_text())
    for example in examples.values():
        example["value"].setdefault("desc", "Follow up within one business day.")
    examples_file.write_text(yaml.safe_dump(examples, sort_keys=False, allow_unicode=True))
    return load_spec(target / "openapi.yaml")


def test_editing_the_spec_changes_the_rules(edited_spec: ContractSpec) -> None:
    ids = {rule.id for rule in rules(edited_spec, edited_spec.operation("createTask"))}
    assert "empty-string:/caseId" not in ids
    assert "missing-required:/desc" in ids
    assert "too-long:/name" in ids
    assert ids - {"missing-required:/desc", "too-long:/name"} == {
        rule.id for rule in rules(CONTRACT, OPERATION)
    } - {"empty-string:/caseId"}


def test_editing_the_spec_changes_what_is_drawn(edited_spec: ContractSpec) -> None:
    from generators import valid_requests
    from tests.generators.helpers import body_errors

    for body in drawn(valid_requests(operation="createTask", spec=edited_spec), count=60):
        assert "desc" in body and len(body.get("name", "")) <= 40
        assert body_errors(edited_spec, body) == []
    for bad in drawn(invalid_requests(operation="createTask", spec=edited_spec), count=120):
        assert_rejected_for_its_rule(edited_spec, bad)


@given(invalid_requests(operation="createTask", kinds={"wrong-type"}))
def test_optional_properties_are_never_broken_with_null(bad: InvalidRequest) -> None:
    # null in an optional property reads as "absent" to many servers; the seed page does not forbid it.
    required = {"/caseId", "/caseRefId", "/taskTmp", "/userInfo", "/source", "/userInfo/name"}
    if bad.pointer not in required:
        parent, _, key = bad.pointer.rpartition("/")
        node = bad.json_body
        for token in filter(None, parent.split("/")):
            node = node[token]
        assert node[key] is not None, bad
