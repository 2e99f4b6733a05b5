"""The contract itself: the seed page's samples, the named examples, required fields and the loader."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_core.testing import MockRequest, MockResponse

from spec import SPEC_PATH, ContractSpec, SpecLocationError, load_spec, spec_files

SEED_PAGE = SPEC_PATH.parent / "seed-page.md"
OP = "createTask"
PATH = "/caseManagement/api/public/analytics/st-084d3c5e-376a-559f-9987-a012bb2bxxxx/createTask"


def seed_samples() -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed page's sample request body (from its curl --data-raw) and sample response."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    request = json.loads(re.search(r"--data-raw '(\{.*?\})'", text, re.S).group(1))  # type: ignore[union-attr]
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    response = json.loads(blocks[-1])
    return request, response


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


def request_errors(
    contract: ContractSpec, body: Any, headers: dict[str, str] | None = None
) -> list[Exception]:
    request = MockRequest(
        "https://platform.kore.ai",
        "post",
        PATH,
        data=json.dumps(body).encode(),
        headers={"auth": "token", **(headers or {})},
        content_type="application/json",
    )
    return list(contract.openapi.unmarshal_request(request).errors)


def response_errors(contract: ContractSpec, status: int, body: Any) -> list[Exception]:
    request = MockRequest(
        "https://platform.kore.ai", "post", PATH, headers={"auth": "token"}, content_type="application/json"
    )
    response = MockResponse(json.dumps(body).encode(), status_code=status, content_type="application/json")
    return list(contract.openapi.unmarshal_response(request, response).errors)


def test_seed_sample_request_is_valid(contract: ContractSpec) -> None:
    request, _ = seed_samples()
    assert request_errors(contract, request) == []


def test_seed_sample_response_is_valid(contract: ContractSpec) -> None:
    _, response = seed_samples()
    assert response_errors(contract, 200, response) == []


def test_named_seed_examples_are_the_seed_page_samples(contract: ContractSpec) -> None:
    request, response = seed_samples()
    assert contract.operation(OP).request_examples["seed-sample"] == request
    assert contract.operation(OP).response_examples()["seed-sample"] == response


def test_every_request_example_has_a_response_example(contract: ContractSpec) -> None:
    assert set(contract.operation(OP).request_examples) == set(contract.operation(OP).response_examples())
    assert {"seed-sample", "email-only-user", "phone-only-user", "no-task-name"} <= set(
        contract.operation(OP).request_examples
    )


@pytest.mark.parametrize("name", sorted(load_spec().operation(OP).request_examples))
def test_named_request_example_is_valid(contract: ContractSpec, name: str) -> None:
    assert request_errors(contract, contract.operation(OP).request_examples[name]) == []


@pytest.mark.parametrize("name", sorted(load_spec().operation(OP).response_examples()))
def test_named_response_example_is_valid(contract: ContractSpec, name: str) -> None:
    assert response_errors(contract, 200, contract.operation(OP).response_examples()[name]) == []


def _error_examples() -> list[tuple[str, str]]:
    contract = load_spec()
    return [
        (status, name)
        for status in sorted(contract.operation(OP).responses)
        if status != "200"
        for name in contract.operation(OP).response_examples(status)
    ]


@pytest.mark.parametrize(("status", "name"), _error_examples())
def test_named_error_example_is_valid(contract: ContractSpec, status: str, name: str) -> None:
    assert (
        response_errors(contract, int(status), contract.operation(OP).response_examples(status)[name]) == []
    )


def test_every_documented_error_has_an_example(contract: ContractSpec) -> None:
    for status in ("400", "401", "405", "413", "415", "429"):
        assert contract.operation(OP).response_examples(status), status
    assert contract.operation(OP).response_examples("401")["invalid-credentials"] == {
        "errors": [{"msg": "Invalid SDK credentials", "code": 4002}]
    }


def _required_pointers(schema: dict[str, Any], prefix: str = "") -> list[str]:
    pointers = []
    for name in schema.get("required", []):
        pointers.append(f"{prefix}/{name}")
        child = schema.get("properties", {}).get(name, {})
        if child.get("type") == "object":
            pointers.extend(_required_pointers(child, f"{prefix}/{name}"))
    return pointers


def _set(body: dict[str, Any], pointer: str, value: Any, *, delete: bool = False) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = pointer.strip("/").split("/")
    node = body
    for token in parents:
        node = node[token]
    if delete:
        del node[last]
    else:
        node[last] = value
    return body


def test_required_fields_are_the_documented_ones(contract: ContractSpec) -> None:
    assert sorted(_required_pointers(dict(contract.operation(OP).request_schema))) == sorted(
        ["/caseId", "/caseRefId", "/taskTmp", "/userInfo", "/source", "/userInfo/name"]
    )


@pytest.mark.parametrize("pointer", _required_pointers(dict(load_spec().operation(OP).request_schema)))
def test_removing_a_required_field_invalidates_the_seed_request(contract: ContractSpec, pointer: str) -> None:
    request, _ = seed_samples()
    assert request_errors(contract, _set(request, pointer, None, delete=True)) != []


_WRONG_TYPES: dict[str, Any] = {
    "string": 42,
    "object": "not an object",
    "integer": "7",
    "boolean": "yes",
    "array": {},
}


def _typed_pointers(schema: dict[str, Any], body: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    pointers = []
    for name, child in schema.get("properties", {}).items():
        if name not in body or "type" not in child:
            continue
        pointers.append((f"{prefix}/{name}", child["type"]))
        if child["type"] == "object":
            pointers.extend(_typed_pointers(child, body[name], f"{prefix}/{name}"))
    return pointers


@pytest.mark.parametrize(
    ("pointer", "json_type"),
    _typed_pointers(dict(load_spec().operation(OP).request_schema), seed_samples()[0]),
)
def test_wrong_type_invalidates_the_seed_request(
    contract: ContractSpec, pointer: str, json_type: str
) -> None:
    request, _ = seed_samples()
    assert request_errors(contract, _set(request, pointer, _WRONG_TYPES[json_type])) != []


@pytest.mark.parametrize("contact", ["_id", "emailId", "phoneNumber"])
def test_any_one_contact_is_enough(contract: ContractSpec, contact: str) -> None:
    request, _ = seed_samples()
    values = {"_id": "u-1", "emailId": "a@example.com", "phoneNumber": "+14155550123"}
    request["userInfo"] = {"name": "Dana", contact: values[contact]}
    assert request_errors(contract, request) == []


def test_user_without_any_contact_is_invalid(contract: ContractSpec) -> None:
    request, _ = seed_samples()
    request["userInfo"] = {"name": "Dana"}
    assert request_errors(contract, request) != []


def test_desc_and_task_name_are_optional(contract: ContractSpec) -> None:
    request, _ = seed_samples()
    assert "desc" not in request
    del request["name"]
    assert request_errors(contract, request) == []


def test_missing_auth_header_is_a_security_error(contract: ContractSpec) -> None:
    request = MockRequest(
        "https://platform.kore.ai",
        "post",
        PATH,
        data=json.dumps(seed_samples()[0]).encode(),
        content_type="application/json",
    )
    assert contract.openapi.unmarshal_request(request).errors


def test_bundle_has_no_ref_left(contract: ContractSpec) -> None:
    assert "$ref" not in contract.bundle_json()
    assert "$ref" not in contract.bundle_yaml()
    assert json.loads(contract.bundle_json())["openapi"].startswith("3.1")


def test_every_decision_named_by_the_spec_exists(contract: ContractSpec) -> None:
    decided = {d.id for d in contract.decisions}
    named = set(
        re.findall(
            r"x-(?:optional-by-)?decision: ([\w-]+)",
            "".join(p.read_text() for p in SPEC_PATH.parent.rglob("*.yaml")),
        )
    )
    named |= {r.decision for r in contract.relations if r.decision}
    assert named and named <= decided


def test_relations_point_at_documented_response_fields(contract: ContractSpec) -> None:
    for relation in contract.relations:
        properties = contract.operation(relation.operation).response_schema()["properties"]
        for pointer in [relation.response, relation.of, *relation.pointers]:
            if pointer:
                assert pointer.split("/")[1] in properties, (relation.id, pointer)


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(SPEC_PATH.parent, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_loader_names_file_and_pointer_of_a_bad_schema(spec_copy: Path) -> None:
    request_file = spec_copy / "schemas" / "request.yaml"
    text = request_file.read_text().replace(
        "    caseRefId:\n      type: string", "    caseRefId:\n      type: strang", 1
    )
    request_file.write_text(text)
    with pytest.raises(SpecLocationError) as info:
        load_spec(spec_copy / "openapi.yaml")
    assert info.value.file == str(request_file)
    assert info.value.pointer == "/CreateTaskRequest/properties/caseRefId/type"
    assert "strang" in str(info.value)


def test_loader_names_the_unresolvable_ref(spec_copy: Path) -> None:
    root = spec_copy / "openapi.yaml"
    root.write_text(root.read_text().replace("schemas/task.yaml#/Task'", "schemas/task.yaml#/Tusk'", 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(root)
    assert info.value.file == str(root)
    assert info.value.pointer == "/components/schemas/Task/$ref"


def test_loader_names_the_line_of_broken_yaml(spec_copy: Path) -> None:
    broken = spec_copy / "schemas" / "ids.yaml"
    broken.write_text(broken.read_text() + "\nBroken: [unclosed\n")
    with pytest.raises(SpecLocationError) as info:
        load_spec(spec_copy / "openapi.yaml")
    assert info.value.file == str(broken)
    assert "line" in str(info.value)


def test_loader_rejects_an_unknown_relation_kind(spec_copy: Path) -> None:
    root = spec_copy / "openapi.yaml"
    root.write_text(root.read_text().replace("kind: lowercase\n", "kind: lower-ish\n", 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(root)
    assert "x-contract-relations/12" in info.value.pointer


@pytest.mark.parametrize(
    ("marker", "old", "new"),
    [
        ("x-decision", "x-decision: non-empty-required-strings", "x-decision: non-empty-required-strngs"),
        (
            "x-optional-by-decision",
            "x-optional-by-decision: desc-optional",
            "x-optional-by-decision: desc-optinal",
        ),
        ("x-open-by-decision", "x-open-by-decision: unknown-properties", "x-open-by-decision: unknown"),
    ],
)
def test_loader_names_a_marker_whose_decision_is_not_defined(
    spec_copy: Path, marker: str, old: str, new: str
) -> None:
    request_file = spec_copy / "schemas" / "request.yaml"
    assert old in request_file.read_text()
    request_file.write_text(request_file.read_text().replace(old, new, 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(spec_copy / "openapi.yaml")
    assert info.value.file == str(request_file) and info.value.pointer.endswith(f"/{marker}")
    node: Any = yaml.safe_load(request_file.read_text())
    for token in info.value.pointer.split("/")[1:]:
        node = node[token]
    assert node == new.split(": ")[1]  # the pointer leads to the misspelt name
    assert new.split(": ")[1] in str(info.value) and "email-format" in str(
        info.value
    )  # lists the defined ones


def test_loader_names_a_relation_whose_decision_is_not_defined(spec_copy: Path) -> None:
    root = spec_copy / "openapi.yaml"
    text = root.read_text()
    assert "decision: timestamp-tolerance" in text
    root.write_text(text.replace("decision: timestamp-tolerance", "decision: timestamp-tolerence", 1))
    with pytest.raises(SpecLocationError) as info:
        load_spec(root)
    assert info.value.file == str(root)
    assert "x-contract-relations/" in info.value.pointer and info.value.pointer.endswith("/decision")


def test_load_spec_is_cached() -> None:
    assert load_spec() is load_spec()
    assert load_spec() is load_spec(SPEC_PATH)
    assert load_spec() is load_spec(None) is load_spec(str(SPEC_PATH))


def test_spec_files_are_the_root_and_the_yaml_files_under_its_folder(spec_copy: Path) -> None:
    (spec_copy / "notes.txt").write_text("not a spec file")
    files = spec_files(spec_copy / "openapi.yaml")
    assert files == sorted(files)
    assert spec_copy / "openapi.yaml" in files and spec_copy / "schemas" / "request.yaml" in files
    assert {f.suffix for f in files} == {".yaml"}


def test_loader_parses_each_file_once(spec_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import prance.util.formats

    parsed: list[str] = []
    parse_spec = prance.util.formats.parse_spec

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(args[1] if len(args) > 1 else kwargs.get("filename"))
        return parse_spec(*args, **kwargs)

    monkeypatch.setattr(prance.util.formats, "parse_spec", counting)
    contract = load_spec(spec_copy / "openapi.yaml")
    assert parsed == []  # prance resolved every $ref from the documents the YAML check parsed
    assert json.dumps(contract.resolved, sort_keys=True) == json.dumps(load_spec().resolved, sort_keys=True)


def test_spec_error_survives_a_context_manager(spec_copy: Path) -> None:
    import contextlib

    root = spec_copy / "openapi.yaml"
    root.write_text(root.read_text().replace("kind: lowercase\n", "kind: lower-ish\n", 1))

    @contextlib.contextmanager
    def loading() -> Any:
        yield load_spec(root)

    with pytest.raises(SpecLocationError, match="lower-ish"), loading():
        pass


def test_the_operations_parameters_and_auth_header_are_read_once_for_everyone(contract: ContractSpec) -> None:
    assert contract.auth_headers == {"jwtAuth": "auth"}
    where = {(p["in"], p["name"]) for p in contract.operation(OP).parameters}
    assert ("path", "streamId") in where and ("header", "accountId") in where
    assert len(where) == len(
        contract.operation(OP).parameters
    )  # the path item's and the operation's, each once


def test_nothing_of_the_development_set_up_is_in_the_product() -> None:
    """The spec, its parts, the docs and the READMEs point at the project's own files or the public page."""
    root = SPEC_PATH.parent.parent
    parts = [p for p in SPEC_PATH.parent.rglob("*") if p.suffix in {".yaml", ".md", ".j2", ".py"}]
    shipped = [*parts, *root.glob("*.md"), *root.glob("*/README.md"), *root.glob("docs/*.md")]
    assert len(parts) > 5
    for path in shipped:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/" not in text, path
