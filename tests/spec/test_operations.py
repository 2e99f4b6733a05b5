"""Operations come from the spec: each `operationId` is an `Operation` with its route, schemas and relations."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec import ContractSpec, Operation, Rate, SpecError, keyword_decision, load_spec
from tests.madeup import OPERATION_ID, PATH_TEMPLATE, write_madeup_spec


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


@pytest.fixture(scope="module")
def madeup(tmp_path_factory: pytest.TempPathFactory) -> ContractSpec:
    return load_spec(write_madeup_spec(tmp_path_factory.mktemp("madeup")))


def test_every_path_and_method_of_the_document_is_an_operation(contract: ContractSpec) -> None:
    documented = {
        (method.upper(), template)
        for template, item in contract.resolved["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    }
    assert {(op.method, op.path_template) for op in contract.operations.values()} == documented
    for operation_id, operation in contract.operations.items():
        assert operation.id == operation_id
        assert operation.definition["operationId"] == operation_id


def test_an_unknown_operation_id_names_the_known_ones(contract: ContractSpec) -> None:
    with pytest.raises(SpecError, match=r"no operation 'nope'.*operations: "):
        contract.operation("nope")


def test_the_made_up_operation_is_read_with_everything_it_documents(madeup: ContractSpec) -> None:
    operation = madeup.operation(OPERATION_ID)
    assert operation.method == "POST" and operation.path_template == PATH_TEMPLATE
    assert operation.path_parameters == ("streamId", "noteId")
    assert {(p["in"], p["name"]) for p in operation.parameters} == {
        ("path", "streamId"),
        ("path", "noteId"),
        ("header", "accountId"),
    }
    assert [p["name"] for p in operation.parameters_in("header")] == ["accountId"]
    assert operation.body_required and operation.request_media_types == ("application/json",)
    assert operation.request_schema is not None and operation.request_schema["title"] == "ArchiveNoteRequest"
    assert operation.request_examples == {"plain": {"reason": "duplicate", "keepDays": 30, "mode": "soft"}}
    assert operation.documented_statuses == {200, 400, 401, 404, 405, 413, 415, 429}
    assert operation.success_status == 200
    success = operation.response_schema()
    assert success is not None and success["title"] == "ArchivedNote"
    assert operation.response_schema(401) == madeup.error_schema
    assert operation.response_schema(299) is None
    assert set(operation.response_examples()) == {"plain"}
    assert [r.id for r in operation.relations] == [
        "archive-echo-note-id",
        "archive-echo-reason",
        "archive-is-archived",
    ]
    assert all(r.operation == OPERATION_ID for r in operation.relations)
    assert {r.id for r in operation.relations} <= {r.id for r in madeup.relations}
    # The rest of the document is untouched: the real operations are all still there, unchanged.
    real = load_spec()
    assert set(madeup.operations) == {*real.operations, OPERATION_ID}


def test_routing_finds_each_operation_and_its_path_parameters(madeup: ContractSpec) -> None:
    for operation in madeup.operations.values():
        values = {name: f"v-{i}" for i, name in enumerate(operation.path_parameters)}
        found = madeup.match(operation.method, operation.path(**values))
        assert found is not None and found.operation.id == operation.id
        assert dict(found.path_params) == values
        assert madeup.match("PATCH", operation.path(**values)) is None
        assert operation.method in madeup.methods_at(operation.path(**values))


def test_unknown_paths_match_nothing(madeup: ContractSpec) -> None:
    note = madeup.operation(OPERATION_ID)
    assert madeup.match("POST", note.path(streamId="s", noteId="n") + "/extra") is None
    # A trailing newline is not forgiven after a literal segment; after a parameter it is the
    # parameter's (its schema judges it).
    for operation in madeup.operations.values():
        path = operation.path(**dict.fromkeys(operation.path_parameters, "v"))
        found = madeup.match(operation.method, path + "\n")
        if operation.path_template.endswith("}"):
            assert found is not None and found.path_params[operation.path_parameters[-1]] == "v\n"
        else:
            assert found is None
    assert madeup.match("POST", "/caseManagement/api/public/analytics//archiveNote/n") is None
    assert madeup.methods_at("/nowhere") == frozenset()


@given(
    st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=60)
)
def test_a_path_parameter_is_one_segment_whatever_it_holds(value: str) -> None:
    contract = load_spec()
    for operation in contract.operations.values():
        values = dict.fromkeys(operation.path_parameters, value)
        # `path()` percent-encodes; a server matches the decoded path.
        encoded = operation.path(**values)
        assert "\n" not in encoded and " " not in encoded
        found = contract.match(operation.method, unquote(encoded))
        assert found is not None and found.operation.id == operation.id
        assert dict(found.path_params) == values


def test_operations_default_to_the_success_status_of_their_own(contract: ContractSpec) -> None:
    for operation in contract.operations.values():
        assert isinstance(operation, Operation)
        assert 200 <= operation.success_status < 300
        assert operation.response_schema() is not None, operation.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60", Rate(60, 60)),
        ("60/min", Rate(60, 60)),
        ("60 / minute", Rate(60, 60)),
        ("1/s", Rate(1, 1)),
        ("2.5/s", Rate(2.5, 1)),
        ("100/h", Rate(100, 3600)),
        ("off", None),
        ("0", None),
        ("0/s", None),
        ("unlimited", None),
    ],
)
def test_one_rate_grammar(text: str, expected: Rate | None) -> None:
    assert Rate.parse(text) == expected


@pytest.mark.parametrize("text", ["", "fast", "60/fortnight", "-1", "1/s/s"])
def test_a_bad_rate_says_the_grammar(text: str) -> None:
    with pytest.raises(ValueError, match="N/s, N/min or N/h"):
        Rate.parse(text)


def test_the_spec_states_the_platform_rate_limit_in_the_grammar(contract: ContractSpec) -> None:
    limit = contract.rate_limit
    assert limit is not None
    rate = Rate.parse(f"{limit['requests']}/{limit['per']}")
    assert rate == Rate(60, 60)


def test_a_decision_covers_its_nodes_own_keywords_only() -> None:
    node = {"type": "string", "minLength": 1, "x-decision": "d"}
    assert keyword_decision(node, "minLength") == "d"
    assert keyword_decision(node, "pattern") == "d"
    for seed_keyword in ("type", "required", "anyOf", "enum"):
        assert keyword_decision(node, seed_keyword) is None
    assert keyword_decision({"minLength": 1}, "minLength") is None


def test_the_contract_loads_from_a_copy_anywhere(tmp_path: Path) -> None:
    copy = load_spec(write_madeup_spec(tmp_path))
    assert copy.path.parent == tmp_path / "spec"
