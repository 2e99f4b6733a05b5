"""The Case Management contract: `spec/openapi.yaml`, the one loader every package uses, and the one judge."""

from __future__ import annotations

from spec._judge import (
    Basis,
    ContractJudge,
    Direction,
    Expect,
    Expectation,
    Finding,
    Judgement,
    ReceivedAnswer,
    SchemaCheck,
    SentRequest,
    cut_deep,
    error_pointer,
)
from spec._loader import (
    SPEC_PATH,
    ContractSpec,
    Decision,
    Relation,
    SpecError,
    SpecLocationError,
    keyword_decision,
    load_spec,
    spec_files,
)
from spec._operations import Operation, RouteMatch
from spec._pointer import MISSING, escape_token, resolve_pointer, unescape_token
from spec._rate import Rate
from spec._relations import RelationViolation, RequestFacts, apply_relations, check_relations

__all__ = [
    "MISSING",
    "SPEC_PATH",
    "Basis",
    "ContractJudge",
    "ContractSpec",
    "Decision",
    "Direction",
    "Expect",
    "Expectation",
    "Finding",
    "Judgement",
    "Operation",
    "Rate",
    "ReceivedAnswer",
    "Relation",
    "RelationViolation",
    "RequestFacts",
    "RouteMatch",
    "SchemaCheck",
    "SentRequest",
    "SpecError",
    "SpecLocationError",
    "apply_relations",
    "check_relations",
    "cut_deep",
    "error_pointer",
    "escape_token",
    "keyword_decision",
    "load_spec",
    "resolve_pointer",
    "spec_files",
    "unescape_token",
]
