"""Valid request bodies, derived from the resolved request schema and overlaid with realistic values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from generators import _values as values
from generators._people import DEFAULT_LOCALES, Person
from generators._schema import (
    PER_SPEC,
    Leaf,
    Node,
    ObjectNode,
    check_names,
    request_tree,
    resolve_operation,
    schema_types,
    walk,
)
from spec import ContractSpec, Operation, escape_token, load_spec

# Realistic values by request pointer. The schema stays the law: a value the schema refuses is
# replaced by one drawn from the schema itself, and a property missing here is drawn from its schema.
# Each overlay is built once; values that depend on the user (name, email, phone of the same person)
# are drawn as `OfPerson` and resolved once the object's person is drawn.
Overlay = Callable[[Leaf], st.SearchStrategy[Any]]
PERSON_OBJECTS = frozenset({"/userInfo"})


def _user_names(leaf: Leaf) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(values.OfPerson(lambda person: person.name)),
        values.padded_person_names(),
        values.free_text(leaf.schema, values.person_names(DEFAULT_LOCALES), required=leaf.required),
    )


OVERLAYS: Mapping[str, Overlay] = {
    "/caseId": lambda leaf: values.kore_ids("ci"),
    "/caseRefId": lambda leaf: values.case_ref_ids(),
    "/taskTmp": lambda leaf: values.kore_ids("ttm"),
    "/source": lambda leaf: values.sources(),
    "/name": lambda leaf: values.free_text(leaf.schema, values.task_names(), required=leaf.required),
    "/desc": lambda leaf: values.free_text(leaf.schema, values.task_descriptions(), required=leaf.required),
    "/userInfo/_id": lambda leaf: values.kore_ids("u"),
    "/userInfo/name": _user_names,
    "/userInfo/emailId": lambda leaf: values.person_emails(),
    "/userInfo/phoneNumber": lambda leaf: values.person_phone_numbers(),
}
FREE_TEXT_POINTERS = frozenset({"/name", "/desc", "/userInfo/name"})


@dataclass(frozen=True)
class Options:
    """How to draw: realistic or schema-only, which contacts may appear, which pointers must."""

    realistic: bool = True
    contacts: frozenset[str] | None = None
    force: frozenset[str] = frozenset()


def from_schema(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """hypothesis-jsonschema's strategy for `schema` (imported late: it reads Unicode tables on import)."""
    from hypothesis_jsonschema import from_schema as jsonschema_strategy

    return jsonschema_strategy(dict(schema))


def _schema_values(leaf: Leaf, options: Options) -> st.SearchStrategy[Any]:
    strategy = from_schema(leaf.schema)
    if options.realistic and leaf.required and schema_types(leaf.schema) == ("string",):
        return strategy.filter(lambda s: not isinstance(s, str) or not values.is_blank(s))
    return strategy


def _extras(node: ObjectNode, options: Options) -> st.SearchStrategy[dict[str, Any]] | None:
    if node.additional is False:
        return None
    documented = node.property_names
    names = values.extra_names(realistic=options.realistic).filter(lambda name: name not in documented)
    if isinstance(node.additional, Mapping):
        extra_values = from_schema(node.additional)
    else:
        extra_values = values.realistic_json() if options.realistic else values.any_json()
    return st.dictionaries(names, extra_values, max_size=2)


def _leaf_strategy(leaf: Leaf, options: Options) -> Callable[[Any, Person | None], Any]:
    schema_values = _schema_values(leaf, options)
    make_overlay = OVERLAYS.get(leaf.pointer) if options.realistic else None
    overlay = make_overlay(leaf) if make_overlay is not None else None

    def draw_leaf(draw: Any, person: Person | None) -> Any:
        if overlay is None:
            return draw(schema_values)
        value = draw(overlay)
        if isinstance(value, values.OfPerson):
            value = value.make(person or values.FALLBACK_PERSON)
        return value if leaf.is_valid(value) else draw(schema_values)

    return draw_leaf


