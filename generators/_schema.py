"""The resolved request schema as a tree, and the rules a request can break, derived from it.

Everything here is read from an `Operation`'s request schema, `requestBody` and parameters, so an edit
of the spec (or a new operation) changes what the strategies generate and which rules they break.

Basis of a rule: `spec.keyword_decision` is the one rule of which schema keywords a decision covers
(a node's `x-decision` covers its keywords beyond the page's own: `type`, `required`, `anyOf`,
`enum`...); a rule whose keyword no decision covers is `seed`. Transport rules (the body is JSON of
the documented media type) are the page's header table, so `seed`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from openapi_schema_validator import OAS31Validator, oas31_format_checker

from spec import ContractSpec, Operation, escape_token, keyword_decision, unescape_token

JSON_MEDIA_TYPES = ("application/json",)
_CONTACT_BRANCH_KEYS = frozenset({"required", "title", "description", "properties"})
# A contact: the path of names from the object holding the `anyOf` to the contact field.
ContactPath = tuple[str, ...]


def tokens(pointer: str) -> list[str]:
    """The keys of a JSON pointer, unescaped."""
    return [unescape_token(t) for t in pointer.split("/")[1:]] if pointer else []


def check_names(
    what: str, given: Collection[str] | None, known: tuple[str, ...], *, empty_hint: str = ""
) -> frozenset[str] | None:
    """`given` as a frozenset (None stays None); a ValueError names the `known` names when one is not."""
    if given is None:
        return None
    if isinstance(given, str):
        raise ValueError(
            f"{what} must be a collection of names such as {{{known[0]!r}}}, not the string {given!r}"
        )
    chosen = frozenset(given)
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; the spec's {what} are {', '.join(known)}")
    if not chosen:
        raise ValueError(f"{what} must name at least one of {', '.join(known)}{empty_hint}")
    return chosen


def ancestors(pointer: str) -> list[str]:
    """The pointers of the objects that hold `pointer`, outermost first, without the root."""
    parts = pointer.split("/")[1:]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def schema_types(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The JSON types a schema names with `type` (empty when it names none)."""
    declared = schema.get("type")
    if declared is None:
        return ()
    return (declared,) if isinstance(declared, str) else tuple(declared)


@dataclass(frozen=True, eq=False)
class Leaf:
    """A property that is not an object: its schema and a validator for one value."""

    pointer: str
    schema: Mapping[str, Any]
    required: bool
    validator: Any = field(repr=False)

    def is_valid(self, value: Any) -> bool:
        """Whether `value` satisfies this property's schema (with the spec's format checks)."""
        return bool(self.validator.is_valid(value))


@dataclass(frozen=True, eq=False)
class ObjectNode:
    """An object of the request: its properties, required names, contact groups and extras policy."""

    pointer: str
    schema: Mapping[str, Any]
    required: bool
    children: tuple[tuple[str, Node], ...]
    required_names: tuple[str, ...]
    # `anyOf` whose branches only require names (here, or inside a property): at least one group
    # must be fully present. A group lists paths of names relative to this object.
    contact_groups: tuple[tuple[ContactPath, ...], ...]
    # additionalProperties: True (anything), False (closed) or the schema of extra values.
    additional: bool | Mapping[str, Any]

    @property
    def contact_paths(self) -> tuple[ContactPath, ...]:
        """Every path that appears in a contact group, in group order."""
        return tuple(dict.fromkeys(path for group in self.contact_groups for path in group))

    @property
    def contact_names(self) -> tuple[str, ...]:
        """The field name of every contact (the last name of its path), in group order."""
        return tuple(dict.fromkeys(path[-1] for path in self.contact_paths))

    @property
    def property_names(self) -> frozenset[str]:
        """The documented property names."""
        return frozenset(name for name, _ in self.children) | frozenset(self.required_names)


Node = Leaf | ObjectNode


class UnsupportedSchema(ValueError):
    """The request schema uses a construct the generators cannot derive strategies from."""


@dataclass(frozen=True)
class Rule:
    """One documented way for a request to be invalid, derived from the spec."""

    id: str
    kind: str
    pointer: str
    basis: str
    decision: str | None
    expected_statuses: frozenset[int]
    # The constraint as documented: the JSON types, the bound, the format, the enum, the pattern...
    documented: Any = None
    # Where the rule lives: `body`, `header`, `query` or `transport` (the body as a whole).
    location: str = "body"


def _is_object(schema: Mapping[str, Any]) -> bool:
    return schema_types(schema) == ("object",) or ("properties" in schema and not schema_types(schema))


