"""Load the contract once: prance resolves every $ref, openapi-core builds its OpenAPI object.

A broken spec fails here, at start-up, with a `SpecError` naming the file and the JSON pointer of
the fault, never later in a request handler.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spec._listing import Listing, ListingError
from spec._operations import (
    Operation,
    RouteMatch,
    iter_operations,
    merged_parameters,
    operation_pointer,
    path_regex,
)
from spec._pointer import escape_token, unescape_token

SPEC_DIR = Path(__file__).resolve().parent
SPEC_PATH = SPEC_DIR / "openapi.yaml"

RELATION_KINDS = frozenset({"equals", "lowercase", "same-value", "same-instant", "unique", "constant"})
# Relations over sequences of calls (`x-contract-sequences`); spec/_sequences.py interprets them.
SEQUENCE_KINDS = frozenset(
    {
        "listed-after-create",
        "merged",
        "unchanged",
        "not-earlier",
        "lowercase-of",
        "joins-parent",
        "listing-exact",
        "pages-partition",
        "total-counts",
        "last-page",
    }
)
_POINTER_ROOTS = ("/body", "/path", "/header")


class SpecError(Exception):
    """Root of the spec package's errors: the contract cannot be loaded."""


# Not frozen: contextlib and pytest assign __traceback__ to exceptions they re-raise.
@dataclass(eq=False)
class SpecLocationError(SpecError):
    """A fault at a place in the spec's files."""

    file: str
    pointer: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}#{self.pointer or '/'}: {self.problem}"


@dataclass(frozen=True)
class Relation:
    """One declared relation between a successful answer and its request (`x-contract-relations`)."""

    id: str
    kind: str
    basis: str
    description: str
    response: str | None = None
    request: str | None = None
    of: str | None = None
    pointers: tuple[str, ...] = ()
    value: Any = None
    tolerance_ms: int = 0
    if_in_response: bool = False
    decision: str | None = None
    within: str | None = None
    # The operationId whose answers the relation judges.
    operation: str = ""


@dataclass(frozen=True)
class Collection:
    """One kind of stored object of `x-contract-sequences`: the operations that create, list and update it."""

    name: str
    create: str
    list: str
    update: str
    # The update's path parameter that names the object (`caseId`).
    path_id: str


@dataclass(frozen=True)
class SequenceRelation:
    """One relation over a sequence of calls (`x-contract-sequences`)."""

    id: str
    kind: str
    operations: tuple[str, ...]
    basis: str
    description: str
    pointers: tuple[str, ...] = ()
    decision: str | None = None
    # `merged`: top-level fields an update never merges. `joins-parent`: the parent collection.
    except_: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class CallSequences:
    """`x-contract-sequences`: the collections of stored objects and the relations over calls."""

    collections: tuple[Collection, ...] = ()
    relations: tuple[SequenceRelation, ...] = ()


@dataclass(frozen=True)
class Decision:
    """One decision on an inconsistency of the seed page (`info.x-seed-decisions`)."""

    id: str
    topic: str
    seed_says: str
    decision: str
    why: str


