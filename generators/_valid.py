"""Valid request bodies, derived from the resolved request schema and overlaid with realistic values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator, oas31_format_checker

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
from spec import ContractSpec, Operation, Sequences, escape_token, load_spec

# Realistic values by request pointer. The schema stays the law: a value the schema refuses is
# replaced by one drawn from the schema itself, and a property missing here is drawn from its schema.
# Each overlay is built once; values that depend on the user (name, email, phone of the same person)
# are drawn as `OfPerson` and resolved once the object's person is drawn.
Overlay = Callable[[Leaf], st.SearchStrategy[Any]]
# The root draws a person too: contacts may sit beside `userInfo` (decision case-contact-placement).
PERSON_OBJECTS = frozenset({"", "/userInfo"})


def _user_names(leaf: Leaf) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(values.OfPerson(lambda person: person.name)),
        values.padded_person_names(),
        values.free_text(leaf.schema, values.person_names(DEFAULT_LOCALES), required=leaf.required),
    )


_PEOPLE: Mapping[str, Overlay] = {
    "/userInfo/_id": lambda leaf: values.kore_ids("u"),
    "/userInfo/id": lambda leaf: values.kore_ids("u"),
    "/userInfo/name": _user_names,
    "/userInfo/emailId": lambda leaf: values.person_emails(),
    "/userInfo/phoneNumber": lambda leaf: values.person_phone_numbers(),
    "/emailId": lambda leaf: values.person_emails(),
    "/phoneNumber": lambda leaf: values.person_phone_numbers(),
}
# The overlays of a create, by the collection it creates in (x-contract-sequences); an operation
# the sequences do not place gets the task's, as before there were collections.
OVERLAYS: Mapping[str, Overlay] = {
    **_PEOPLE,
    "/caseId": lambda leaf: values.kore_ids("ci"),
    "/caseRefId": lambda leaf: values.case_ref_ids(),
    "/taskTmp": lambda leaf: values.kore_ids("ttm"),
    "/source": lambda leaf: values.sources(),
    "/name": lambda leaf: values.free_text(leaf.schema, values.task_names(), required=leaf.required),
    "/desc": lambda leaf: values.free_text(leaf.schema, values.task_descriptions(), required=leaf.required),
    "/dueDate": lambda leaf: values.due_dates(),
}
CASE_OVERLAYS: Mapping[str, Overlay] = {
    **OVERLAYS,
    "/caseTmp": lambda leaf: values.case_templates(),
    "/name": lambda leaf: values.free_text(leaf.schema, values.case_names(), required=leaf.required),
    "/desc": lambda leaf: values.free_text(leaf.schema, values.case_descriptions(), required=leaf.required),
}
# Listings: filters hold the display names the stored world uses (decision filter-matching).
LISTING_OVERLAYS: Mapping[str, Overlay] = {
    "/searchText": lambda leaf: values.search_texts(),
    "/priority": lambda leaf: values.display_names(values.PRIORITY_NAMES),
    "/status": lambda leaf: values.display_names(values.STATUS_NAMES),
    "/channel": lambda leaf: values.display_names(values.CHANNEL_NAMES),
    "/queues": lambda leaf: values.display_names(values.QUEUE_NAMES),
    "/startDate": lambda leaf: values.iso_instants(),
    "/endDate": lambda leaf: values.iso_instants(),
    "/dueDate": lambda leaf: values.due_dates(),
}
# Updates: a few fields a person changes, with the values the stored world uses.
UPDATE_OVERLAYS: Mapping[str, Overlay] = {
    **_PEOPLE,
    "/name": lambda leaf: values.free_text(leaf.schema, values.case_names(), required=leaf.required),
    "/desc": lambda leaf: values.free_text(leaf.schema, values.case_descriptions(), required=leaf.required),
    "/status/name": lambda leaf: st.sampled_from(values.STATUS_NAMES),
    "/status/_id": lambda leaf: values.kore_ids("sts"),
    "/priority/name": lambda leaf: st.sampled_from(values.PRIORITY_NAMES),
    "/priority/_id": lambda leaf: values.kore_ids("pr"),
    "/dueDate": lambda leaf: values.due_dates(),
    "/ETA": lambda leaf: values.iso_instants(),
    "/source": lambda leaf: values.sources(),
    "/language": lambda leaf: st.just("en"),
}
TASK_UPDATE_OVERLAYS: Mapping[str, Overlay] = {
    **UPDATE_OVERLAYS,
    "/name": OVERLAYS["/name"],
    "/desc": OVERLAYS["/desc"],
}
_BY_ROLE: Mapping[tuple[str, str], Mapping[str, Overlay]] = {
    ("cases", "create"): CASE_OVERLAYS,
    ("tasks", "update"): TASK_UPDATE_OVERLAYS,
}
_BY_KIND: Mapping[str, Mapping[str, Overlay]] = {"list": LISTING_OVERLAYS, "update": UPDATE_OVERLAYS}


def overlays_for(spec: ContractSpec, operation: Operation) -> Mapping[str, Overlay]:
    """The realistic overlays of an operation, by its role in `x-contract-sequences`."""
    found = Sequences(spec).role(operation.id)
    if found is None:
        return OVERLAYS
    collection, role = found
    chosen = _BY_ROLE.get((collection.name, role)) or _BY_KIND.get(role) or OVERLAYS
    if role == "list":
        chosen = {**chosen, **_listing_overlays(spec, operation)}
    return chosen


def _listing_overlays(spec: ContractSpec, operation: Operation) -> dict[str, Overlay]:
    """`sortBy` from the listing's `x-sort` keys, `skip`/`page`/`limit` within its `x-page` bounds."""
    listing = Sequences(spec).listing(operation.id)
    found: dict[str, Overlay] = {}
    if listing.sort is not None:
        keys = tuple(listing.sort.keys)
        found[listing.sort.field] = lambda leaf: values.sort_orders(keys)
    paging = listing.paging
    if paging is not None:
        most = paging.maximum_limit
        if paging.limit:
            found[paging.limit] = lambda leaf: st.integers(1, most)
        if paging.page:
            found[paging.page] = lambda leaf: st.integers(1, 5)
        if paging.skip:
            found[paging.skip] = lambda leaf: st.integers(0, 2 * most)
    return found


