"""Self-contained documentation of the contract: Swagger UI plus tables of decisions and relations.

The UI's files come from the installed `flask-swagger-ui` package (Swagger UI 5, which renders
OpenAPI 3.1); nothing is fetched from a CDN, and every URL in the pages is relative, so the same
files open from disk (file://) and are served by the mock under `/docs/`.

"Try it out" is off in the folder (the spec's only server is the real platform). The mock builds its
`/docs/` with `try_it_out=True`: the page then offers its own origin as its only server, so requests
go to the mock that served it, and with `auth_token` the `auth` header is filled in.

Example:
    >>> files = build_docs()
    >>> sorted(files)[:2]
    ['assets/docs.css', 'assets/docs.js']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from spec._listing import Listing
from spec._loader import DECISION_MARKERS, RELATION_KINDS, ContractSpec, Relation, SequenceRelation, load_spec

__all__ = ["build_docs", "write_docs"]

_TEMPLATES = Path(__file__).resolve().parent / "docs_templates"
_UI_PACKAGE = "flask_swagger_ui"

# Where each file lands in the output; the template reads these names, so a move happens here only.
_ASSETS = {
    "ui_js": "assets/swagger-ui/swagger-ui-bundle.js",
    "ui_css": "assets/swagger-ui/swagger-ui.css",
    "favicon": "assets/swagger-ui/favicon-32x32.png",
    "ui_license": "assets/swagger-ui/LICENSE.txt",
    "docs_js": "assets/docs.js",
    "docs_css": "assets/docs.css",
    "spec_json": "openapi.json",
}
# Source file in flask_swagger_ui/dist for each Swagger UI asset above.
_UI_FILES = {
    "ui_js": "swagger-ui-bundle.js",
    "ui_css": "swagger-ui.css",
    "favicon": "favicon-32x32.png",
    "ui_license": "LICENSE",
}


@dataclass(frozen=True)
class _DecisionRow:
    """A decision as the decisions table shows it, with the relations and constraints that cite it."""

    id: str
    topic: str
    seed_says: str
    decision: str
    why: str
    relations: tuple[str, ...]
    constraints: tuple[str, ...]


@dataclass(frozen=True)
class _SequenceRow:
    """A relation over calls as the table shows it: the operations it spans and its rule for a reader."""

    id: str
    operations: tuple[str, ...]
    kind: str
    rule: str
    basis: str
    decision: str | None
    description: str


@dataclass(frozen=True)
class _ListingRow:
    """What a listing operation keeps, in which order and which page, as its x-filter/x-sort/x-page say."""

    operation: str
    filters: tuple[str, ...]
    sort: str
    paging: str


@dataclass(frozen=True)
class _RelationRow:
    """A relation as the relations table shows it: its rule spelled out for a reader."""

    id: str
    operation: str
    kind: str
    rule: str
    basis: str
    decision: str | None
    description: str


def build_docs(
    contract: ContractSpec | None = None, *, try_it_out: bool = False, auth_token: str | None = None
) -> dict[str, bytes]:
    """The documentation's files: relative path -> bytes, with `index.html` and `openapi.json`.

    `try_it_out`: the page is served by the mock, so "Try it out" sends requests to the page's own
    origin. `auth_token`: a token the page puts in the `auth` header (with `try_it_out` only).
    Each call renders a fresh dict: the mock keeps the one it serves, the CLI builds once.
    """
    contract = contract if contract is not None else load_spec()
    return _render(contract, try_it_out=try_it_out, auth_token=auth_token if try_it_out else None)


def write_docs(out_dir: Path, contract: ContractSpec | None = None) -> Path:
    """Write the documentation folder to `out_dir`; return the path of its `index.html`."""
    for relative, data in build_docs(contract).items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return out_dir / "index.html"


def _render(contract: ContractSpec, *, try_it_out: bool, auth_token: str | None) -> dict[str, bytes]:
    ui_dist = resources.files(_UI_PACKAGE) / "dist"
    ui_version = (ui_dist / "VERSION").read_text(encoding="utf-8").strip().lstrip("v")
    info = contract.resolved.get("info", {})
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["inline_code"] = _inline_code
    html = env.get_template("index.html.j2").render(
        title=str(info.get("title", "API")),
        version=str(info.get("version", "")),
        operations=[(op.method, op.path_template, op.id) for op in contract.operations.values()],
        ui_version=ui_version,
        assets=_ASSETS,
        decisions=_decision_rows(contract),
        relations=[_relation_row(r) for r in contract.relations],
        sequences=[_sequence_row(r) for r in contract.sequences.relations],
        collections=contract.sequences.collections,
        listings=_listing_rows(contract),
        spec_json=_script_json(contract.resolved),
        try_it_out=try_it_out,
        auth_token_given=auth_token is not None,
        docs_config=_script_json(
            {"tryItOut": try_it_out, "authToken": auth_token, "authScheme": _header_scheme(contract, "auth")}
        ),
    )
    files = {
        "index.html": html.encode("utf-8"),
        _ASSETS["spec_json"]: contract.bundle_json().encode("utf-8"),
        _ASSETS["docs_js"]: (_TEMPLATES / "docs.js").read_bytes(),
        _ASSETS["docs_css"]: (_TEMPLATES / "docs.css").read_bytes(),
    }
    for key, name in _UI_FILES.items():
        files[_ASSETS[key]] = (ui_dist / name).read_bytes()
    return files


def _header_scheme(contract: ContractSpec, header: str) -> str | None:
    """The name of the apiKey security scheme read from `header`, for Swagger UI's preauthorizeApiKey."""
    return next((name for name, sent_in in contract.auth_headers.items() if sent_in == header), None)


