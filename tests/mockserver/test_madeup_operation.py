"""A made-up second operation (`archiveNote`, tests/madeup.py) gets routing, validation, answers and
controls from the spec alone: no code of the mock names it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from mockserver import MockConfig, create_app
from mockserver._validation import ContractValidator
from spec import (
    Basis,
    ContractJudge,
    ContractSpec,
    Direction,
    Expectation,
    Operation,
    ReceivedAnswer,
    SentRequest,
    load_spec,
)
from spec._judge import REQUEST_CONFORMANCE
from tests.madeup import OPERATION_ID, write_madeup_spec
from tests.mockserver.support import ACCOUNT, STREAM, headers, task_operation

NOTE = "n-42"
REASON = "duplicate of n-41"


@pytest.fixture(scope="module")
def madeup(tmp_path_factory: pytest.TempPathFactory) -> ContractSpec:
    """The spec copy with the made-up operation."""
    return load_spec(write_madeup_spec(tmp_path_factory.mktemp("madeup")))


@pytest.fixture(scope="module")
def archive(madeup: ContractSpec) -> Operation:
    """The made-up operation."""
    return madeup.operation(OPERATION_ID)


@pytest.fixture
def madeup_app(madeup: ContractSpec, tmp_path: Path) -> Iterator[Flask]:
    """The mock serving the spec copy."""
    app = create_app(MockConfig(spec_path=madeup.path, seed=7, state_file=tmp_path / "state.sqlite3"))
    app.testing = True
    yield app


@pytest.fixture
def madeup_client(madeup_app: Flask) -> FlaskClient:
    return madeup_app.test_client()


def archive_path(archive: Operation, note: str = NOTE) -> str:
    return archive.path(streamId=STREAM, noteId=note)


def valid_body(**changes: Any) -> dict[str, Any]:
    return {"reason": REASON, "keepDays": 7, "mode": "hard", "notify": True, **changes}


def assert_healthy(client: FlaskClient) -> None:
    health = client.get("/__admin/health").json
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)


# -- routing ------------------------------------------------------------------------------------


def test_routing_404_405_and_allow(madeup_client: FlaskClient, archive: Operation) -> None:
    wrong_method = madeup_client.get(archive_path(archive))
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST, OPTIONS"
    assert wrong_method.json["errors"][0]["code"] == 405
    options = madeup_client.options(archive_path(archive))
    assert options.status_code == 204 and options.headers["Allow"] == "POST, OPTIONS"
    for path in (
        archive_path(archive) + "/",
        archive.path_template.replace("{noteId}", "").replace("{streamId}", STREAM),
    ):
        unknown = madeup_client.post(path, json=valid_body(), headers=headers())
        assert unknown.status_code == 404, path
        assert unknown.json["errors"][0]["code"] == 404
    # The spec's first operation is still served beside it.
    task = task_operation()
    created = madeup_client.post(
        task.path(streamId=STREAM), json=task.request_examples["seed-sample"], headers=headers()
    )
    assert created.status_code == 200 and "refId" in created.json
    assert_healthy(madeup_client)


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (valid_body(reason=""), "/body/reason"),
        (valid_body(reason="r" * 41), "/body/reason"),
        (valid_body(keepDays=0), "/body/keepDays"),
        (valid_body(keepDays=366), "/body/keepDays"),
        (valid_body(keepDays="7"), "/body/keepDays"),
        (valid_body(mode="archive"), "/body/mode"),
        (valid_body(notify="yes"), "/body/notify"),
        ({"keepDays": 7}, "/body/reason"),
    ],
)
def test_the_made_up_constraints_are_400_with_pointers(
    madeup_client: FlaskClient, archive: Operation, body: dict[str, Any], pointer: str
) -> None:
    response = madeup_client.post(archive_path(archive), json=body, headers=headers())
    assert response.status_code == 400, response.json
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    assert_healthy(madeup_client)


def test_a_missing_required_header_and_body(madeup_client: FlaskClient, archive: Operation) -> None:
    hdrs = headers()
    del hdrs["accountId"]
    response = madeup_client.post(archive_path(archive), json=valid_body(reason=""), headers=hdrs)
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json["errors"]] == ["/header/accountId", "/body/reason"]
    empty = madeup_client.post(archive_path(archive), headers=headers())
    assert empty.status_code == 400 and empty.json["errors"][0]["pointer"] == "/body"
    assert "ArchiveNoteRequest" in empty.json["errors"][0]["detail"]


def test_the_validator_reports_findings_of_the_operation(madeup: ContractSpec, archive: Operation) -> None:
    route = madeup.match("POST", archive_path(archive))
    assert route is not None and route.operation == archive
    assert route.path_params == {"streamId": STREAM, "noteId": NOTE}
    violations = ContractValidator(madeup).validate(
        route,
        headers=Headers({"auth": "t", "Content-Type": "application/json"}),
        body=b'{"reason": "", "keepDays": 7}',
    )
    findings = [v.finding(archive.id) for v in violations]
    assert [(f.pointer, f.subject) for f in findings] == [
        ("/header/accountId", "required"),
        ("/body/reason", "minLength"),
    ]
    for finding in findings:
        assert finding.check == REQUEST_CONFORMANCE and finding.operation == OPERATION_ID
        assert (
            finding.direction is Direction.REQUEST
            and finding.basis is Basis.SEED
            and finding.decision is None
        )


# -- answers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("note", [NOTE, "n\n1", "n-\u00e9\u4e2d", "n" * 1000])
def test_a_valid_request_gets_the_generic_answer_the_judge_accepts(
    madeup_client: FlaskClient, madeup: ContractSpec, archive: Operation, note: str
) -> None:
    body = valid_body()
    response = madeup_client.post(archive_path(archive, note), json=body, headers=headers())
    assert response.status_code == 200, response.json
    assert response.json == {"noteId": note, "reason": REASON, "keepDays": 30, "archived": True}
    judgement = ContractJudge(madeup).answer(
        archive,
        SentRequest({"streamId": STREAM, "noteId": note}, {"accountId": ACCOUNT}, body),
        ReceivedAnswer(response.status_code, dict(response.headers), response.data),
        Expectation.valid(),
    )
    assert judgement.ok, [str(f) for f in judgement.findings]
    assert any(check.startswith("relation:") for check in judgement.checks)
    assert "X-Mock-Self-Check" not in response.headers
    assert_healthy(madeup_client)


def test_prefer_looks_examples_up_in_the_operation(madeup_client: FlaskClient, archive: Operation) -> None:
    plain = madeup_client.post(
        archive_path(archive), json=valid_body(), headers=headers(Prefer="example=plain")
    )
    assert plain.status_code == 200 and plain.json == archive.response_examples()["plain"]
    not_found = madeup_client.post(
        archive_path(archive), json=valid_body(), headers=headers(Prefer="code=404")
    )
    assert not_found.status_code == 404
    assert not_found.json == next(iter(archive.response_examples(404).values()))
    # 500 is no status archiveNote documents (createTask's examples are not looked at).
    undocumented = madeup_client.post(
        archive_path(archive), json=valid_body(), headers=headers(Prefer="code=500")
    )
    assert undocumented.status_code == 400
    assert "archiveNote" in undocumented.json["errors"][0]["msg"]
    other = madeup_client.post(
        archive_path(archive), json=valid_body(), headers=headers(Prefer="example=seed-sample")
    )
    assert other.status_code == 400
    assert "Documented: plain," in other.json["errors"][0]["detail"]


def test_statuses_are_the_operations_own(madeup: ContractSpec, tmp_path: Path, archive: Operation) -> None:
    # Faults are drawn from the statuses the operation documents: archiveNote documents no 5xx.
    faulty = create_app(
        MockConfig(spec_path=madeup.path, seed=7, error_rate=1.0, state_file=tmp_path / "s.sqlite3")
    ).test_client()
    assert faulty.post(archive_path(archive), json=valid_body(), headers=headers()).status_code == 200
    # An oversized header section is 431 where no operation is named, the generic 400 here.
    huge = headers(**{"X-Huge": "h" * 100_000})
    assert faulty.post(archive_path(archive), json=valid_body(), headers=huge).status_code == 400
    assert faulty.post("/nope", json=valid_body(), headers=huge).status_code == 431
    journal = faulty.get("/__admin/requests").json["requests"]
    assert [e["status"] for e in journal] == [431, 400, 200]
    assert journal[-1]["path"] == archive_path(archive)