def _contact_groups(pointer: str, schema: Mapping[str, Any]) -> tuple[tuple[ContactPath, ...], ...]:
    branches = schema.get("anyOf")
    if branches is None:
        return ()
    groups = []
    for branch in branches:
        paths = _required_paths(branch)
        if paths is None or not paths:
            raise UnsupportedSchema(
                f"{pointer or '/'}: an `anyOf` branch other than `required: [...]`, here or inside "
                f"`properties` ({dict(branch)!r}); the generators derive the contact rule only from "
                "branches that require names"
            )
        groups.append(paths)
    return tuple(groups)


def _required_paths(branch: Any) -> tuple[ContactPath, ...] | None:
    """The paths a contact branch requires (`required` here and inside `properties`), None if it does more."""
    if not isinstance(branch, Mapping) or not set(branch) <= _CONTACT_BRANCH_KEYS:
        return None
    paths: list[ContactPath] = [(name,) for name in branch.get("required", ())]
    for name, sub in branch.get("properties", {}).items():
        if isinstance(sub, Mapping) and not sub:
            continue  # `{}`: documents the name, requires nothing
        inner = _required_paths(sub)
        if inner is None:
            return None
        paths.extend((name, *path) for path in inner)
    # A name required here and inside: only the inner requirement says more.
    return tuple(p for p in paths if not any(len(q) > len(p) and q[: len(p)] == p for q in paths))


def _walk(schema: Mapping[str, Any], pointer: str, required: bool) -> Node:
    for keyword in ("oneOf", "allOf", "not", "if"):
        if keyword in schema:
            raise UnsupportedSchema(f"{pointer or '/'}: `{keyword}` is not supported by the generators")
    if not _is_object(schema):
        validator = OAS31Validator(dict(schema), format_checker=oas31_format_checker)
        return Leaf(pointer, schema, required, validator)
    required_names = tuple(schema.get("required", ()))
    children = tuple(
        (name, _walk(sub, f"{pointer}/{escape_token(name)}", name in required_names))
        for name, sub in schema.get("properties", {}).items()
    )
    additional = schema.get("additionalProperties", True)
    return ObjectNode(
        pointer=pointer,
        schema=schema,
        required=required,
        children=children,
        required_names=required_names,
        contact_groups=_contact_groups(pointer, schema),
        additional=additional if isinstance(additional, bool) else dict(additional),
    )


class _PerSpec:
    """A cache keyed by spec identity that keeps the spec alive (ContractSpec is not hashable)."""

    def __init__(self) -> None:
        self._values: dict[tuple[Any, ...], tuple[ContractSpec, Any]] = {}
        self._lock = threading.Lock()

    def get(self, spec: ContractSpec, key: tuple[Any, ...], make: Any) -> Any:
        full = (id(spec), *key)
        with self._lock:
            hit = self._values.get(full)
            if hit is not None and hit[0] is spec:
                return hit[1]
        value = make()
        with self._lock:
            self._values[full] = (spec, value)
        return value


PER_SPEC = _PerSpec()


def resolve_operation(spec: ContractSpec, operation: str | Operation | None) -> Operation:
    """The operation an API call names (an operationId or an Operation); None = the spec's sole operation."""
    if isinstance(operation, Operation):
        known = spec.operations.get(operation.id)
        if known is None:
            raise ValueError(
                f"operation {operation.id!r} is not in the spec (operations: {', '.join(spec.operations)})"
            )
        return known
    if operation is None:
        if len(spec.operations) == 1:
            return next(iter(spec.operations.values()))
        raise ValueError(
            f"the spec has {len(spec.operations)} operations; name one with operation= "
            f"({', '.join(spec.operations)})"
        )
    if operation not in spec.operations:
        raise ValueError(f"no operation {operation!r} in the spec (operations: {', '.join(spec.operations)})")
    return spec.operations[operation]


