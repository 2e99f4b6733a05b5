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
from spec._pointer import MISSING, escape_token, resolve_pointer, unescape_token
from spec._relations import RelationViolation, RequestFacts, check_relations

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
    "escape_token",
    "load_spec",
    "resolve_pointer",
    "spec_files",
    "unescape_token",
]
