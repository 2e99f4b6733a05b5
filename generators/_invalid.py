"""Invalid requests: each draw starts from a valid body and breaks exactly one rule derived from the spec."""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from generators import _values as values
from generators._people import DEFAULT_LOCALES
from generators._schema import (
    KIND_KEYWORDS,
    PER_SPEC,
    TRANSPORT_KINDS,
    Bound,
    Leaf,
    ObjectNode,
    Rule,
    accepts_media_type,
    ancestors,
    check_names,
    find,
    kinds_of,
    request_tree,
    resolve_operation,
    rules,
    tokens,
)
from generators._valid import Options, from_schema, request_bodies
from spec import Basis, ContractSpec, Expect, Expectation, Operation, load_spec

BASES = ("seed", "decision")
JSON_CONTENT_TYPE = "application/json"
# Content types a client sends by mistake; those the spec documents are dropped when the rule is made.
_OTHER_CONTENT_TYPES = (
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=----kore",
    "application/octet-stream",
)
_MALFORMATIONS = ("truncated", "single-quoted", "trailing-comma", "commented")
# The order a wrong type shrinks through: the most telling first.
_WRONG_TYPE_ORDER = ("integer", "boolean", "array", "object", "number", "null", "string")


@dataclass(frozen=True)
class InvalidRequest:
    """A request that breaks exactly one documented rule, and what the spec says about it.

    `pointer` is the broken place: a JSON pointer into the body for body rules (`/userInfo/emailId`,
    `""` for the body's root object), `/header/<name>` or `/query/<name>` for parameter rules, and
    `""` for rules of the body as a whole. The request is otherwise valid: the caller sends `body`
    as `content_type` (no Content-Type header when None), valid path parameters of its own unless
    `path_params` is set, and its usual headers with `headers` laid over them (None: leave the
    header out); likewise `query`.
    """

    rule: str
    kind: str
    pointer: str
    basis: str
    description: str
    body: bytes | None
    content_type: str | None
    expected_statuses: frozenset[int]
    # The operationId the request is sent to.
    operation: str = ""
    # The decision behind the rule (`basis == "decision"`), or None.
    decision: str | None = None
    # Mappings take no part in the hash, so a request stays hashable (a set of seen requests).
    path_params: Mapping[str, str] | None = field(default=None, hash=False)
    headers: Mapping[str, str | None] = field(default_factory=dict, hash=False)
    query: Mapping[str, str | None] = field(default_factory=dict, hash=False)

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON, or None when there is no body or it is not JSON."""
        if self.body is None:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def expectation(self) -> Expectation:
        """What the judge must see this request get: a refusal with one of `expected_statuses`."""
        return Expectation(
            Expect.INVALID,
            rule=self.rule,
            description=self.description,
            basis=Basis(self.basis),
            decisions=(self.decision,) if self.decision else (),
            statuses=self.expected_statuses,
        )

    def __str__(self) -> str:
        return f"{self.rule}: {self.description}"


def encode(body: Any) -> bytes:
    """The exact bytes a client sends for `body` (UTF-8 JSON)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def json_type(value: Any) -> str:
    """The JSON type name of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _decided(rule: Rule) -> str:
    return f" (decision `{rule.decision}`)" if rule.decision else ""


def _documented_types(types: tuple[str, ...]) -> str:
    return " or ".join(_article(t) if t != "null" else "null" for t in types)


def _edit(
    body: dict[str, Any], pointer: str, change: Callable[[dict[str, Any], str], None]
) -> dict[str, Any]:
    """A deep copy of `body` with `change(parent, key)` applied at `pointer`."""
    copied: dict[str, Any] = json.loads(json.dumps(body))
    *parents, last = tokens(pointer)
    node = copied
    for key in parents:
        node = node[key]
    change(node, last)
    return copied


def _edit_object(
    body: dict[str, Any], pointer: str, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """A deep copy of `body` with `change(object)` applied to the object at `pointer` (`""`: the body)."""
    copied: dict[str, Any] = json.loads(json.dumps(body))
    node = copied
    for key in tokens(pointer):
        node = node[key]
    change(node)
    return copied


def _request(
    operation: Operation,
    rule: Rule,
    description: str,
    body: bytes | None,
    content_type: str | None,
    *,
    headers: Mapping[str, str | None] | None = None,
    query: Mapping[str, str | None] | None = None,
) -> InvalidRequest:
    return InvalidRequest(
        rule=rule.id,
        kind=rule.kind,
        pointer=rule.pointer,
        basis=rule.basis,
        description=description,
        body=body,
        content_type=content_type,
        expected_statuses=rule.expected_statuses,
        operation=operation.id,
        decision=rule.decision,
        headers=dict(headers or {}),
        query=dict(query or {}),
    )


def _wrong_types(
    types: tuple[str, ...], *, allow_null: bool = True, schema: Mapping[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    excluded = (
        set(types) | ({"integer"} if "number" in types else set()) | (set() if allow_null else {"null"})
    )
    strategies = []
    for t in _WRONG_TYPE_ORDER:
        if t in excluded:
            continue
        if t == "number" and schema is not None and _bounded(schema):
            # A fraction where an integer is documented, inside the bounds: the type is the one fault.
            low, high = _bounds(schema)
            strategies.append(
                st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
                    lambda x: not x.is_integer()
                )
            )
        else:
            strategies.append(values.values_of_type(t, realistic=True))
    return st.one_of(strategies)


def _bounded(schema: Mapping[str, Any]) -> bool:
    return any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))


def _bounds(schema: Mapping[str, Any]) -> tuple[float, float]:
    low = max((float(schema[k]) for k in ("minimum", "exclusiveMinimum") if k in schema), default=-1e6)
    high = min((float(schema[k]) for k in ("maximum", "exclusiveMaximum") if k in schema), default=1e6)
    return low, high


def _leaf(spec: ContractSpec, operation: Operation, rule: Rule) -> Leaf:
    node = find(request_tree(spec, operation), rule.pointer)
    assert isinstance(node, Leaf), rule
    return node


def _without_keywords(leaf: Leaf, keywords: Collection[str]) -> OAS31Validator:
    schema = {k: v for k, v in leaf.schema.items() if k not in keywords}
    return OAS31Validator(schema, format_checker=oas31_format_checker)


def _complement(leaf: Leaf, rule: Rule) -> dict[str, Any]:
    """The leaf's schema with the rule's keyword turned round: what its breaking values satisfy."""
    keywords = KIND_KEYWORDS[rule.kind]
    schema = {k: v for k, v in leaf.schema.items() if k not in keywords and not k.startswith("x-")}
    if rule.kind in ("empty-string", "too-short"):
        schema["maxLength"] = min(rule.documented - 1, schema.get("maxLength", rule.documented))
    elif rule.kind == "too-long":
        schema["minLength"] = rule.documented + 1
        schema["maxLength"] = rule.documented + 20
    elif rule.kind in ("too-small", "too-large"):
        bound: Bound = rule.documented
        below = rule.kind == "too-small"
        for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            schema.pop(key, None)
        # Just past the bound first: the value a client sends by an off-by-one.
        if below:
            schema["maximum" if bound.exclusive else "exclusiveMaximum"] = bound.limit
            schema["minimum"] = bound.limit - 1000
        else:
            schema["minimum" if bound.exclusive else "exclusiveMinimum"] = bound.limit
            schema["maximum"] = bound.limit + 1000
    elif rule.kind == "not-in-enum":
        schema["not"] = {"enum": list(rule.documented)}
        if "type" not in schema:
            schema["type"] = sorted({json_type(v) for v in rule.documented})
    elif rule.kind == "pattern-mismatch":
        schema["not"] = {"pattern": rule.documented}
    return schema


def _near_misses(documented: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Values a client sends for an enum by mistake: another case, stray spaces, a plural, a number."""
    texts = [v for v in documented if isinstance(v, str)]
    numbers = [v for v in documented if isinstance(v, int) and not isinstance(v, bool)]
    choices: list[st.SearchStrategy[Any]] = []
    if texts:
        mistakes: list[Callable[[str], str]] = [
            str.upper,
            str.title,
            lambda v: v + " ",
            lambda v: " " + v,
            lambda v: v + "s",
            lambda v: v[:-1] if len(v) > 1 else v + v,
        ]
        choices.append(st.builds(lambda v, how: how(v), st.sampled_from(texts), st.sampled_from(mistakes)))
    if numbers:
        choices.append(st.builds(lambda v, d: v + d, st.sampled_from(numbers), st.sampled_from((-1, 1, 10))))
    return st.one_of(choices) if choices else st.nothing()


