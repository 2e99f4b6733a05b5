"""Kore id forms and the seeded id source."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generators import IdSource, SeededIds
from generators._ids import ID_FORMS, case_ref_id, id_regex, task_ref_id
from spec import load_spec

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createTask")
# The response schema's id patterns, by the prefix they start with (ids.yaml).
SPEC_PATTERNS = {
    pattern.split("-")[0].lstrip("^"): pattern
    for pattern in (
        OPERATION.response_schema()["properties"]["_id"]["pattern"],
        OPERATION.response_schema()["properties"]["orgId"]["pattern"],
        OPERATION.response_schema()["properties"]["status"]["properties"]["_id"]["pattern"],
        OPERATION.response_schema()["properties"]["priority"]["properties"]["_id"]["pattern"],
        OPERATION.response_schema()["properties"]["fields"]["items"]["properties"]["_id"]["pattern"],
        OPERATION.response_schema()["properties"]["createdBy"]["properties"]["_id"]["pattern"],
    )
}


@pytest.mark.parametrize(
    ("prefix", "example"),
    [
        ("st", "st-084d3c5e-376a-559f-9987-a012bb2bxxxx"),
        ("u", "u-fd371c0a-3168-5a02-83dd-f4ba5597xxxx"),
        ("o", "o-85e72576-06a6-5c0b-8844-25fa0cd6xxxx"),
        ("ti", "ti-73acd32-0123-4114-9891-00a950aaxxxx"),
        ("sts", "sts-a3ed479-e945-4b59-a0c0-4369472axxxx"),
        ("fd", "fd-0c85264-e40d-48b9-ab6a-896e09adxxxx"),
        ("pr", "pr-cad98ea-d89c-489b-acc7-e86341e5xxxx"),
        ("ci", "ci-31d9184-d64d-42d9-8c75-5edba531xxxx"),
        ("ttm", "ttm-16623a9-c63c-4bda-b1e4-14754939xxxx"),
    ],
)
def test_ids_have_the_form_of_the_seed_samples(prefix: str, example: str) -> None:
    minted = SeededIds(3).new_id(prefix, key="k")
    assert re.fullmatch(id_regex(prefix), minted)
    # Same group lengths as the platform's id, with real hex where the page redacts with x.
    assert [len(g) for g in minted.split("-")] == [len(g) for g in example.split("-")]


@given(st.sampled_from(sorted(ID_FORMS)), st.integers(), st.text())
def test_new_id_is_deterministic_and_of_its_form(prefix: str, seed: int, key: str) -> None:
    minted = SeededIds(seed).new_id(prefix, key=key)
    assert minted == SeededIds(seed).new_id(prefix + "-", key=key)
    assert re.fullmatch(id_regex(prefix), minted)
    if prefix in SPEC_PATTERNS:
        assert re.search(SPEC_PATTERNS[prefix], minted)


def test_new_id_depends_on_seed_prefix_and_key() -> None:
    ids = {SeededIds(s).new_id(p, key=k) for s in (0, 1) for p in ("ti", "fd") for k in ("a", "b")}
    assert len(ids) == 8


def test_ref_numbers_count_per_account_from_one() -> None:
    ids = SeededIds(0)
    assert [ids.next_ref_number("a"), ids.next_ref_number("a"), ids.next_ref_number("b")] == [1, 2, 1]
    assert task_ref_id(1) == "TS000001"
    assert task_ref_id(1234567) == "TS1234567"


def test_case_references_are_cs_and_six_digits_from_one() -> None:
    assert case_ref_id(131) == "CS000131"
    assert case_ref_id(1) == "CS000001"
    with pytest.raises(ValueError, match="start at 1"):
        case_ref_id(0)


def test_seeded_ids_is_an_id_source() -> None:
    assert isinstance(SeededIds(0), IdSource)


@pytest.mark.parametrize("prefix", ["tx", "", "TI", "ti--"])
def test_unknown_prefix_is_a_clear_error(prefix: str) -> None:
    with pytest.raises(ValueError, match="known prefixes"):
        SeededIds(0).new_id(prefix, key="k")