def request_tree(spec: ContractSpec, operation: Operation) -> ObjectNode:
    """The operation's request schema as a tree of ObjectNode and Leaf (cached per spec and operation)."""

    def make() -> ObjectNode:
        schema = operation.request_schema
        if schema is None:
            raise UnsupportedSchema(f"{operation.id} documents no JSON request body")
        root = _walk(schema, "", True)
        if not isinstance(root, ObjectNode):
            raise UnsupportedSchema(f"{operation.id}: the request body schema is not an object schema")
        return root

    return PER_SPEC.get(spec, ("tree", operation.id), make)  # type: ignore[no-any-return]


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node below it, depth first, in property order."""
    yield node
    if isinstance(node, ObjectNode):
        for _, child in node.children:
            yield from walk(child)


def find(node: ObjectNode, pointer: str) -> Node | None:
    """The node at `pointer`, or None."""
    for candidate in walk(node):
        if candidate.pointer == pointer:
            return candidate
    return None


# Every kind of invalid request, in the order `invalid_kinds` lists them: the body's properties,
# its objects, the parameters, then the body as a whole.
KINDS = (
    "missing-required",
    "wrong-type",
    "empty-string",
    "too-short",
    "too-long",
    "too-small",
    "too-large",
    "not-in-enum",
    "pattern-mismatch",
    "bad-format",
    "no-contact",
    "unknown-property",
    "missing-required-parameter",
    "malformed-json",
    "wrong-content-type",
    "no-body",
    "non-object-body",
)
TRANSPORT_KINDS = frozenset({"malformed-json", "wrong-content-type", "no-body", "non-object-body"})
# The keyword a body kind breaks (what the schema validator reports), for basis and for the tests.
KIND_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "missing-required": ("required",),
    "wrong-type": ("type",),
    "empty-string": ("minLength",),
    "too-short": ("minLength",),
    "too-long": ("maxLength",),
    "too-small": ("minimum", "exclusiveMinimum"),
    "too-large": ("maximum", "exclusiveMaximum"),
    "not-in-enum": ("enum",),
    "pattern-mismatch": ("pattern",),
    "bad-format": ("format",),
    "no-contact": ("anyOf",),
    "unknown-property": ("additionalProperties",),
}
_NUMERIC = frozenset({"integer", "number"})


@dataclass(frozen=True)
class Bound:
    """A numeric bound as documented: the limit and whether it is exclusive."""

    limit: float
    exclusive: bool

    def __str__(self) -> str:
        limit = int(self.limit) if float(self.limit).is_integer() else self.limit
        return f"{limit} (exclusive)" if self.exclusive else str(limit)


def _lower_bound(schema: Mapping[str, Any]) -> tuple[Bound, str] | None:
    """The tighter of `minimum` / `exclusiveMinimum` and its keyword, or None."""
    found: list[tuple[Bound, str]] = []
    if _is_number(schema.get("minimum")):
        found.append((Bound(schema["minimum"], False), "minimum"))
    if _is_number(schema.get("exclusiveMinimum")):
        found.append((Bound(schema["exclusiveMinimum"], True), "exclusiveMinimum"))
    return max(found, key=lambda b: (b[0].limit, b[0].exclusive)) if found else None


def _upper_bound(schema: Mapping[str, Any]) -> tuple[Bound, str] | None:
    """The tighter of `maximum` / `exclusiveMaximum` and its keyword, or None."""
    found: list[tuple[Bound, str]] = []
    if _is_number(schema.get("maximum")):
        found.append((Bound(schema["maximum"], False), "maximum"))
    if _is_number(schema.get("exclusiveMaximum")):
        found.append((Bound(schema["exclusiveMaximum"], True), "exclusiveMaximum"))
    return min(found, key=lambda b: (b[0].limit, not b[0].exclusive)) if found else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _takes(schema: Mapping[str, Any], types: frozenset[str]) -> bool:
    """Whether a value of one of `types` can satisfy the schema's `type` (no `type` takes anything)."""
    declared = schema_types(schema)
    return not declared or bool(types & set(declared))


def _body_rules(node: Node, statuses: frozenset[int]) -> Iterator[Rule]:
    schema = node.schema
    pointer = node.pointer

    def rule(kind: str, keyword: str, documented: Any = None, at: str = pointer) -> Rule:
        decision = keyword_decision(schema, keyword)
        basis = "decision" if decision else "seed"
        return Rule(f"{kind}:{at}", kind, at, basis, decision, statuses, documented)

    if pointer:
        if node.required:
            yield rule("missing-required", "required", True)
        if schema_types(schema):
            yield rule("wrong-type", "type", schema_types(schema))
    if isinstance(node, Leaf):
        yield from _leaf_rules(schema, rule)
        return
    for _, child in node.children:
        yield from _body_rules(child, statuses)
    declared = {name for name, _ in node.children}
    for name in node.required_names:
        if name not in declared:
            yield Rule(
                f"missing-required:{pointer}/{escape_token(name)}",
                "missing-required",
                f"{pointer}/{escape_token(name)}",
                "seed",
                None,
                statuses,
                True,
            )
    if node.contact_groups:
        yield rule(
            "no-contact", "anyOf", tuple(tuple("/".join(path) for path in g) for g in node.contact_groups)
        )
    if node.additional is False:
        yield rule("unknown-property", "additionalProperties", tuple(sorted(node.property_names)))


def _leaf_rules(schema: Mapping[str, Any], rule: Callable[..., Rule]) -> Iterator[Rule]:
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and min_length >= 1 and _takes(schema, frozenset({"string"})):
        yield rule("empty-string" if min_length == 1 else "too-short", "minLength", min_length)
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and _takes(schema, frozenset({"string"})):
        yield rule("too-long", "maxLength", max_length)
    if _takes(schema, _NUMERIC):
        lower = _lower_bound(schema)
        if lower is not None:
            yield rule("too-small", lower[1], lower[0])
        upper = _upper_bound(schema)
        if upper is not None:
            yield rule("too-large", upper[1], upper[0])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        yield rule("not-in-enum", "enum", tuple(enum))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and _takes(schema, frozenset({"string"})):
        yield rule("pattern-mismatch", "pattern", pattern)
    fmt = schema.get("format")
    # A format the spec's validator does not check cannot make a request invalid.
    if isinstance(fmt, str) and fmt in oas31_format_checker.checkers:
        yield rule("bad-format", "format", fmt)


