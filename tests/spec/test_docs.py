"""The documentation folder, without a browser: files, links, no network, decisions and relations."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from spec import ContractSpec, Decision, load_spec
from spec.__main__ import cli
from spec.docs import build_docs, write_docs

# Hosts and markers of remote assets: a CDN, web fonts, or a script/style pulled from a URL.
OFF_HOST_ASSET = re.compile(
    r"//cdn\.|cdnjs|jsdelivr|unpkg\.com|fonts\.googleapis|fonts\.gstatic|use\.typekit|"
    r"@import\s+(url\()?[\"']?(https?:)?//|url\([\"']?(https?:)?//",
    re.IGNORECASE,
)


class _Page(HTMLParser):
    """Collects asset references, the embedded spec, and the text of each table row by its id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []
        self.rows: dict[str, str] = {}
        self.links: dict[str, list[str]] = {}
        self.embedded_spec = ""
        self._row: str | None = None
        self._in_spec = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name) is not None:
                self.refs.append((tag, name, found[name] or ""))
                if self._row is not None and name == "href":
                    self.links[self._row].append(found[name] or "")
        row_id = found.get("id")
        if tag == "tr" and row_id:
            self._row = row_id
            self.rows[row_id] = ""
            self.links[row_id] = []
        if tag == "script" and found.get("id") == "openapi-spec":
            self._in_spec = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "script":
            self._in_spec = False

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self.rows[self._row] += data
        if self._in_spec:
            self.embedded_spec += data


def parse(html: bytes) -> _Page:
    page = _Page()
    page.feed(html.decode("utf-8"))
    return page


def plain(text: str) -> str:
    """Text as a reader sees it: Markdown backticks become <code>, runs of space one space."""
    return " ".join(text.replace("`", "").split())


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


@pytest.fixture(scope="module")
def files(contract: ContractSpec) -> dict[str, bytes]:
    return build_docs(contract)


@pytest.fixture(scope="module")
def page(files: dict[str, bytes]) -> _Page:
    return parse(files["index.html"])


def test_has_index_and_bundled_spec(files: dict[str, bytes], contract: ContractSpec) -> None:
    assert "index.html" in files
    assert json.loads(files["openapi.json"]) == contract.resolved


def test_every_referenced_file_is_shipped_and_relative(files: dict[str, bytes], page: _Page) -> None:
    assets = [(tag, attr, ref) for tag, attr, ref in page.refs if not ref.startswith("#")]
    assert {ref for _, _, ref in assets} >= {"assets/swagger-ui/swagger-ui-bundle.js", "openapi.json"}
    for tag, attr, ref in assets:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc and not ref.startswith("/"), (
            f"<{tag} {attr}={ref!r}> is not relative"
        )
        assert parts.path in files, f"<{tag} {attr}={ref!r}> names a file build_docs does not ship"


def test_in_page_anchors_point_at_elements(files: dict[str, bytes], page: _Page) -> None:
    html = files["index.html"].decode("utf-8")
    for _, _, ref in page.refs:
        if ref.startswith("#"):
            assert f'id="{ref[1:]}"' in html, f"link {ref} has no target"


def test_nothing_is_loaded_from_another_host(files: dict[str, bytes], page: _Page) -> None:
    for _, _, ref in page.refs:
        assert not re.match(r"(https?:)?//", ref), f"{ref} points off-host"
    for name, data in files.items():
        if name.endswith((".html", ".css", ".js")):
            found = OFF_HOST_ASSET.search(data.decode("utf-8"))
            assert found is None, f"{name} loads from another host: ...{found.group(0)}..."


def test_swagger_ui_is_told_not_to_reach_the_network(files: dict[str, bytes]) -> None:
    init = files["assets/docs.js"].decode("utf-8")
    # Defaults that would call out: the validator badge (validator.swagger.io) and "Try it out" against
    # the spec's only server, the real platform.
    assert "validatorUrl: null" in init
    assert 'supportedSubmitMethods: tryItOut ? ["post"] : []' in init
    assert re.search(r"\bspec: spec\b", init)
    # The only URL the script names is the page's own origin, offered when the mock serves the page.
    assert re.findall(r"\burl: ([^,]+)", init) == ["window.location.origin"]
    assert _docs_config(files) == {"tryItOut": False, "authToken": None, "authScheme": "jwtAuth"}
    assert b"try-it-out-notice" not in files["index.html"]


def _docs_config(files: dict[str, bytes]) -> object:
    match = re.search(
        rb'<script id="docs-config" type="application/json">(.*?)</script>', files["index.html"]
    )
    assert match, "index.html embeds the page's configuration"
    return json.loads(match.group(1))


def test_served_by_the_mock_the_page_may_try_it_out(contract: ContractSpec) -> None:
    with_token = build_docs(contract, try_it_out=True, auth_token="h.p.s")
    assert _docs_config(with_token) == {"tryItOut": True, "authToken": "h.p.s", "authScheme": "jwtAuth"}
    html = with_token["index.html"].decode("utf-8")
    assert 'id="try-it-out-notice"' in html and "development token" in html
    # A mock that verifies signatures hands out no token; the page says how to make one.
    verified = build_docs(contract, try_it_out=True)
    assert _docs_config(verified) == {"tryItOut": True, "authToken": None, "authScheme": "jwtAuth"}
    assert "python -m mockserver token --secret" in verified["index.html"].decode("utf-8")
    # A token without try_it_out is never written into the folder.
    assert _docs_config(build_docs(contract, auth_token="h.p.s"))["authToken"] is None  # type: ignore[index]
    assert build_docs(contract) == build_docs(contract, auth_token="h.p.s")


