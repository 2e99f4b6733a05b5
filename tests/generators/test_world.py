"""build_world() and `python -m generators world`: valid against `World`, keeps every relation, same seed same bytes."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from generators import build_world
from generators.__main__ import cli
from spec import Exchange, SchemaCheck, Sequences, Store, load_spec

CONTRACT = load_spec()
WORLD = SchemaCheck(CONTRACT.resolved["components"]["schemas"]["World"])
SEQUENCES = Sequences(CONTRACT)


def _role(kind: str, role: str) -> str:
    for collection in CONTRACT.sequences.collections:
        if collection.name == kind:
            return str(getattr(collection, role))
    raise AssertionError(kind)


def test_the_world_validates_and_spans_two_accounts_and_streams() -> None:
    world = build_world(cases=8, tasks_per_case=3, seed=4)
    assert [e.message for e in WORLD.validator.iter_errors(world)] == []
    assert len(world["cases"]) == 8 and len(world["tasks"]) == 24
    assert len({c["accountId"] for c in world["cases"]}) == 2 and len({c["iId"] for c in world["cases"]}) == 2
    by_id = {c["_id"]: c for c in world["cases"]}
    for task in world["tasks"]:
        case = by_id[task["caseId"]]
        assert task["caseRefId"] == case["refId"] and task["_id"] in case["taskIds"]
        assert (task["accountId"], task["iId"]) == (case["accountId"], case["iId"])
    created = [
        o["createdAt"] for o in sorted([*world["cases"], *world["tasks"]], key=lambda o: o["createdAt"])
    ]
    assert len(set(created)) == len(created)
    updated = [c for c in world["cases"] if c["updatedAt"] > c["createdAt"]]
    assert updated and all(c["status"]["name"] != "Open" for c in updated)
    assert all(c["updatedAt"] >= c["createdAt"] for c in world["cases"])


def test_replaying_the_world_keeps_every_relation() -> None:
    world = build_world(cases=7, tasks_per_case=2, seed=9)
    store = Store()
    findings: list[Any] = []
    created = sorted(
        [("cases", c) for c in world["cases"]] + [("tasks", t) for t in world["tasks"]],
        key=lambda pair: pair[1]["createdAt"],
    )
    for kind, item in created:
        answer = {**item, "taskIds": []} if kind == "cases" else item
        findings += SEQUENCES.observe(
            store, Exchange(_role(kind, "create"), item["accountId"], item["iId"], {}, 200, answer)
        )
    scopes = {(c["accountId"], c["iId"]) for c in world["cases"]}
    for kind in ("cases", "tasks"):
        listing = _role(kind, "list")
        for account, stream in scopes:
            for body in ({}, {"limit": 2}, {"limit": 2, "page": 2}):
                probe = Exchange(listing, account, stream, body, 200, {})
                page = SEQUENCES.expected_page(store, probe)
                answer = {
                    "results": list(page.results),
                    "page": page.page,
                    "limit": page.limit,
                    "hasMore": page.has_more,
                    "totalPages": page.total_pages,
                    "totalResults": page.total_results,
                }
                findings += SEQUENCES.observe(store, Exchange(listing, account, stream, body, 200, answer))
    assert [str(f) for f in findings] == []
    stored = {c["_id"]: c for scope in store.objects["cases"].values() for c in scope.values()}
    assert {i: c["taskIds"] for i, c in stored.items()} == {c["_id"]: c["taskIds"] for c in world["cases"]}


def test_same_seed_same_bytes_and_the_cli_writes_the_document(tmp_path: Any) -> None:
    args = ["world", "--cases", "5", "--tasks-per-case", "2", "--seed", "3"]
    first, second = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and first.output == second.output
    assert json.loads(first.output) == build_world(cases=5, tasks_per_case=2, seed=3)
    target = tmp_path / "world.json"
    assert CliRunner().invoke(cli, [*args, "-o", str(target)]).exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(first.output)
    assert CliRunner().invoke(cli, ["world", "--help"]).output.count("python -m generators world") >= 1
