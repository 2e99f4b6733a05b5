"""The Create a task contract: `spec/openapi.yaml` and the one loader every package uses."""

from __future__ import annotations

from spec._loader import (
    SPEC_PATH,
    ContractSpec,
    Decision,
    Relation,
    SpecError,
    SpecLocationError,
    load_spec,
)

__all__ = [
    "SPEC_PATH",
    "ContractSpec",
    "Decision",
    "Relation",
    "SpecError",
    "SpecLocationError",
    "load_spec",
]