@dataclass(frozen=True)
class ContractSpec:
    """The resolved contract: the dict with no `$ref` left, openapi-core's `OpenAPI`, and its operations."""

    path: Path
    resolved: Mapping[str, Any]
    openapi: Any = field(repr=False)
    operations: Mapping[str, Operation]
    decisions: tuple[Decision, ...]
    sequences: CallSequences = CallSequences()

    @property
    def relations(self) -> tuple[Relation, ...]:
        """Every operation's relations, in document order."""
        return tuple(r for operation in self.operations.values() for r in operation.relations)

    def operation(self, operation_id: str) -> Operation:
        """The operation with this `operationId`; SpecError naming the known ones when there is none."""
        try:
            return self.operations[operation_id]
        except KeyError:
            known = ", ".join(self.operations) or "none"
            raise SpecError(f"no operation {operation_id!r} in the spec (operations: {known})") from None

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The operation a request's method and (percent-decoded) path name, with its path parameters."""
        for operation in self._by_method.get(method.upper(), ()):
            params = operation.match_path(path)
            if params is not None:
                return RouteMatch(operation, params)
        return None

    @functools.cached_property
    def _by_method(self) -> dict[str, tuple[Operation, ...]]:
        # Routing reads this on every request of the mock and the proxy: grouped once.
        grouped: dict[str, list[Operation]] = {}
        for operation in self.operations.values():
            grouped.setdefault(operation.method, []).append(operation)
        return {method: tuple(found) for method, found in grouped.items()}

    def methods_at(self, path: str) -> frozenset[str]:
        """The methods documented on a path (empty when no operation's path matches it)."""
        return frozenset(op.method for op in self.operations.values() if op.match_path(path) is not None)

    @property
    def auth_headers(self) -> dict[str, str]:
        """The security schemes sent as an API key in a header: scheme name -> header (`jwtAuth` -> `auth`)."""
        schemes = self.resolved.get("components", {}).get("securitySchemes", {})
        return {
            str(name): str(scheme["name"])
            for name, scheme in schemes.items()
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header"
        }

    @property
    def error_schema(self) -> Mapping[str, Any]:
        """JSON Schema of the platform's error envelope."""
        return self.resolved["components"]["schemas"]["ErrorEnvelope"]  # type: ignore[no-any-return]

    def component_response(self, name: str) -> Mapping[str, Any]:
        """A response of `components/responses` (for statuses the mock answers outside any operation)."""
        return self.resolved["components"]["responses"][name]  # type: ignore[no-any-return]

    @property
    def rate_limit(self) -> Mapping[str, Any] | None:
        """The platform's documented rate limit (`info.x-rate-limit`), or None."""
        limit: Mapping[str, Any] | None = self.resolved.get("info", {}).get("x-rate-limit")
        return limit

    def bundle_json(self, *, dereference: bool = True) -> str:
        """The spec as one JSON document: with no `$ref` (default), or keeping `$ref`s to its components."""
        from spec._bundle import bundle_document

        document = self.resolved if dereference else bundle_document(self.path)
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def bundle_yaml(self, *, dereference: bool = True) -> str:
        """The spec as one YAML document: with no `$ref` (default), or keeping `$ref`s to its components."""
        from spec._bundle import bundle_document

        document = self.resolved if dereference else bundle_document(self.path)
        return yaml.safe_dump(_plain(document), sort_keys=False, allow_unicode=True, width=100)


def _plain(value: Any) -> Any:
    """Deep-copy into plain dicts and lists (prance may hand back ordered/ruamel types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_spec(path: str | Path | None = None) -> ContractSpec:
    """Load, resolve and check the contract once per path (cached).

    Example:
        >>> spec = load_spec()
        >>> spec.request_examples["seed-sample"]["source"]
        'rtm'
    """
    # Resolved before the cache, so `load_spec()`, `load_spec(None)` and `load_spec(SPEC_PATH)` share one entry.
    return _load(Path(path).resolve() if path is not None else SPEC_PATH)


@functools.lru_cache(maxsize=8)
def _load(spec_path: Path) -> ContractSpec:
    if not spec_path.is_file():
        raise SpecLocationError(str(spec_path), "", "file not found")
    documents = _check_yaml_files(spec_path)
    resolved = _resolve(spec_path, documents)
    _validate_openapi(spec_path, resolved)
    openapi = _build_openapi(spec_path, resolved)
    operations = _parse_operations(spec_path, resolved)
    decisions = _parse_decisions(spec_path, resolved)
    _check_decision_references(spec_path, resolved, operations, decisions)
    sequences = _parse_sequences(spec_path, resolved, operations, decisions)
    return ContractSpec(
        path=spec_path,
        resolved=resolved,
        openapi=openapi,
        operations=operations,
        decisions=decisions,
        sequences=sequences,
    )


def spec_files(root: Path) -> list[Path]:
    """The YAML files of the spec whose root document is `root`: the root and every `*.yaml` under its folder."""
    return sorted({root, *root.parent.rglob("*.yaml")})


def _check_yaml_files(root: Path) -> dict[Path, Any]:
    """Parse every YAML file of the spec so a syntax error names its file and line; file -> document."""
    documents: dict[Path, Any] = {}
    for file in spec_files(root):
        try:
            documents[file] = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise SpecLocationError(str(file), "", f"invalid YAML{where}: {exc}") from exc
    return documents


def _resolve(root: Path, documents: Mapping[Path, Any]) -> dict[str, Any]:
    """Resolve every `$ref` with prance's resolver; validation is ours, so it can name the place."""
    from prance.util import stringify_keys
    from prance.util import url as prance_url
    from prance.util.resolver import RefResolver

    # The files were parsed just above; prance's reference cache, keyed as its resolver looks files up
    # (resource URL, strict), saves it parsing them again. In lenient mode prance stringifies the keys of
    # what it parses, so the cached documents get the same. A file not in the cache is fetched as before.
    cache = {
        (prance_url.urlresource(prance_url.absurl(str(file))), False): stringify_keys(document)
        for file, document in documents.items()
        if isinstance(document, Mapping)
    }
    try:
        resolver = RefResolver(
            documents[root], url=prance_url.absurl(str(root)), strict=False, reference_cache=cache
        )
        resolver.resolve_references()
    except Exception as exc:  # prance raises several unrelated types for bad refs
        message = str(exc)
        file, pointer = _find_bad_ref(root, message)
        raise SpecLocationError(file, pointer, f"cannot resolve a $ref: {message}") from exc
    return _plain(resolver.specs)  # type: ignore[no-any-return]