def _media_matches(offered: str, documented: str) -> bool:
    offered_type = offered.split(";")[0].strip().lower()
    documented_type = documented.split(";")[0].strip().lower()
    if documented_type in ("*/*", offered_type):
        return True
    major, _, minor = documented_type.partition("/")
    return minor == "*" and offered_type.startswith(major + "/")


def accepts_media_type(operation: Operation, content_type: str) -> bool:
    """Whether `content_type` matches a documented request media type."""
    return any(_media_matches(content_type, documented) for documented in operation.request_media_types)


def json_media_types(operation: Operation) -> tuple[str, ...]:
    """The documented request media types a JSON body is sent as (`application/json`, `+json`, `*/*`)."""
    return tuple(
        m
        for m in operation.request_media_types
        if any(_media_matches(j, m) for j in JSON_MEDIA_TYPES) or m.split(";")[0].strip().endswith("+json")
    )


def auth_header_names(spec: ContractSpec) -> frozenset[str]:
    """The headers the security schemes send (lower-cased): the callers set them, not the generators."""
    return frozenset(name.lower() for name in spec.auth_headers.values())


def request_parameters_of(
    spec: ContractSpec, operation: Operation, locations: tuple[str, ...] = ("path", "header", "query")
) -> tuple[Mapping[str, Any], ...]:
    """The operation's parameters in `locations`, without the auth headers."""
    auth = auth_header_names(spec)
    return tuple(
        p
        for p in operation.parameters
        if p.get("in") in locations
        and not (p.get("in") == "header" and str(p.get("name", "")).lower() in auth)
    )


def bad_request_statuses(operation: Operation) -> frozenset[int]:
    """The documented status of a request the server refuses as malformed: 400, else 422, else none."""
    documented = operation.documented_statuses
    for status in (400, 422):
        if status in documented:
            return frozenset({status})
    return frozenset()


def _parameter_rules(spec: ContractSpec, operation: Operation, statuses: frozenset[int]) -> Iterator[Rule]:
    for parameter in request_parameters_of(spec, operation, ("header", "query")):
        if not parameter.get("required"):
            continue
        location, name = str(parameter["in"]), str(parameter["name"])
        at = f"/{location}/{escape_token(name)}"
        decision = keyword_decision(parameter, "required")
        yield Rule(
            f"missing-required-parameter:{at}",
            "missing-required-parameter",
            at,
            "decision" if decision else "seed",
            decision,
            statuses,
            name,
            location,
        )


def rules(spec: ContractSpec, operation: Operation) -> tuple[Rule, ...]:
    """Every rule the operation yields: body rules in schema order, parameters, then transport (cached)."""

    def make() -> tuple[Rule, ...]:
        bad_request = bad_request_statuses(operation)
        if not bad_request:
            # No documented status says "refused": no invalid request can be judged.
            return ()
        found: list[Rule] = []
        tree = request_tree(spec, operation) if operation.request_schema is not None else None
        if tree is not None:
            found.extend(_body_rules(tree, bad_request))
        found.extend(_parameter_rules(spec, operation, bad_request))
        media = operation.request_media_types
        if tree is not None and json_media_types(operation):
            found.append(
                Rule("malformed-json", "malformed-json", "", "seed", None, bad_request, media, "transport")
            )
        if media and tree is not None:
            statuses = bad_request | (frozenset({415}) & operation.documented_statuses)
            found.append(
                Rule(
                    "wrong-content-type", "wrong-content-type", "", "seed", None, statuses, media, "transport"
                )
            )
        if operation.body_required:
            found.append(Rule("no-body", "no-body", "", "seed", None, bad_request, media, "transport"))
        if tree is not None and schema_types(tree.schema):
            found.append(
                Rule(
                    "non-object-body",
                    "non-object-body",
                    "",
                    "seed",
                    None,
                    bad_request,
                    schema_types(tree.schema),
                    "transport",
                )
            )
        return tuple(found)

    return PER_SPEC.get(spec, ("rules", operation.id), make)  # type: ignore[no-any-return]


def kinds_of(spec: ContractSpec, operation: Operation) -> tuple[str, ...]:
    """The kinds of the operation's rules, in `KINDS` order."""
    present = {rule.kind for rule in rules(spec, operation)}
    return tuple(kind for kind in KINDS if kind in present)