def _script_json(document: Mapping[str, Any]) -> Markup:
    """JSON safe inside <script>: `<`, `>` and `&` escaped so no text in the spec can close the tag."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


_BACKTICKS = re.compile(r"`([^`]+)`")


def _inline_code(text: object) -> Markup:
    """Escape `text`, then show its Markdown `code` spans as <code> (the spec writes them so)."""
    escaped = str(escape(str(text)))
    # escape() leaves backticks alone, so the spans are found in the escaped text.
    return Markup(_BACKTICKS.sub(lambda m: f"<code>{m.group(1)}</code>", escaped))


def _decision_rows(contract: ContractSpec) -> list[_DecisionRow]:
    constraints: dict[str, list[str]] = {}
    schemas = contract.resolved.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        for where, decision in _x_decisions(schema, name):
            constraints.setdefault(decision, []).append(where)
    return [
        _DecisionRow(
            id=d.id,
            topic=d.topic,
            seed_says=d.seed_says,
            decision=d.decision,
            why=d.why,
            relations=tuple(r.id for r in contract.relations if r.decision == d.id),
            constraints=tuple(constraints.get(d.id, ())),
        )
        for d in contract.decisions
    ]


def _x_decisions(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(dotted place, decision id) of every decision marker under a schema, properties named by dots."""
    if isinstance(node, Mapping):
        for marker, label in DECISION_MARKERS.items():
            if isinstance(node.get(marker), str):
                yield where + label, node[marker]
        for key, child in node.items():
            if key == "properties" and isinstance(child, Mapping):
                for prop, sub in child.items():
                    yield from _x_decisions(sub, f"{where}.{prop}")
            elif key not in DECISION_MARKERS:
                yield from _x_decisions(child, where)
    elif isinstance(node, list):
        for child in node:
            yield from _x_decisions(child, where)


def _relation_row(relation: Relation) -> _RelationRow:
    return _RelationRow(
        id=relation.id,
        operation=relation.operation,
        kind=relation.kind,
        rule=_rule(relation),
        basis=relation.basis,
        decision=relation.decision,
        description=relation.description,
    )


