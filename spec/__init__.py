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
from spec._listing import Condition, ExpectedPage, FilterRule, Listing, sort_value
from spec._loader import (
    SPEC_PATH,
    CallSequences,
    Collection,
    ContractSpec,
    Decision,
    Relation,
    SequenceRelation,
    SpecError,
    SpecLocationError,
    keyword_decision,
    load_spec,
    spec_files,
)
from spec._operations import Operation, RouteMatch
from spec._pointer import MISSING, escape_token, resolve_pointer, unescape_token
from spec._rate import Rate
from spec._relations import RelationViolation, RequestFacts, apply_relations, check_relations, instant_ms
from spec._sequences import Exchange, Sequences, Store

__all__ = [
    "MISSING",
    "SPEC_PATH",
    "Basis",
    "CallSequences",
    "Collection",
    "Condition",
    "ContractJudge",
    "ContractSpec",
    "Decision",
    "Direction",
    "Exchange",
    "Expect",
    "Expectation",
    "ExpectedPage",
    "FilterRule",
    "Finding",
    "Judgement",
    "Listing",
    "Operation",
    "Rate",
    "ReceivedAnswer",
    "Relation",
    "RelationViolation",
    "RequestFacts",
    "RouteMatch",
    "SchemaCheck",
    "SentRequest",
    "SequenceRelation",
    "Sequences",
    "SpecError",
    "SpecLocationError",
    "Store",
    "apply_relations",
    "check_relations",
    "cut_deep",
    "error_pointer",
    "escape_token",
    "instant_ms",
    "keyword_decision",
    "load_spec",
    "resolve_pointer",
    "sort_value",
    "spec_files",
    "unescape_token",
]