_PATTERN_BREAKERS = ("/", " ", "-", "_", ".", "#", "%", "?", "\n", "é", "A", "z", "0", "")


def _pattern_misses(leaf: Leaf) -> st.SearchStrategy[str]:
    """A value the leaf's schema takes with one character inserted, replaced or removed."""
    others = {k: v for k, v in leaf.schema.items() if k != "pattern" and not k.startswith("x-")}

    def mutate(value: Any, char: str, where: int, drop: bool) -> Any:
        if not isinstance(value, str):
            return value
        at = where % (len(value) + 1)
        return value[:at] + char + value[at + (1 if drop else 0) :]

    return st.builds(
        mutate, from_schema(others), st.sampled_from(_PATTERN_BREAKERS), st.integers(0, 50), st.booleans()
    )


def _breaking_values(spec: ContractSpec, operation: Operation, rule: Rule) -> st.SearchStrategy[Any]:
    """Values that break `rule` at its pointer and nothing else there."""
    if rule.kind == "wrong-type":
        node = find(request_tree(spec, operation), rule.pointer)
        # `null` in an optional property reads as "absent" to many servers (Pydantic's Optional, JS's
        # `== null`) and the seed page does not say it must be refused: only required ones get it.
        optional = isinstance(node, Leaf) and not node.required
        assert node is not None, rule
        # Every keyword but the type holds (an enum cannot: a value of another type is outside it too).
        others = OAS31Validator(
            {k: v for k, v in node.schema.items() if k not in ("type", "enum", "const")},
            format_checker=oas31_format_checker,
        )
        wrong = _wrong_types(rule.documented, allow_null=not optional, schema=node.schema)
        return wrong.filter(others.is_valid)
    leaf = _leaf(spec, operation, rule)
    others = _without_keywords(leaf, KIND_KEYWORDS[rule.kind])
    plain = not any(k in leaf.schema for k in ("pattern", "format", "enum", "const"))
    letters = st.sampled_from(string.ascii_letters + " ")
    candidates: st.SearchStrategy[Any]
    if rule.kind == "empty-string":
        candidates = st.just("")
    elif rule.kind == "too-short" and plain:
        candidates = st.text(letters, min_size=0, max_size=rule.documented - 1)
    elif rule.kind == "too-long" and plain:
        candidates = st.text(letters, min_size=rule.documented + 1, max_size=rule.documented + 20)
    elif rule.kind == "bad-format" and rule.documented == "email":
        candidates = values.bad_emails(DEFAULT_LOCALES)
    elif rule.kind == "bad-format":
        candidates = st.text(values.WILD_CHARACTERS, min_size=1, max_size=30)
    elif rule.kind == "not-in-enum":
        candidates = st.one_of(_near_misses(rule.documented), from_schema(_complement(leaf, rule)))
    elif rule.kind == "pattern-mismatch":
        candidates = st.one_of(_pattern_misses(leaf), from_schema(_complement(leaf, rule)))
    else:
        candidates = from_schema(_complement(leaf, rule))
    return candidates.filter(lambda v: not leaf.is_valid(v) and others.is_valid(v))