def _find_bad_ref(root: Path, message: str) -> tuple[str, str]:
    """The file and pointer of the `$ref` that prance could not resolve, from prance's message."""
    match = re.search(r"file://(?P<file>[^#\s\"']+)(?:#(?P<fragment>[^\s\"']*))?", message)
    if not match:
        return str(root), ""
    wanted = (Path(match.group("file")).resolve(), match.group("fragment") or "")
    for file in spec_files(root):
        stack: list[tuple[Any, list[str]]] = [(yaml.safe_load(file.read_text(encoding="utf-8")), [])]
        while stack:
            node, here = stack.pop()
            if isinstance(node, Mapping):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    target, _, fragment = ref.partition("#")
                    resolved = (file.parent / target).resolve() if target else file
                    if (resolved, fragment) == wanted:
                        return str(file), "/" + "/".join(escape_token(t) for t in [*here, "$ref"])
                stack.extend((v, [*here, str(k)]) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((v, [*here, str(i)]) for i, v in enumerate(node))
    return str(root), ""


def _validate_openapi(root: Path, resolved: Mapping[str, Any]) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    for exc in OpenAPIV31SpecValidator(dict(resolved)).iter_errors():
        relative = [str(p) for p in exc.absolute_path]
        # Schema errors carry a path relative to the schema object that failed; find that object.
        tokens = _find_tokens(resolved, relative, exc.instance) if relative else []
        pointer = "/" + "/".join(escape_token(t) for t in tokens) if tokens else ""
        file, local = locate(root, pointer)
        raise SpecLocationError(file, local, exc.message)


def _find_tokens(resolved: Mapping[str, Any], relative: list[str], instance: Any) -> list[str]:
    """The shortest path in `resolved` that ends with `relative` and holds `instance`."""
    best: list[str] | None = None
    stack: list[tuple[Any, list[str]]] = [(resolved, [])]
    while stack:
        node, here = stack.pop()
        target: Any = node
        for token in relative:
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                break
        else:
            if target == instance and (best is None or len(here) < len(best)):
                best = here + relative
        children = (
            node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
        )
        for key, child in children:
            if isinstance(child, (Mapping, list)):
                stack.append((child, [*here, str(key)]))
    return best if best is not None else relative


def _build_openapi(root: Path, resolved: Mapping[str, Any]) -> Any:
    from openapi_core import Config, OpenAPI

    try:
        # The spec was validated just above; skip openapi-core's second validation pass.
        return OpenAPI.from_dict(dict(resolved), config=Config(spec_validator_cls=None))
    except Exception as exc:
        raise SpecLocationError(str(root), "", f"openapi-core cannot load the spec: {exc}") from exc


def locate(root: Path, pointer: str) -> tuple[str, str]:
    """Map a JSON pointer into the resolved spec to (file, pointer in that file), following `$ref`s."""
    file = root
    doc: Any = yaml.safe_load(root.read_text(encoding="utf-8"))
    node = doc
    local: list[str] = []
    for token in [unescape_token(t) for t in pointer.split("/")[1:]] if pointer else []:
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            file, doc, node, local = _follow(file, doc, node["$ref"])
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            local.append(escape_token(token))
            return str(file), "/" + "/".join(local)
        local.append(escape_token(token))
    return str(file), "/" + "/".join(local) if local else ""


def _follow(file: Path, doc: Any, ref: str) -> tuple[Path, Any, Any, list[str]]:
    target, _, fragment = ref.partition("#")
    if target:
        file = (file.parent / target).resolve()
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    node = doc
    tokens = [unescape_token(t) for t in fragment.split("/")[1:]] if fragment else []
    for token in tokens:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return file, doc, node, [escape_token(t) for t in tokens]


def _parse_operations(root: Path, resolved: Mapping[str, Any]) -> dict[str, Operation]:
    """Every operation of the document by `operationId`, with its relations; ids and relation ids unique."""
    operations: dict[str, Operation] = {}
    relation_ids: set[str] = set()
    for template, method, item, definition in iter_operations(resolved):
        where = operation_pointer(template, method)
        operation_id = definition.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise SpecLocationError(*locate(root, where), "every operation needs an operationId")
        if operation_id in operations:
            raise SpecLocationError(
                *locate(root, f"{where}/operationId"), f"operationId {operation_id!r} is used twice"
            )
        names, pattern = path_regex(template)
        relations = _parse_relations(root, definition, where, operation_id, relation_ids)
        try:
            Listing.parse(definition)
        except ListingError as exc:
            raise SpecLocationError(*locate(root, where + exc.pointer), exc.problem) from exc
        operations[operation_id] = Operation(
            id=operation_id,
            method=method.upper(),
            path_template=template,
            pointer=where,
            definition=definition,
            parameters=merged_parameters(item, definition),
            relations=relations,
            path_parameters=names,
            path_regex=pattern,
        )
    if not operations:
        raise SpecLocationError(str(root), "/paths", "the spec documents no operation")
    return operations


def _parse_relations(
    root: Path, definition: Mapping[str, Any], operation_at: str, operation_id: str, seen: set[str]
) -> tuple[Relation, ...]:
    where = f"{operation_at}/x-contract-relations"
    relations = []
    for index, item in enumerate(definition.get("x-contract-relations", [])):
        pointer = f"{where}/{index}"
        kind = item.get("kind")
        if kind not in RELATION_KINDS:
            raise SpecLocationError(
                *locate(root, pointer), f"relation kind {kind!r} is not one of {sorted(RELATION_KINDS)}"
            )
        if item.get("id") in seen or not item.get("id"):
            raise SpecLocationError(
                *locate(root, pointer), f"relation id {item.get('id')!r} is missing or repeated"
            )
        seen.add(item["id"])
        request = item.get("request")
        if request is not None and not request.startswith(_POINTER_ROOTS):
            raise SpecLocationError(
                *locate(root, pointer), f"request pointer {request!r} must start with one of {_POINTER_ROOTS}"
            )
        if item.get("basis") not in ("seed", "decision"):
            raise SpecLocationError(*locate(root, pointer), "basis must be 'seed' or 'decision'")
        relations.append(
            Relation(
                id=item["id"],
                kind=kind,
                basis=item["basis"],
                description=item.get("description", ""),
                response=item.get("response"),
                request=request,
                of=item.get("of"),
                pointers=tuple(item.get("pointers", ())),
                value=item.get("value"),
                tolerance_ms=int(item.get("tolerance-ms", 0)),
                if_in_response=bool(item.get("if-in-response", False)),
                decision=item.get("decision"),
                within=item.get("within"),
                operation=operation_id,
            )
        )
    return tuple(relations)


def _parse_decisions(root: Path, resolved: Mapping[str, Any]) -> tuple[Decision, ...]:
    decisions = []
    for index, item in enumerate(resolved.get("info", {}).get("x-seed-decisions", [])):
        try:
            decisions.append(
                Decision(
                    id=item["id"],
                    topic=item["topic"],
                    seed_says=item["seed-says"],
                    decision=item["decision"],
                    why=item["why"],
                )
            )
        except KeyError as exc:
            raise SpecLocationError(
                str(root), f"/info/x-seed-decisions/{index}", f"missing key {exc}"
            ) from exc
    return tuple(decisions)


# Schema keywords the platform's pages document (a field's JSON type, which fields are required, the
# alternatives of a rule): a failure of one of these is the page's rule even on a node that carries
# `x-decision`. Any other keyword of a node marked `x-decision` (minLength, pattern, format...) is the
# decision's. The one rule of which keywords a decision covers: the generators, the mock, the proxy
# and the contract tests all ask `keyword_decision`.
SEED_KEYWORDS = frozenset(
    {"type", "required", "anyOf", "oneOf", "allOf", "not", "properties", "items", "$ref", "const", "enum"}
)


def keyword_decision(schema: Any, keyword: str) -> str | None:
    """The decision behind `keyword` on this schema node, or None when the keyword is the page's rule."""
    if keyword in SEED_KEYWORDS or not isinstance(schema, Mapping):
        return None
    named = schema.get("x-decision")
    return str(named) if named else None


# Schema keywords that name a decision of `info.x-seed-decisions`: a constraint the spec adds beyond the
# page, a property the page requires that the spec makes optional, an object open to unknown properties.
# Each maps to how the docs' decisions table labels the place it marks.
DECISION_MARKERS: Mapping[str, str] = {
    "x-decision": "",
    "x-optional-by-decision": " (optional)",
    "x-open-by-decision": " (open)",
}


def _check_decision_references(
    root: Path,
    resolved: Mapping[str, Any],
    operations: Mapping[str, Operation],
    decisions: tuple[Decision, ...],
) -> None:
    """Every decision a schema marker or a relation names is defined, so a typo cannot hide a rule's basis."""
    known = {d.id for d in decisions}
    defined = ", ".join(sorted(known)) or "none"
    for operation in operations.values():
        where = f"{operation.pointer}/x-contract-relations"
        for index, relation in enumerate(operation.relations):
            if relation.basis == "decision" and relation.decision is None:
                raise SpecLocationError(
                    *locate(root, f"{where}/{index}"),
                    "a relation with basis 'decision' must name its decision",
                )
            if relation.decision is not None and relation.decision not in known:
                raise SpecLocationError(
                    *locate(root, f"{where}/{index}/decision"),
                    f"decision {relation.decision!r} is not in info.x-seed-decisions (defined: {defined})",
                )
    stack: list[tuple[Any, str]] = [(resolved, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, Mapping):
            for marker in DECISION_MARKERS:
                named = node.get(marker)
                if marker in node and named not in known:
                    raise SpecLocationError(
                        *locate(root, f"{pointer}/{marker}"),
                        f"{marker} names {named!r}, which is not in info.x-seed-decisions (defined: {defined})",
                    )
            stack.extend((child, f"{pointer}/{escape_token(str(key))}") for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, f"{pointer}/{index}") for index, child in enumerate(node))


def _parse_sequences(
    root: Path,
    resolved: Mapping[str, Any],
    operations: Mapping[str, Operation],
    decisions: tuple[Decision, ...],
) -> CallSequences:
    """`x-contract-sequences`: operations, collections, kinds, bases and decisions all named correctly."""
    block = resolved.get("x-contract-sequences")
    if block is None:
        return CallSequences()
    where = "/x-contract-sequences"
    known_ops = ", ".join(operations)

    def operation_named(name: Any, pointer: str) -> str:
        if name not in operations:
            raise SpecLocationError(
                *locate(root, pointer), f"{name!r} is not an operationId (operations: {known_ops})"
            )
        return str(name)

    collections = []
    for index, item in enumerate(block.get("collections", [])):
        at = f"{where}/collections/{index}"
        try:
            collections.append(
                Collection(
                    name=str(item["name"]),
                    create=operation_named(item["create"], f"{at}/create"),
                    list=operation_named(item["list"], f"{at}/list"),
                    update=operation_named(item["update"], f"{at}/update"),
                    path_id=str(item["path-id"]),
                )
            )
        except KeyError as exc:
            raise SpecLocationError(*locate(root, at), f"missing key {exc}") from exc
    names = {c.name for c in collections}
    # Sequence relations share the `relation:<id>` check names with the per-answer relations.
    seen = {r.id for op in operations.values() for r in op.relations}
    known = {d.id for d in decisions}
    relations = []
    for index, item in enumerate(block.get("relations", [])):
        at = f"{where}/relations/{index}"
        relation_id, kind, basis = item.get("id"), item.get("kind"), item.get("basis")
        if not relation_id or relation_id in seen:
            raise SpecLocationError(*locate(root, at), f"relation id {relation_id!r} is missing or repeated")
        seen.add(relation_id)
        if kind not in SEQUENCE_KINDS:
            raise SpecLocationError(
                *locate(root, f"{at}/kind"), f"sequence kind {kind!r} is not one of {sorted(SEQUENCE_KINDS)}"
            )
        if basis not in ("seed", "decision"):
            raise SpecLocationError(*locate(root, at), "basis must be 'seed' or 'decision'")
        decision = item.get("decision")
        if (basis == "decision" and decision is None) or (decision is not None and decision not in known):
            raise SpecLocationError(
                *locate(root, f"{at}/decision"),
                f"a relation with basis 'decision' must name a decision of info.x-seed-decisions (got {decision!r})",
            )
        ops = tuple(
            operation_named(op, f"{at}/operations/{i}") for i, op in enumerate(item.get("operations", []))
        )
        if not ops:
            raise SpecLocationError(*locate(root, at), "a sequence relation names the operations it involves")
        parent = item.get("parent")
        if parent is not None and parent not in names:
            raise SpecLocationError(*locate(root, f"{at}/parent"), f"parent {parent!r} is not a collection")
        relations.append(
            SequenceRelation(
                id=relation_id,
                kind=kind,
                operations=ops,
                basis=basis,
                description=str(item.get("description", "")),
                pointers=tuple(item.get("pointers", ())),
                decision=decision,
                except_=tuple(item.get("except", ())),
                parent=parent,
            )
        )
    return CallSequences(collections=tuple(collections), relations=tuple(relations))
