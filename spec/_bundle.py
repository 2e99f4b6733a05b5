"""Bundle the contract's files into one OpenAPI document that keeps its `$ref`s internal.

Code generators name their models after `components`; a document with every `$ref` inlined (what
`ContractSpec.resolved` holds) gives them anonymous, duplicated models instead. `bundle_document`
keeps the root file's `$ref`s as they are and turns every reference into another file of the spec
into a reference to a component: a root component that only points into a file (`Task:
{$ref: 'schemas/task.yaml#/Task'}`) takes the target in its place, and a target no root component
names (`schemas/task.yaml#/Status`) joins `components` under the last token of its pointer.

prance's resolver inlines references (its `TRANSLATE_EXTERNAL` mode names components after file
names, puts responses and examples among the schemas and leaves the references inside the other
files pointing at themselves), so this walk is the project's own; `resolved` stays prance's.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from spec._pointer import escape_token, unescape_token

__all__ = ["bundle_document"]

# The sections of `components` a reference can name (OpenAPI 3.1).
_SECTIONS = frozenset(
    {
        "schemas",
        "responses",
        "parameters",
        "examples",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "pathItems",
    }
)
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# Schema keywords whose value maps names to subschemas, and those whose value is data, not schema.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_DATA = frozenset({"examples", "example", "default", "const", "enum"})
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

# What a node is, given what its parent is and the key it sits under: OpenAPI's object kinds, as far as
# a `$ref` can appear in them. A kind in _SECTIONS is the component section a `$ref` there belongs to;
# "map:<kind>" holds named (or listed) nodes of that kind; "data" is literal values (example values).
_CHILDREN: Mapping[str, Mapping[str, str]] = {
    "document": {"paths": "map:pathItems", "webhooks": "map:pathItems", "components": "components"},
    "pathItems": {"parameters": "map:parameters", **{method: "operation" for method in _METHODS}},
    "operation": {
        "parameters": "map:parameters",
        "requestBody": "requestBodies",
        "responses": "map:responses",
        "callbacks": "map:callbacks",
    },
    "responses": {"content": "map:media", "headers": "map:headers", "links": "map:links"},
    "requestBodies": {"content": "map:media"},
    "parameters": {
        "schema": "schemas",
        "content": "map:media",
        "examples": "map:examples",
        "example": "data",
    },
    "headers": {"schema": "schemas", "content": "map:media", "examples": "map:examples", "example": "data"},
    "media": {"schema": "schemas", "examples": "map:examples", "example": "data", "encoding": "map:encoding"},
    "encoding": {"headers": "map:headers"},
    "examples": {"value": "data"},
}


def bundle_document(root: Path) -> dict[str, Any]:
    """The spec whose root file is `root` as one document: no reference to another file, components named."""
    return _Bundler(root.resolve()).bundle()


def _child(kind: str, key: str) -> str:
    if kind == "data":
        return "data"
    if kind.startswith("map:"):
        return kind[4:]
    if kind == "components":
        return f"map:{key}" if key in _SECTIONS else "other"
    if kind == "callbacks":
        return "pathItems"  # every key of a callback is an expression naming a path item
    if kind == "schemas":
        if key in _SCHEMA_MAPS:
            return "map:schemas"
        return "data" if key in _SCHEMA_DATA else "schemas"
    return _CHILDREN.get(kind, {}).get(key, "other")


class _Bundler:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.documents: dict[Path, Any] = {}
        # (file, pointer) of a target -> (section, component name) in the bundle.
        self.names: dict[tuple[Path, str], tuple[str, str]] = {}
        # section -> name -> the component's bundled content (filled once its target is walked).
        self.components: dict[str, dict[str, Any]] = {}

    def bundle(self) -> dict[str, Any]:
        document = self._document(self.root)
        if not isinstance(document, Mapping):
            raise ValueError(f"{self.root}: the root of the spec is not a mapping")
        # Components of the root that only point into another file are that file's node, under their name.
        aliases: dict[tuple[str, str], tuple[Path, str]] = {}
        for section, entries in (document.get("components") or {}).items():
            if section not in _SECTIONS or not isinstance(entries, Mapping):
                continue
            self.components[section] = {}
            for name, entry in entries.items():
                target = self._external_target(self.root, entry)
                if target is not None and target not in self.names:
                    self.names[target] = (section, str(name))
                    aliases[section, str(name)] = target
        bundled: dict[str, Any] = {}
        for key, value in document.items():
            if key != "components":
                bundled[key] = self._walk(value, _child("document", key), self.root)
        for section, entries in (document.get("components") or {}).items():
            if section not in _SECTIONS or not isinstance(entries, Mapping):
                continue
            for name, entry in entries.items():
                if (section, str(name)) not in aliases:
                    self.components[section][str(name)] = self._walk(entry, section, self.root)
        for (section, name), (file, pointer) in aliases.items():
            self._fill(section, name, file, pointer)
        components = dict(document.get("components") or {})
        for section, entries in self.components.items():
            ordered = {str(name): entries[str(name)] for name in components.get(section) or {}}
            components[section] = {**ordered, **entries}
        bundled["components"] = components
        return bundled

    def _document(self, file: Path) -> Any:
        if file not in self.documents:
            self.documents[file] = yaml.safe_load(file.read_text(encoding="utf-8"))
        return self.documents[file]

    def _target(self, base: Path, ref: str) -> tuple[Path, str]:
        location, _, pointer = ref.partition("#")
        return ((base.parent / location).resolve() if location else base), pointer

    def _external_target(self, base: Path, node: Any) -> tuple[Path, str] | None:
        """The target of a node that is only a reference into another file, else None."""
        if isinstance(node, Mapping) and set(node) == {"$ref"} and isinstance(node["$ref"], str):
            target = self._target(base, node["$ref"])
            return target if target[0] != self.root else None
        return None

    def _node(self, file: Path, pointer: str) -> Any:
        node = self._document(file)
        for token in (unescape_token(t) for t in pointer.split("/")[1:]) if pointer else ():
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def _walk(self, node: Any, kind: str, file: Path) -> Any:
        """A copy of `node` (of `file`) whose references are internal to the bundle."""
        if kind == "data":
            return copy.deepcopy(node)
        if isinstance(node, list):
            return [self._walk(item, _child(kind, str(i)), file) for i, item in enumerate(node)]
        if not isinstance(node, Mapping):
            return node
        walked = {str(key): self._walk(value, _child(kind, str(key)), file) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            walked["$ref"] = self._reference(ref, kind, file)
            if walked["$ref"] is None:
                # A reference where no component section fits: inline it.
                del walked["$ref"]
                target_file, pointer = self._target(file, ref)
                return {**self._walk(self._node(target_file, pointer), kind, target_file), **walked}
        return walked

    def _reference(self, ref: str, kind: str, file: Path) -> str | None:
        target = self._through_aliases(self._target(file, ref))
        if target[0] == self.root:
            return "#" + target[1]
        if target not in self.names:
            if kind not in _SECTIONS:
                return None
            self.names[target] = (kind, self._new_name(kind, target))
            self._fill(kind, self.names[target][1], *target)
        section, name = self.names[target]
        return f"#/components/{section}/{escape_token(name)}"

    def _through_aliases(self, target: tuple[Path, str]) -> tuple[Path, str]:
        """The node a chain of bare `$ref`s ends at: an alias becomes no component of its own, so a client
        generator never meets two models of one schema (openapi-python-client refuses duplicates)."""
        seen = {target}
        while target not in self.names:
            node = self._node(*target)
            if not (isinstance(node, Mapping) and set(node) == {"$ref"} and isinstance(node["$ref"], str)):
                break
            following = self._target(target[0], node["$ref"])
            if following in seen:
                break
            seen.add(following)
            target = following
        return target

    def _fill(self, section: str, name: str, file: Path, pointer: str) -> None:
        entries = self.components.setdefault(section, {})
        entries[name] = None  # taken before the walk, so a cycle finds the name
        entries[name] = self._walk(self._node(file, pointer), section, file)

    def _new_name(self, section: str, target: tuple[Path, str]) -> str:
        file, pointer = target
        tokens = [unescape_token(t) for t in pointer.split("/")[1:]] if pointer else []
        last = tokens[-1] if tokens else file.stem
        if len(tokens) > 1:
            # A part of a named schema (`Status/properties/_id`) is named after both: `Status_id`.
            last = tokens[0] + last[:1].upper() + last[1:] if last[:1].isalpha() else tokens[0] + last
        base = _NAME_UNSAFE.sub("_", last) or file.stem
        taken = set(self.components.get(section, {})) | {
            name for (other, name) in self.names.values() if other == section
        }
        name, n = base, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        return name