def _body_rule(spec: ContractSpec, operation: Operation, rule: Rule) -> st.SearchStrategy[InvalidRequest]:
    force = set(ancestors(rule.pointer))
    if rule.kind != "missing-required":
        force.add(rule.pointer)
    bases = request_bodies(spec, operation, Options(realistic=True, force=frozenset(force)))
    where = f"`{rule.pointer}`"

    if rule.kind == "missing-required":

        def drop(body: dict[str, Any]) -> InvalidRequest:
            broken = _edit(body, rule.pointer, lambda parent, key: parent.pop(key))
            return _request(
                operation,
                rule,
                f"{where} is missing; the spec documents it as required.",
                encode(broken),
                JSON_CONTENT_TYPE,
            )

        return st.builds(drop, bases)

    if rule.kind == "no-contact":
        node = find(request_tree(spec, operation), rule.pointer)
        assert isinstance(node, ObjectNode), rule
        paths = node.contact_paths

        def strip(body: dict[str, Any]) -> InvalidRequest:
            def remove_contacts(target: dict[str, Any]) -> None:
                for path in paths:
                    holder: Any = target
                    for name in path[:-1]:
                        holder = holder.get(name) if isinstance(holder, dict) else None
                    if isinstance(holder, dict):
                        holder.pop(path[-1], None)

            broken = _edit_object(body, rule.pointer, remove_contacts)
            listed = ", ".join(f"`{'/'.join(p)}`" for p in paths)
            return _request(
                operation,
                rule,
                f"{where} has none of {listed}; the spec requires at least one of them.",
                encode(broken),
                JSON_CONTENT_TYPE,
            )

        return st.builds(strip, bases)

    if rule.kind == "unknown-property":
        node = find(request_tree(spec, operation), rule.pointer)
        assert isinstance(node, ObjectNode), rule
        documented = node.property_names
        extra = values.extra_names(realistic=True).filter(lambda name: name not in documented)
        listed = ", ".join(f"`{n}`" for n in rule.documented)
        owner = where if rule.pointer else "The body"

        def add(body: dict[str, Any], name: str, value: Any) -> InvalidRequest:
            broken = _edit_object(body, rule.pointer, lambda target: target.__setitem__(name, value))
            return _request(
                operation,
                rule,
                f"{owner} has the undocumented property `{name}`; the spec allows only {listed} "
                f"(`additionalProperties: false`){_decided(rule)}.",
                encode(broken),
                JSON_CONTENT_TYPE,
            )

        return st.builds(add, bases, extra, values.realistic_json())

    def replace(body: dict[str, Any], value: Any) -> InvalidRequest:
        broken = _edit(body, rule.pointer, lambda parent, key: parent.__setitem__(key, value))
        if rule.kind == "wrong-type":
            what = f"{_article(json_type(value))} ({_shown(value)})" if value is not None else "null"
            text = f"{where} is {what}; the spec documents {_documented_types(rule.documented)}."
        elif rule.kind == "empty-string":
            text = f"{where} is an empty string; the spec requires at least 1 character{_decided(rule)}."
        elif rule.kind == "too-short":
            text = f"{where} has {len(value)} characters; the spec requires at least {rule.documented}{_decided(rule)}."
        elif rule.kind == "too-long":
            text = f"{where} has {len(value)} characters; the spec allows at most {rule.documented}{_decided(rule)}."
        elif rule.kind in ("too-small", "too-large"):
            bound: Bound = rule.documented
            if rule.kind == "too-small":
                side = "more than" if bound.exclusive else "at least"
            else:
                side = "less than" if bound.exclusive else "at most"
            limit = str(bound).removesuffix(" (exclusive)")
            text = f"{where} is {_shown(value)}; the spec requires {side} {limit}{_decided(rule)}."
        elif rule.kind == "not-in-enum":
            allowed = ", ".join(_shown(v) for v in rule.documented)
            text = f"{where} is {_shown(value)}; the spec allows only {allowed}{_decided(rule)}."
        elif rule.kind == "pattern-mismatch":
            text = (
                f"{where} is {_shown(value)}, which does not match "
                f"`pattern: {rule.documented}`{_decided(rule)}."
            )
        else:
            text = (
                f"{where} is {_shown(value)}, not a valid {rule.documented}; "
                f"the spec documents `format: {rule.documented}`{_decided(rule)}."
            )
        return _request(operation, rule, text, encode(broken), JSON_CONTENT_TYPE)

    return st.builds(replace, bases, _breaking_values(spec, operation, rule))


