"""The meaning of `x-contract-relations`: check a successful answer against the request that produced it.

The relations are data in the spec; this module is the one interpreter of their kinds, used by the
contract tests, the generators' tests and the documentation, and (`apply_relations`) by the mock's
producer of answers for operations without a producer of their own.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from spec._pointer import MISSING, resolve_pointer, unescape_token

if TYPE_CHECKING:
    from spec._loader import Relation


@dataclass(frozen=True)
class RequestFacts:
    """What a request sent, addressed by the relation pointers `/body/...`, `/path/...`, `/header/...`."""

    body: Any
    path: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def get(self, pointer: str) -> Any:
        """The value at a request pointer, or MISSING."""
        root, _, rest = pointer.lstrip("/").partition("/")
        if root == "body":
            return resolve_pointer(self.body, "/" + rest if rest else "")
        if root == "path":
            return self.path.get(rest, MISSING)
        if root == "header":
            lowered = {k.lower(): v for k, v in self.headers.items()}
            return lowered.get(rest.lower(), MISSING)
        raise ValueError(f"request pointer {pointer!r} must start with /body, /path or /header")


@dataclass(frozen=True)
class RelationViolation:
    """A relation that a 200 answer does not keep."""

    relation: Relation
    received: Any
    expected: Any
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.relation.id} ({self.relation.kind}, basis: {self.relation.basis}): {self.detail}. "
            f"Received: {self.received!r}. Documented: {self.expected!r} - {self.relation.description}"
        )


def _lowercasings(text: str) -> set[str]:
    """`text` lower-cased by Python, and as runtimes without context-sensitive rules lower-case it.

    Python lower-cases a word-final capital sigma to the final form and a dotted capital I to "i" plus
    a combining dot; Go, Java and .NET may give the plain sigma and a plain "i". Each is a faithful
    lower-casing, so each keeps the relation.
    """
    per_char = "".join(c.lower() for c in text)
    return {text.lower(), per_char, text.lower().replace("i\u0307", "i"), per_char.replace("i\u0307", "i")}


def instant_ms(value: Any) -> float | None:
    """Epoch milliseconds of a date-time string or an epoch-ms integer; None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None
        return parsed.timestamp() * 1000
    return None


def check_relation(
    relation: Relation,
    request: RequestFacts,
    response: Any,
    *,
    seen: MutableMapping[str, set[str]] | None = None,
) -> RelationViolation | None:
    """Check one relation; `seen` carries the values of `unique` relations across answers."""
    kind = relation.kind
    if kind == "equals":
        assert relation.request and relation.response
        sent = request.get(relation.request)
        if sent is MISSING:
            return None
        got = resolve_pointer(response, relation.response)
        if got is MISSING:
            if relation.if_in_response:
                return None
            return RelationViolation(
                relation, got, sent, f"{relation.response} is absent but the request sent {relation.request}"
            )
        if got != sent:
            return RelationViolation(
                relation, got, sent, f"{relation.response} differs from the request's {relation.request}"
            )
        return None
    if kind == "lowercase":
        assert relation.response and relation.of
        source = resolve_pointer(response, relation.of)
        if not isinstance(source, str):
            return None
        got = resolve_pointer(response, relation.response)
        if got not in _lowercasings(source):
            return RelationViolation(
                relation, got, source.lower(), f"{relation.response} is not {relation.of} lower-cased"
            )
        return None
    if kind == "same-value":
        values = [resolve_pointer(response, p) for p in relation.pointers]
        if any(v != values[0] for v in values[1:]):
            return RelationViolation(
                relation,
                dict(zip(relation.pointers, values, strict=True)),
                "equal values",
                f"{', '.join(relation.pointers)} differ",
            )
        return None
    if kind == "same-instant":
        values = [resolve_pointer(response, p) for p in relation.pointers]
        instants = [instant_ms(v) for v in values]
        received = dict(zip(relation.pointers, values, strict=True))
        if any(i is None for i in instants):
            return RelationViolation(
                relation,
                received,
                "date-time strings with a zone or epoch milliseconds",
                "a value is not an instant",
            )
        spread = max(instants) - min(instants)  # type: ignore[type-var,operator]
        if spread > relation.tolerance_ms:
            return RelationViolation(
                relation,
                received,
                f"within {relation.tolerance_ms} ms",
                f"the instants are {spread:.0f} ms apart",
            )
        return None
    if kind == "unique":
        assert relation.response
        got = resolve_pointer(response, relation.response)
        if got is MISSING or seen is None:
            return None
        scope = repr(resolve_pointer(response, relation.within)) if relation.within else ""
        key = f"{scope}|{got!r}"
        bucket = seen.setdefault(relation.id, set())
        if key in bucket:
            return RelationViolation(
                relation,
                got,
                "a value no earlier answer had",
                f"{relation.response} repeats an earlier answer's",
            )
        bucket.add(key)
        return None
    if kind == "constant":
        assert relation.response
        got = resolve_pointer(response, relation.response)
        if got != relation.value or type(got) is not type(relation.value):
            return RelationViolation(
                relation,
                got,
                relation.value,
                f"{relation.response} is not the documented default of a new task",
            )
        return None
    raise ValueError(f"unknown relation kind {kind!r}")