def _object_strategy(node: ObjectNode, options: Options) -> Callable[[Any, Person | None], dict[str, Any]]:
    children: list[tuple[str, Node, Callable[[Any, Person | None], Any]]] = [
        (name, child, _node_strategy(child, options)) for name, child in node.children
    ]
    contact_names = set(node.contact_names)
    groups = [g for g in node.contact_groups if options.contacts is None or set(g) <= options.contacts]
    if node.contact_groups and not groups:
        raise ValueError(
            f"no contact group of {node.pointer or '/'} fits contacts={sorted(options.contacts or ())}; "
            f"the spec's groups are {[list(g) for g in node.contact_groups]}"
        )
    forced_contacts = {
        name for name in contact_names if f"{node.pointer}/{escape_token(name)}" in options.force
    }
    group_choice = (
        st.lists(st.sampled_from(groups), min_size=1, max_size=len(groups), unique=True) if groups else None
    )
    extras = _extras(node, options)
    people = values.people(DEFAULT_LOCALES) if options.realistic and node.pointer in PERSON_OBJECTS else None

    def draw_object(draw: Any, _: Person | None) -> dict[str, Any]:
        person = draw(people) if people is not None else None
        chosen = set(forced_contacts)
        if group_choice is not None:
            for group in draw(group_choice):
                chosen.update(group)
        body: dict[str, Any] = {}
        for name, child, draw_child in children:
            if name in contact_names:
                present = name in chosen or child.required
            else:
                present = child.required or child.pointer in options.force or draw(st.booleans())
            if present:
                body[name] = draw_child(draw, person)
        if extras is not None:
            body.update(draw(extras))
        return body

    return draw_object


def _node_strategy(node: Node, options: Options) -> Callable[[Any, Person | None], Any]:
    if isinstance(node, ObjectNode):
        return _object_strategy(node, options)
    return _leaf_strategy(node, options)


def request_bodies(
    spec: ContractSpec, operation: Operation, options: Options
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of `spec` drawn as `options` say (cached per spec and options)."""

    def make() -> st.SearchStrategy[dict[str, Any]]:
        draw_root = _object_strategy(request_tree(spec, operation), options)

        @st.composite
        def bodies(draw: Any) -> dict[str, Any]:
            return draw_root(draw, None)

        return bodies()

    return PER_SPEC.get(spec, ("valid", operation.id, options), make)  # type: ignore[no-any-return]


def spec_contacts(spec: ContractSpec, operation: Operation) -> tuple[str, ...]:
    """Every contact name of the request schema (names of `anyOf: [{required: [...]}]` groups)."""
    names: dict[str, None] = {}
    for node in walk(request_tree(spec, operation)):
        if isinstance(node, ObjectNode):
            names.update(dict.fromkeys(node.contact_names))
    return tuple(names)


def check_contacts(
    spec: ContractSpec, operation: Operation, contacts: Collection[str] | None
) -> frozenset[str] | None:
    """`contacts` as a frozenset; a ValueError names the spec's contacts when one is unknown."""
    if contacts is None:
        return None
    known = spec_contacts(spec, operation)
    if not known:
        raise ValueError(
            f"contacts= does not apply to {operation.id}: its request schema has no contact groups "
            "(`anyOf` branches that only require names)"
        )
    return check_names("contacts", contacts, known, empty_hint=": a user needs a contact")


def valid_requests(
    *,
    spec: ContractSpec | None = None,
    operation: str | Operation | None = None,
    contacts: Collection[str] | None = None,
    realistic: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """Request bodies valid against the operation's request schema.

    `operation` is an operationId or an `Operation` (None: the spec's sole operation). `contacts` limits which of the user's contacts (`_id`, `emailId`, `phoneNumber`) may appear;
    `realistic=False` draws anything the schema allows.

    Example:
        >>> from hypothesis import given
        >>> @given(valid_requests(contacts={"emailId"}))
        ... def test_email_only(body):
        ...     assert "emailId" in body["userInfo"] and "_id" not in body["userInfo"]
    """
    contract = spec if spec is not None else load_spec()
    chosen = resolve_operation(contract, operation)
    return request_bodies(
        contract,
        chosen,
        Options(realistic=bool(realistic), contacts=check_contacts(contract, chosen, contacts)),
    )