def _rule(r: Relation) -> str:
    """The relation as one sentence, pointers in backticks; kinds as documented in the spec's comment."""
    if r.kind == "equals":
        rule = f"answer `{r.response}` = request `{r.request}`, when the request has it"
        return rule + (" and the answer shows it" if r.if_in_response else "")
    if r.kind == "lowercase":
        return f"answer `{r.response}` = answer `{r.of}` lower-cased, when `{r.of}` is present"
    if r.kind == "same-value":
        return " = ".join(f"`{p}`" for p in r.pointers)
    if r.kind == "same-instant":
        return " ≈ ".join(f"`{p}`" for p in r.pointers) + f", within {r.tolerance_ms} ms"
    if r.kind == "unique":
        scope = f" with the same `{r.within}`" if r.within else ""
        return f"answer `{r.response}` differs from every other answer's{scope}"
    if r.kind == "constant":
        return f"answer `{r.response}` = `{json.dumps(r.value, ensure_ascii=False)}`"
    # The loader rejects unknown kinds, so a kind added to RELATION_KINDS must be spelled out here too.
    raise ValueError(
        f"relation {r.id}: kind {r.kind!r} has no rule text (known kinds: {sorted(RELATION_KINDS)})"
    )


# What each kind of relation over calls means, in a reader's words (spec/_sequences.py is its interpreter).
SEQUENCE_RULES = {
    "listed-after-create": "what a create answered is listed for its account and stream, and for no other",
    "merged": "an update answers, and later listings show, the stored object with the fields sent replacing its own",
    "unchanged": "these fields keep the value the create answered through every later call",
    "not-earlier": "these fields never move backwards from one call to the next",
    "lowercase-of": "the lower-cased field follows its source through every update",
    "joins-parent": "a child created for an existing parent is listed in the parent's ids",
    "listing-exact": "a listing holds exactly the stored objects its filters keep, in its sort order",
    "pages-partition": "the pages of one listing hold every kept object once",
    "total-counts": "`totalResults` counts the kept objects and `totalPages` the pages",
    "last-page": "`hasMore` is false exactly on the last page",
}


def _sequence_row(relation: SequenceRelation) -> _SequenceRow:
    rule = SEQUENCE_RULES.get(relation.kind)
    if rule is None:
        raise ValueError(
            f"sequence relation {relation.id}: kind {relation.kind!r} has no rule text "
            f"(known kinds: {sorted(SEQUENCE_RULES)})"
        )
    if relation.pointers:
        rule += ": " + ", ".join(f"`{p}`" for p in relation.pointers)
    if relation.except_:
        rule += "; never merged: " + ", ".join(f"`{p}`" for p in relation.except_)
    return _SequenceRow(
        id=relation.id,
        operations=relation.operations,
        kind=relation.kind,
        rule=rule,
        basis=relation.basis,
        decision=relation.decision,
        description=relation.description,
    )


def _listing_rows(contract: ContractSpec) -> list[_ListingRow]:
    rows = []
    for operation in contract.operations.values():
        listing = Listing.parse(operation.definition)
        if listing is None:
            continue
        filters = tuple(
            f"`{f.field}` {f.match} " + " or ".join(f"`{p}`" for p in f.stored) for f in listing.filters
        )
        sort = paging = ""
        if listing.sort is not None:
            keys = ", ".join(f"`{k}`" for k in listing.sort.keys)
            sort = (
                f"`{listing.sort.field}`: one of {keys} (a string sorts {listing.sort.string_direction}, or "
                f"`{{key: asc|desc}}`); default `{listing.sort.default_key}` {listing.sort.default_direction}, "
                f"ties by `{listing.sort.tie_break}`"
            )
        if listing.paging is not None:
            page = listing.paging
            asked = " or ".join(f"`{p}`" for p in (page.skip, page.page) if p)
            paging = f"{asked}; `{page.limit}` default {page.default_limit}, at most {page.maximum_limit}"
        rows.append(_ListingRow(operation.id, filters, sort, paging))
    return rows