def check_relations(
    relations: Iterable[Relation],
    request: RequestFacts,
    response: Any,
    *,
    seen: MutableMapping[str, set[str]] | None = None,
) -> list[RelationViolation]:
    """Every relation the answer breaks (empty when it keeps them all).

    Example:
        >>> from spec import load_spec
        >>> contract = load_spec()
        >>> operation = contract.operations["createTask"]
        >>> facts = RequestFacts(body=operation.request_examples["email-only-user"])
        >>> answer = operation.response_examples()["email-only-user"]
        >>> [v.relation.id for v in check_relations(operation.relations, facts, answer)]
        []
    """
    found = []
    for relation in relations:
        violation = check_relation(relation, request, response, seen=seen)
        if violation is not None:
            found.append(violation)
    return found


def apply_relations(relations: Iterable[Relation], request: RequestFacts, response: Any) -> Any:
    """A copy of `response` changed where needed so that it keeps every relation this interpreter can
    produce (`equals`, `lowercase`, `same-value`, `constant`; `same-instant` by copying the first
    instant when the values share a type); `unique` values are left to the producer.

    Example:
        >>> from spec import load_spec
        >>> operation = load_spec().operations["createTask"]
        >>> facts = RequestFacts(body={**operation.request_examples["seed-sample"], "caseId": "c-9"})
        >>> apply_relations(operation.relations, facts, operation.response_examples()["seed-sample"])["caseId"]
        'c-9'
    """
    document = copy.deepcopy(response)
    for relation in relations:
        if check_relation(relation, request, document) is None:
            continue
        kind = relation.kind
        if kind == "equals" and relation.request and relation.response:
            document = _set_pointer(document, relation.response, copy.deepcopy(request.get(relation.request)))
        elif kind == "lowercase" and relation.response and relation.of:
            document = _set_pointer(
                document, relation.response, resolve_pointer(document, relation.of).lower()
            )
        elif kind == "constant" and relation.response:
            document = _set_pointer(document, relation.response, copy.deepcopy(relation.value))
        elif kind in ("same-value", "same-instant") and relation.pointers:
            first = resolve_pointer(document, relation.pointers[0])
            for target in relation.pointers[1:]:
                if kind == "same-value" or type(resolve_pointer(document, target)) is type(first):
                    document = _set_pointer(document, target, copy.deepcopy(first))
    return document


def _set_pointer(document: Any, pointer: str, value: Any) -> Any:
    """`document` with `value` at `pointer` (missing objects on the way made); the whole value for `""`."""
    tokens = [unescape_token(t) for t in pointer.lstrip("/").split("/")] if pointer else []
    if not tokens:
        return value
    node = document
    for token in tokens[:-1]:
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node.setdefault(token, {})
        else:
            return document
    last = tokens[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    return document
