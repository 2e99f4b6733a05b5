"""openapi-python-client: the bundle generates a client with no warning and a model per schema, and the
generated package calls the mock: a typed `Task` for a valid createTask, the typed `ErrorEnvelope` for an
invalid one."""

from __future__ import annotations

import datetime
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.clients.support import run, tool
from tests.mockserver.support import ACCOUNT, STREAM, Server

pytestmark = [pytest.mark.http, pytest.mark.slow]

PACKAGE = "kore_case_management_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, bundle: Path) -> tuple[Path, str]:
    """The client package generated from the bundle, and what the generator printed."""
    root = tmp_path_factory.mktemp("python-client")
    done = run(
        tool("openapi-python-client"),
        "generate",
        "--path",
        str(bundle),
        "--output-path",
        str(root / PACKAGE),
        "--meta",
        "none",
        cwd=root,
    )
    return root / PACKAGE, done.stdout + done.stderr


@pytest.fixture
def client_package(generated: tuple[Path, str]) -> Iterator[ModuleType]:
    """The generated package, imported; forgotten after the test."""
    package, _ = generated
    sys.path.insert(0, str(package.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(package.parent))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_generates_without_warnings_and_names_every_model(generated: tuple[Path, str]) -> None:
    package, output = generated
    assert "warning" not in output.lower(), output
    models = {path.stem for path in (package / "models").glob("*.py")}
    expected = {"create_task_request", "task", "user_information_stored", "status", "priority", "field"}
    assert expected | {"field_metadata", "actor", "error_envelope", "error"} <= models, sorted(models)


def test_client_calls_the_mock(
    client_package: ModuleType, mock: Server, token: str, valid_body: dict[str, Any]
) -> None:
    create_task = importlib.import_module(f"{PACKAGE}.api.tasks.create_task")
    models = importlib.import_module(f"{PACKAGE}.models")
    # The platform sends the token in `auth`, not as `Authorization: Bearer ...`.
    with client_package.AuthenticatedClient(
        base_url=mock.base, token=token, prefix="", auth_header_name="auth", raise_on_unexpected_status=True
    ) as client:
        created = create_task.sync_detailed(
            STREAM, client=client, body=models.CreateTaskRequest.from_dict(valid_body), account_id=ACCOUNT
        )
        rejected = create_task.sync_detailed(
            STREAM,
            client=client,
            body=models.CreateTaskRequest.from_dict({**valid_body, "caseId": ""}),
            account_id=ACCOUNT,
        )

    assert created.status_code == 200
    task = created.parsed
    assert isinstance(task, models.Task)
    assert (task.case_id, task.case_ref_id, task.source) == (
        valid_body["caseId"],
        valid_body["caseRefId"],
        valid_body["source"],
    )
    assert task.name == valid_body["name"] and task.lname == valid_body["name"].lower()
    assert task.account_id == ACCOUNT and task.i_id == STREAM
    assert isinstance(task.user_info, models.UserInformationStored)
    assert task.user_info.name == valid_body["userInfo"]["name"]
    assert isinstance(task.status, models.Status) and task.status.status_category == "open"
    assert isinstance(task.priority, models.Priority) and task.priority.name == "Medium"
    assert isinstance(task.created_at, datetime.datetime) and isinstance(task.timestamp_value, int)
    assert all(isinstance(field, models.Field) for field in task.fields)

    assert rejected.status_code == 400
    envelope = rejected.parsed
    assert isinstance(envelope, models.ErrorEnvelope)
    assert envelope.errors and all(isinstance(error, models.Error) and error.msg for error in envelope.errors)
    assert "/body/caseId" in [error.pointer for error in envelope.errors]