def _malformed(text: str, how: str, cut: int) -> str:
    if how == "truncated":
        return text[: max(1, min(cut, len(text) - 1))]
    if how == "single-quoted":
        return text.replace('"', "'")
    if how == "trailing-comma":
        return text[:-1] + ",}"
    return "// created by the support console\n" + text


def _transport_rule(
    spec: ContractSpec, operation: Operation, rule: Rule
) -> st.SearchStrategy[InvalidRequest]:
    bases = request_bodies(spec, operation, Options(realistic=True))
    documented = ", ".join(f"`{m}`" for m in rule.documented)

    if rule.kind == "malformed-json":

        def malform(body: dict[str, Any], how: str, cut: int) -> InvalidRequest:
            text = json.dumps(body, ensure_ascii=False)
            return _request(
                operation,
                rule,
                f"The body is not valid JSON ({how.replace('-', ' ')}); the spec documents a body of type {documented}.",
                _malformed(text, how, cut).encode("utf-8"),
                JSON_CONTENT_TYPE,
            )

        return st.builds(malform, bases, st.sampled_from(_MALFORMATIONS), st.integers(1, 10_000))

    if rule.kind == "wrong-content-type":
        others = [c for c in _OTHER_CONTENT_TYPES if not accepts_media_type(operation, c)]

        def relabel(body: dict[str, Any], content_type: str) -> InvalidRequest:
            return _request(
                operation,
                rule,
                f"The JSON body is sent as `{content_type}`; the spec documents only {documented}.",
                encode(body),
                content_type,
            )

        return st.builds(relabel, bases, st.sampled_from(others))

    if rule.kind == "no-body":
        return st.just(
            _request(
                operation,
                rule,
                f"The request has no body; the spec documents a required body of type {documented}.",
                None,
                JSON_CONTENT_TYPE,
            )
        )

    types = tuple(rule.documented)
    wrong = st.one_of(st.lists(bases, max_size=2), _wrong_types((*types, "array")))

    def replace_body(value: Any) -> InvalidRequest:
        what = _article(f"JSON {json_type(value)}") if value is not None else "JSON null"
        return _request(
            operation,
            rule,
            f"The body is {what}; the spec documents {_documented_types(types)}.",
            encode(value),
            JSON_CONTENT_TYPE,
        )

    return st.builds(replace_body, wrong)


