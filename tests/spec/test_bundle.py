"""`python -m spec bundle`: one file, no reference to another file, `$ref`s to named components kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from openapi_spec_validator import OpenAPIV31SpecValidator

from spec import SPEC_PATH, ContractSpec, load_spec, spec_files
from spec.__main__ import cli
from spec._bundle import bundle_document
from tests.madeup import OPERATION_ID, write_madeup_spec


def refs(node: Any) -> Iterator[str]:
    """Every `$ref` string in a document."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def write_bundle(tmp_path: Path, *args: str, spec: Path = SPEC_PATH) -> Path:
    fmt = "json" if "json" in args else "yaml"
    out = tmp_path / "bundle" / f"openapi.{fmt}"
    result = CliRunner().invoke(cli, ["bundle", "--spec", str(spec), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def assert_same_contract(source: ContractSpec, bundled: ContractSpec) -> None:
    """The bundle's operations and resolved schemas are the source's."""
    assert list(bundled.operations) == list(source.operations)
    for operation_id, operation in source.operations.items():
        other = bundled.operation(operation_id)
        assert (other.method, other.path_template) == (operation.method, operation.path_template)
        assert other.definition == operation.definition
        assert other.request_schema == operation.request_schema
        assert other.documented_statuses == operation.documented_statuses
        for status in operation.documented_statuses:
            assert other.response_schema(status) == operation.response_schema(status)
    assert bundled.relations == source.relations
    assert bundled.decisions == source.decisions
    assert {k: v for k, v in bundled.resolved.items() if k != "components"} == {
        k: v for k, v in source.resolved.items() if k != "components"
    }
    # Every component of the source is in the bundle, resolved to the same value; the bundle adds the
    # ones the source's files held without naming them in openapi.yaml.
    for section, entries in source.resolved["components"].items():
        for name, value in entries.items():
            assert bundled.resolved["components"][section][name] == value, f"{section}/{name}"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_bundle_keeps_refs_to_components_only(tmp_path: Path, fmt: str) -> None:
    out = write_bundle(tmp_path, "--format", fmt)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    found = set(refs(document))
    assert found, "the bundle keeps $refs"
    assert all(ref.startswith("#/components/") for ref in found), sorted(found)
    assert {"#/components/schemas/Task", "#/components/schemas/ErrorEnvelope"} <= found


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_bundle_is_valid_openapi_and_loads_as_the_same_contract(tmp_path: Path, fmt: str) -> None:
    out = write_bundle(tmp_path, "--format", fmt)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert_same_contract(load_spec(), load_spec(out))


def test_every_referenced_part_of_another_file_is_a_named_component(tmp_path: Path) -> None:
    """Each schema, response and example another file holds, and something references, gets a name."""
    document = bundle_document(SPEC_PATH)
    wanted: set[tuple[str, str]] = set()
    for file in spec_files(SPEC_PATH):
        for ref in refs(yaml.safe_load(file.read_text(encoding="utf-8"))):
            location, _, pointer = ref.partition("#")
            target = (file.parent / location).resolve() if location else file
            tokens = pointer.split("/")[1:]
            if target != SPEC_PATH and len(tokens) == 1:
                wanted.add((target.parent.name, tokens[0]))
    # The root names some of them differently (examples/requests.yaml#/seed-sample is SeedRequest); the
    # rest keep the name they have in their file.
    aliased = {
        (Path(ref["$ref"].partition("#")[0]).parent.name, ref["$ref"].rpartition("/")[2])
        for entries in yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))["components"].values()
        for ref in entries.values()
        if isinstance(ref, dict) and "$ref" in ref
    }
    named = {(section, name) for section, entries in document["components"].items() for name in entries}
    assert {("schemas", "Status"), ("schemas", "Error"), ("schemas", "StoredUserInfo")} <= named
    for folder, name in wanted - aliased:
        assert (folder, name) in named, f"{folder}/{name} is not a component of the bundle"


def test_dereference_gives_the_resolved_form(tmp_path: Path) -> None:
    out = write_bundle(tmp_path, "--format", "json", "--dereference")
    text = out.read_text(encoding="utf-8")
    assert "$ref" not in text
    assert json.loads(text) == json.loads(load_spec().bundle_json())


def test_contract_methods_default_to_the_resolved_form() -> None:
    contract = load_spec()
    assert "$ref" not in contract.bundle_json() and "$ref" not in contract.bundle_yaml()
    kept = json.loads(contract.bundle_json(dereference=False))
    assert kept == bundle_document(SPEC_PATH)
    assert yaml.safe_load(contract.bundle_yaml(dereference=False)) == kept


def test_standard_output_is_the_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bundle", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == bundle_document(SPEC_PATH)


def test_made_up_operation_bundles_too(tmp_path: Path) -> None:
    source = write_madeup_spec(tmp_path)
    out = write_bundle(tmp_path, "--format", "json", spec=source)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert all(ref.startswith("#/components/") for ref in refs(document))
    bundled = load_spec(out)
    assert OPERATION_ID in bundled.operations
    assert_same_contract(load_spec(source), bundled)


def _write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _tiny_spec(tmp_path: Path) -> Path:
    """A spec whose files hold two different `Error`s, a recursive schema and an example value with `$ref`."""
    envelope = {"$ref": "schemas/a.yaml#/Envelope"}
    _write(
        tmp_path / "schemas" / "a.yaml",
        {
            "Envelope": {
                "type": "object",
                "properties": {"error": {"$ref": "#/Error"}, "other": {"$ref": "b.yaml#/Error"}},
            },
            "Error": {"type": "object", "properties": {"msg": {"type": "string"}}},
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/Node"}}},
            },
        },
    )
    _write(
        tmp_path / "schemas" / "b.yaml",
        {"Error": {"type": "object", "properties": {"code": {"type": "integer"}}}},
    )
    root = tmp_path / "openapi.yaml"
    _write(
        root,
        {
            "openapi": "3.1.0",
            "info": {"title": "tiny", "version": "1"},
            "paths": {
                "/x": {
                    "get": {
                        "operationId": "getX",
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "schemas/a.yaml#/Node"},
                                        "examples": {"data": {"value": {"$ref": "not a reference"}}},
                                    }
                                },
                            },
                            "400": {
                                "description": "bad",
                                "content": {"application/json": {"schema": envelope}},
                            },
                        },
                    }
                }
            },
            "components": {"schemas": {"Envelope": envelope}},
        },
    )
    return root


def test_names_stay_unique_cycles_stay_references_and_example_values_stay_data(tmp_path: Path) -> None:
    document = bundle_document(_tiny_spec(tmp_path))
    schemas = document["components"]["schemas"]
    assert list(schemas) == ["Envelope", "Node", "Error", "Error2"]
    assert schemas["Envelope"]["properties"] == {
        "error": {"$ref": "#/components/schemas/Error"},
        "other": {"$ref": "#/components/schemas/Error2"},
    }
    assert schemas["Error2"]["properties"] == {"code": {"type": "integer"}}
    assert schemas["Node"]["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    media = document["paths"]["/x"]["get"]["responses"]
    assert media["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Node"}
    assert media["200"]["content"]["application/json"]["examples"]["data"]["value"] == {
        "$ref": "not a reference"
    }
    assert media["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Envelope"}
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
