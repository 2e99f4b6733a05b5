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
    spec_files,
)
from spec._relations import MISSING, RelationViolation, RequestFacts, check_relations, resolve_pointer

__all__ = [
    "MISSING",
    "SPEC_PATH",
    "ContractSpec",
    "Decision",
    "Relation",
    "RelationViolation",
    "RequestFacts",
    "SpecError",
    "SpecLocationError",
    "check_relations",
    "load_spec",
    "resolve_pointer",
    "spec_files",
]