FREE_TEXT_POINTERS = frozenset({"/name", "/desc", "/userInfo/name"})


@dataclass(frozen=True)
class Options:
    """How to draw: realistic or schema-only, which contacts may appear, which pointers must."""

    realistic: bool = True
    contacts: frozenset[str] | None = None
    force: frozenset[str] = frozenset()


def from_schema(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy of the values `schema` allows.

    hypothesis-jsonschema draws scalars and arrays of scalars (imported late: it reads Unicode
    tables on import); objects, and schemas that allow them, are drawn here: its object strategy
    calls a Hypothesis internal that Hypothesis 6.170 no longer has (`many.more`).
    """
    if _allows_objects(schema):
        validator = OAS31Validator(dict(schema), format_checker=oas31_format_checker)
        return _object_values(schema).filter(validator.is_valid)
    from hypothesis_jsonschema import from_schema as jsonschema_strategy

    return jsonschema_strategy(dict(schema))


_ANNOTATIONS = frozenset({"description", "title", "examples", "example", "x-decision", "default"})


def _allows_objects(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    keys = {k for k in schema if k not in _ANNOTATIONS and not str(k).startswith("x-")}
    types = schema_types(schema)
    if "object" in types or "properties" in schema or "additionalProperties" in schema:
        return True
    if not types and not keys - {"items", "minItems", "maxItems", "anyOf", "format", "minimum"}:
        return ("anyOf" in schema and any(_allows_objects(b) for b in schema["anyOf"])) or not keys & {
            "anyOf",
            "items",
        }
    return _allows_objects(schema.get("items")) or any(_allows_objects(b) for b in schema.get("anyOf", ()))


def _object_values(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values of a schema that allows objects (validated by the caller)."""
    if "anyOf" in schema:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return st.one_of([from_schema({**rest, **branch}) for branch in schema["anyOf"]])
    types = schema_types(schema) or (
        ("object",) if "properties" in schema or "additionalProperties" in schema else ()
    )
    if not types:
        return values.realistic_json()
    choices: list[st.SearchStrategy[Any]] = []
    for json_type in types:
        if json_type == "object":
            choices.append(_objects_of(schema))
        elif json_type == "array":
            low = int(schema.get("minItems", 0))
            choices.append(st.lists(from_schema(schema.get("items", {})), min_size=low, max_size=max(low, 3)))
        else:
            choices.append(from_schema({"type": json_type}))
    return st.one_of(choices)


def _objects_of(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    additional = schema.get("additionalProperties", True)
    low, high = int(schema.get("minProperties", 0)), int(schema.get("maxProperties", 3))

    @st.composite
    def objects(draw: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or draw(st.booleans()):
                found[name] = draw(from_schema(sub))
        if isinstance(additional, Mapping) and len(found) < high:
            extra = draw(
                st.dictionaries(
                    values.extra_names(realistic=True).filter(lambda n: n not in properties),
                    from_schema(additional),
                    min_size=max(0, low - len(found)),
                    max_size=high - len(found),
                )
            )
            found.update(extra)
        return found

    return objects()


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


# What an object's ancestors decided about contacts below them: every contact path (relative to the
# object) and the chosen ones. A contact field is present only when chosen (or required).
Contacts = tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]
NO_CONTACTS: Contacts = (frozenset(), frozenset())
Draw = Callable[[Any, "Person | None", Contacts], Any]


def _below(paths: frozenset[tuple[str, ...]], name: str) -> frozenset[tuple[str, ...]]:
    return frozenset(p[1:] for p in paths if len(p) > 1 and p[0] == name)


def _leaf_strategy(leaf: Leaf, options: Options, overlays: Mapping[str, Overlay]) -> Draw:
    schema_values = _schema_values(leaf, options)
    make_overlay = overlays.get(leaf.pointer) if options.realistic else None
    overlay = make_overlay(leaf) if make_overlay is not None else None

    def draw_leaf(draw: Any, person: Person | None, _: Contacts) -> Any:
        if overlay is None:
            return draw(schema_values)
        value = draw(overlay)
        if isinstance(value, values.OfPerson):
            value = value.make(person or values.FALLBACK_PERSON)
        return value if leaf.is_valid(value) else draw(schema_values)

    return draw_leaf


def _object_strategy(node: ObjectNode, options: Options, overlays: Mapping[str, Overlay]) -> Draw:
    children: list[tuple[str, Node, Draw]] = [
        (name, child, _node_strategy(child, options, overlays)) for name, child in node.children
    ]
    groups = [
        g
        for g in node.contact_groups
        if options.contacts is None or {path[-1] for path in g} <= options.contacts
    ]
    if node.contact_groups and not groups:
        raise ValueError(
            f"no contact group of {node.pointer or '/'} fits contacts={sorted(options.contacts or ())}; "
            f"the spec's groups are {[['/'.join(p) for p in g] for g in node.contact_groups]}"
        )
    own_paths = frozenset(node.contact_paths)
    forced = frozenset(
        path
        for path in own_paths
        if node.pointer + "".join(f"/{escape_token(n)}" for n in path) in options.force
    )
    group_choice = (
        st.lists(st.sampled_from(groups), min_size=1, max_size=len(groups), unique=True) if groups else None
    )
    extras = _extras(node, options)
    people = values.people(DEFAULT_LOCALES) if options.realistic and node.pointer in PERSON_OBJECTS else None

    def draw_object(draw: Any, outer: Person | None, inherited: Contacts) -> dict[str, Any]:
        person = outer if outer is not None or people is None else draw(people)
        chosen = set(inherited[1]) | forced
        if group_choice is not None:
            for group in draw(group_choice):
                chosen.update(group)
        contact_paths = inherited[0] | own_paths
        body: dict[str, Any] = {}
        for name, child, draw_child in children:
            if (name,) in contact_paths:
                present = (name,) in chosen or child.required
            else:
                present = (
                    child.required
                    or child.pointer in options.force
                    or bool(_below(frozenset(chosen), name))
                    or draw(st.booleans())
                )
            if present:
                below = (_below(contact_paths, name), _below(frozenset(chosen), name))
                body[name] = draw_child(draw, person, below)
        if extras is not None:
            body.update(draw(extras))
        return body

    return draw_object


def _node_strategy(node: Node, options: Options, overlays: Mapping[str, Overlay]) -> Draw:
    if isinstance(node, ObjectNode):
        return _object_strategy(node, options, overlays)
    return _leaf_strategy(node, options, overlays)


def request_bodies(
    spec: ContractSpec, operation: Operation, options: Options
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies of `spec` drawn as `options` say (cached per spec and options)."""

    def make() -> st.SearchStrategy[dict[str, Any]]:
        draw_root = _object_strategy(request_tree(spec, operation), options, overlays_for(spec, operation))

        @st.composite
        def bodies(draw: Any) -> dict[str, Any]:
            return draw_root(draw, None, NO_CONTACTS)  # type: ignore[no-any-return]

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
