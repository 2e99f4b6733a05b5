"""What decisions let a request body do: leave out properties the seed page requires, carry ones it does not list.

Properties the seed page calls required or conditional but the contract makes optional by a decision
are marked `x-optional-by-decision: <decision id>`. An implementation written from the seed page's
table may require them; the run tells that apart from a real refusal by sending the refused request
again with them filled in (see `_runner._Run.examine_valid`). Objects open to properties the page does
not list name their decision with `x-open-by-decision`: a request relying on it relies on the decision.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

MARKER = "x-optional-by-decision"
# The schema keyword naming the decision that opens an object to properties it does not list.
OPEN_BY_DECISION = "x-open-by-decision"
# A realistic value for a text property whose schema shows no usable example.
FALLBACK_TEXT = "Call back the customer and confirm the outcome."


@dataclass(frozen=True)
class DecidedOptional:
    """One property optional by a decision: where it is, which decision, and a value to fill it with."""

    path: tuple[str, ...]
    decision: str
    value: Any

    @property
    def name(self) -> str:
        """The property as a reader names it: `desc`, `userInfo.name`."""
        return ".".join(self.path)


def decided_optional(schema: Mapping[str, Any] | None) -> tuple[DecidedOptional, ...]:
    """Every property of a resolved schema marked `x-optional-by-decision` that can be filled, in schema order.

    Example:
        >>> from spec import load_spec
        >>> [(p.name, p.decision) for p in decided_optional(load_spec().operation("createTask").request_schema)]
        [('name', 'task-name-optional'), ('desc', 'desc-optional')]
    """
    found: list[DecidedOptional] = []
    for path, node in _properties(schema or {}, ()):
        decision = node.get(MARKER)
        if not isinstance(decision, str):
            continue
        value = _fill_value(node)
        if value is not _NO_VALUE:
            found.append(DecidedOptional(path, decision, value))
    return tuple(found)


def left_out(body: Any, properties: Sequence[DecidedOptional]) -> tuple[DecidedOptional, ...]:
    """The properties the body leaves out or sends blank (of the objects it sends at all).

    Blank counts as left out: a reader of the seed page's table who requires `desc` requires some
    text in it, as the spec itself does of the fields the page requires (`non-empty-required-strings`).
    """
    missing = []
    for prop in properties:
        parent = _parent(body, prop)
        if isinstance(parent, Mapping) and (prop.path[-1] not in parent or _blank(parent[prop.path[-1]])):
            missing.append(prop)
    return tuple(missing)


def filled(body: Any, properties: Sequence[DecidedOptional]) -> Any:
    """A copy of the body with the properties set to their fill values."""
    result = copy.deepcopy(body)
    for prop in properties:
        parent = result
        for key in prop.path[:-1]:
            parent = parent[key]
        parent[prop.path[-1]] = copy.deepcopy(prop.value)
    return result


def describe(properties: Sequence[DecidedOptional], body: Any = None) -> tuple[str, str]:
    """(`desc` and a non-empty `name`, `decision desc-optional` / `decisions a, b`) for messages."""
    names = []
    for prop in properties:
        parent = _parent(body, prop)
        sent_blank = isinstance(parent, Mapping) and prop.path[-1] in parent
        names.append(f"a non-empty `{prop.name}`" if sent_blank else f"`{prop.name}`")
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    decisions = sorted({p.decision for p in properties})
    label = "decision" if len(decisions) == 1 else "decisions"
    return shown, f"{label} {', '.join(decisions)}"


_NO_VALUE: Any = object()


def _parent(body: Any, prop: DecidedOptional) -> Any:
    parent = body
    for key in prop.path[:-1]:
        parent = parent.get(key) if isinstance(parent, Mapping) else None
    return parent


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _properties(schema: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """(path, schema) of every named property, depth first, through `allOf` too."""
    if not isinstance(schema, Mapping):
        return
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, node in properties.items():
            if isinstance(node, Mapping):
                yield (*path, name), node
                yield from _properties(node, (*path, name))
    for part in schema.get("allOf", ()):
        yield from _properties(part, path)


def _fill_value(node: Mapping[str, Any]) -> Any:
    """The property's own first example that its schema accepts, else a plain sentence if it is text."""
    validator = Draft202012Validator(dict(node), format_checker=Draft202012Validator.FORMAT_CHECKER)
    examples = node.get("examples", ())
    candidates = list(examples) if isinstance(examples, list) else []
    if "default" in node:
        candidates.append(node["default"])
    candidates.append(FALLBACK_TEXT)
    for candidate in candidates:
        if validator.is_valid(candidate):
            return candidate
    return _NO_VALUE


def opening_decisions(schema: Any, body: Any) -> Iterator[str]:
    """The `x-open-by-decision` of every object schema where the body has a property it does not list."""
    if not isinstance(schema, Mapping) or not isinstance(body, Mapping):
        return
    properties = schema.get("properties", {})
    if any(name not in properties for name in body) and isinstance(schema.get(OPEN_BY_DECISION), str):
        yield schema[OPEN_BY_DECISION]
    for name, value in body.items():
        if name in properties:
            yield from opening_decisions(properties[name], value)


def without_unknown_properties(schema: Any, body: Any) -> Any:
    """The body with only the properties its schema lists, at any depth."""
    if not isinstance(schema, Mapping) or not isinstance(body, Mapping):
        return body
    properties = schema.get("properties", {})
    return {
        name: without_unknown_properties(properties[name], value)
        for name, value in body.items()
        if name in properties
    }