def _parameter_rule(
    spec: ContractSpec, operation: Operation, rule: Rule
) -> st.SearchStrategy[InvalidRequest]:
    name = str(rule.documented)
    text = f"The {rule.location} parameter `{name}` is absent; the spec documents it as required{_decided(rule)}."
    overrides: dict[str, str | None] = {name: None}
    headers = overrides if rule.location == "header" else None
    query = overrides if rule.location == "query" else None
    if operation.request_schema is None:
        return st.just(_request(operation, rule, text, None, None, headers=headers, query=query))

    def build(body: dict[str, Any]) -> InvalidRequest:
        return _request(operation, rule, text, encode(body), JSON_CONTENT_TYPE, headers=headers, query=query)

    return st.builds(build, request_bodies(spec, operation, Options(realistic=True)))


def _rule_strategy(spec: ContractSpec, operation: Operation, rule: Rule) -> st.SearchStrategy[InvalidRequest]:
    def make() -> st.SearchStrategy[InvalidRequest]:
        if rule.kind in TRANSPORT_KINDS:
            return _transport_rule(spec, operation, rule)
        if rule.location in ("header", "query"):
            return _parameter_rule(spec, operation, rule)
        return _body_rule(spec, operation, rule)

    return PER_SPEC.get(spec, ("invalid-rule", operation.id, rule.id), make)  # type: ignore[no-any-return]


def select_rules(
    spec: ContractSpec,
    operation: Operation,
    *,
    kinds: Collection[str] | None = None,
    basis: Collection[str] | None = None,
) -> tuple[Rule, ...]:
    """The spec's rules of `kinds` and `basis` (None = all); a ValueError names what is known."""
    every = rules(spec, operation)
    if not every:
        raise ValueError(
            f"{operation.id} yields no invalid request: it documents no status for a refused request (400 or 422)"
        )
    chosen_kinds = check_names("kinds", kinds, kinds_of(spec, operation))
    chosen_bases = check_names("basis", basis, BASES)
    selected = tuple(
        r
        for r in every
        if (chosen_kinds is None or r.kind in chosen_kinds)
        and (chosen_bases is None or r.basis in chosen_bases)
    )
    if not selected:
        raise ValueError(
            f"the spec has no rule of kinds {sorted(chosen_kinds or [])} with basis {sorted(chosen_bases or [])}"
        )
    return selected


def invalid_requests(
    *,
    spec: ContractSpec | None = None,
    operation: str | Operation | None = None,
    kinds: Collection[str] | None = None,
    basis: Collection[str] | None = None,
) -> st.SearchStrategy[InvalidRequest]:
    """Requests that each break exactly one rule derived from the spec, labelled with that rule.

    `operation` is an operationId or an `Operation` (None: the spec's sole operation). `kinds` keeps
    rules of those kinds (`invalid_kinds()` lists the operation's); `basis` keeps rules the seed page
    documents (`seed`) or the spec decides (`decision`).

    Example:
        >>> from hypothesis import given
        >>> @given(invalid_requests(kinds={"missing-required"}))
        ... def test_rejected(bad):
        ...     assert 400 in bad.expected_statuses
    """
    contract = spec if spec is not None else load_spec()
    chosen = resolve_operation(contract, operation)
    selected = select_rules(contract, chosen, kinds=kinds, basis=basis)

    def make() -> st.SearchStrategy[InvalidRequest]:
        return st.one_of([_rule_strategy(contract, chosen, rule) for rule in selected])

    return PER_SPEC.get(contract, ("invalid", chosen.id, tuple(r.id for r in selected)), make)  # type: ignore[no-any-return]


def invalid_kinds(
    *, spec: ContractSpec | None = None, operation: str | Operation | None = None
) -> tuple[str, ...]:
    """Every kind of invalid request the spec yields for the operation, in a stable order.

    Example:
        >>> invalid_kinds()[:3]
        ('missing-required', 'wrong-type', 'empty-string')
    """
    contract = spec if spec is not None else load_spec()
    return kinds_of(contract, resolve_operation(contract, operation))