def test_swagger_ui_renders_openapi_3_1(files: dict[str, bytes]) -> None:
    match = re.search(rb"Swagger UI (\d+)\.(\d+)\.(\d+)", files["index.html"])
    assert match, "the page names the Swagger UI version it ships"
    assert int(match.group(1)) >= 5, "Swagger UI reads OpenAPI 3.1 from version 5 on"


def test_embedded_spec_is_the_contract(page: _Page, contract: ContractSpec, files: dict[str, bytes]) -> None:
    assert json.loads(page.embedded_spec) == contract.resolved
    assert "</" not in page.embedded_spec


def test_every_decision_is_a_row(page: _Page, contract: ContractSpec) -> None:
    assert contract.decisions
    for decision in contract.decisions:
        row = page.rows.get(f"decision-{decision.id}")
        assert row is not None, f"decision {decision.id} is not in the table"
        for text in (decision.topic, decision.seed_says, decision.decision, decision.why):
            assert plain(text) in plain(row), f"decision {decision.id}: {text!r} is not shown"


def test_every_relation_is_a_row(page: _Page, contract: ContractSpec) -> None:
    assert contract.relations
    for relation in contract.relations:
        row = page.rows.get(f"relation-{relation.id}")
        assert row is not None, f"relation {relation.id} is not in the table"
        assert relation.kind in row
        assert plain(relation.description) in plain(row)
        for pointer in (relation.response, relation.request, relation.of, *relation.pointers):
            if pointer:
                assert pointer in row, f"relation {relation.id}: {pointer} is not shown"
        if relation.decision:
            assert f"#decision-{relation.decision}" in page.links[f"relation-{relation.id}"]


def test_decisions_link_the_relations_and_constraints_that_use_them(
    page: _Page, contract: ContractSpec
) -> None:
    row = page.rows["decision-non-empty-required-strings"]
    assert "CreateTaskRequest.caseId" in row and "UserInfo.name" in row
    for relation in contract.relations:
        if relation.decision:
            assert f"#relation-{relation.id}" in page.links[f"decision-{relation.decision}"]


def test_spec_text_is_escaped(contract: ContractSpec) -> None:
    hostile = Decision(
        id="x<y",
        topic="<script>alert(1)</script>",
        seed_says='"quoted" & <b>bold</b>',
        decision="`<img src=x onerror=alert(1)>`",
        why="</script><script>alert(2)</script>",
    )
    html = build_docs(dataclasses.replace(contract, decisions=(hostile,)))["index.html"].decode("utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in html


def test_a_relation_kind_without_rule_text_is_an_error(contract: ContractSpec) -> None:
    unknown = dataclasses.replace(contract.relations[0], kind="lower-ish")
    operation = contract.operation(unknown.operation)
    operations = {**contract.operations, operation.id: dataclasses.replace(operation, relations=(unknown,))}
    with pytest.raises(ValueError, match="lower-ish"):
        build_docs(dataclasses.replace(contract, operations=operations))


def test_result_is_not_shared_between_callers(contract: ContractSpec) -> None:
    first = build_docs(contract)
    first["index.html"] = b"changed by a caller"
    again = build_docs(contract)
    assert again["index.html"] != b"changed by a caller"
    assert again == build_docs()  # the default contract is load_spec()'s


def test_write_docs_writes_the_folder(tmp_path: Path, files: dict[str, bytes]) -> None:
    index = write_docs(tmp_path / "docs")
    assert index == tmp_path / "docs" / "index.html"
    written = {
        p.relative_to(tmp_path / "docs").as_posix(): p.read_bytes()
        for p in (tmp_path / "docs").rglob("*")
        if p.is_file()
    }
    assert written == files


def test_command_writes_the_docs(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["docs", "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "index.html").is_file()
    assert (tmp_path / "out" / "assets" / "swagger-ui" / "swagger-ui-bundle.js").is_file()


def test_a_made_up_operation_is_documented_with_no_code_change(tmp_path: Path) -> None:
    from tests.madeup import OPERATION_ID, PATH_TEMPLATE, write_madeup_spec

    madeup = load_spec(write_madeup_spec(tmp_path))
    html = build_docs(madeup)["index.html"].decode("utf-8")
    assert f"<code>POST {PATH_TEMPLATE}</code> ({OPERATION_ID})" in html
    for relation in madeup.operation(OPERATION_ID).relations:
        assert f'id="relation-{relation.id}"' in html
    embedded = json.loads(build_docs(madeup)["openapi.json"])
    assert embedded["paths"][PATH_TEMPLATE]["post"]["operationId"] == OPERATION_ID


def test_relations_across_calls_and_listings_are_tabled(contract: ContractSpec) -> None:
    html = build_docs(contract)["index.html"].decode("utf-8")
    rows = re.findall(r'<tr id="sequence-([^"]+)">', html)
    assert rows == [r.id for r in contract.sequences.relations] and rows
    for relation in contract.sequences.relations:
        if relation.decision:
            assert f'href="#decision-{relation.decision}"' in html
    listed = re.findall(r'<tr id="listing-([^"]+)">', html)
    declared = [op.id for op in contract.operations.values() if "x-filter" in op.definition]
    assert listed == declared and listed
    for collection in contract.sequences.collections:
        assert f"<code>{collection.create}</code>" in html and f"<code>{collection.update}</code>" in html
    # every operation of the spec is named in the page's no-script list
    for operation in contract.operations.values():
        assert f"<code>{operation.method} {operation.path_template}</code> ({operation.id})" in html


def test_a_sequence_kind_without_rule_text_is_an_error(contract: ContractSpec) -> None:
    unknown = dataclasses.replace(contract.sequences.relations[0], kind="sideways")
    sequences = dataclasses.replace(contract.sequences, relations=(unknown,))
    with pytest.raises(ValueError, match="sideways"):
        build_docs(dataclasses.replace(contract, sequences=sequences))
