"""openapi-typescript + openapi-fetch: the bundle gives named types, `tsc --strict` accepts a program calling
the mock with them, and the program gets a typed task for a valid createTask and the typed error envelope for
an invalid one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.clients.support import NODE_MODULES, node_package, run, tool
from tests.mockserver.support import ACCOUNT, STREAM, Server

pytestmark = [pytest.mark.http, pytest.mark.slow]

PROGRAM = Path(__file__).parent / "typescript"


@pytest.fixture
def project(tmp_path: Path, bundle: Path) -> Path:
    """The TypeScript program with its generated types (`schema.ts`), using `.cache/npm`'s packages."""
    generate = tool("openapi-typescript")
    node_package("openapi-fetch")
    work = tmp_path / "client"
    shutil.copytree(PROGRAM, work)
    (work / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (work / "package.json").write_text('{"type": "module", "private": true}\n', encoding="utf-8")
    run(generate, str(bundle), "--output", "schema.ts", cwd=work)
    return work


def write_config(project: Path, base_url: str, token: str, body: dict[str, Any]) -> None:
    """`config.ts`: where the mock listens, the token, and the valid body typed as the request model."""
    values = {"baseUrl": base_url, "token": token, "streamId": STREAM, "account": ACCOUNT}
    lines = [
        'import type { components } from "./schema.js";',
        *(f"export const {name} = {json.dumps(value)};" for name, value in values.items()),
        f'export const valid: components["schemas"]["CreateTaskRequest"] = {json.dumps(body)};',
    ]
    (project / "config.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_generated_types_name_the_models(project: Path) -> None:
    schema = (project / "schema.ts").read_text(encoding="utf-8")
    for model in (
        "CreateTaskRequest",
        "Task",
        "StoredUserInfo",
        "Status",
        "Priority",
        "Field",
        "Actor",
        "ErrorEnvelope",
    ):
        assert f"        {model}: {{" in schema, f"no named type {model}"
    assert 'components["schemas"]["Task"]' in schema and 'components["schemas"]["ErrorEnvelope"]' in schema


def test_strict_type_check_catches_a_wrong_field_type(project: Path) -> None:
    write_config(project, "http://127.0.0.1:9", "token", {"caseId": 1})
    done = run(tool("tsc"), "--project", "tsconfig.json", "--strict", cwd=project, ok=False)
    assert done.returncode != 0
    assert "config.ts" in done.stdout and "error TS2322" in done.stdout, done.stdout


def test_client_calls_the_mock(project: Path, mock: Server, token: str, valid_body: dict[str, Any]) -> None:
    write_config(project, mock.base, token, valid_body)
    run(tool("tsc"), "--project", "tsconfig.json", "--strict", cwd=project)
    done = run(tool("node"), "out/main.js", cwd=project)
    result = json.loads(done.stdout.strip().splitlines()[-1])

    created = result["created"]
    assert created["status"] == 200
    assert created["caseId"] == valid_body["caseId"]
    assert created["name"] == valid_body["name"] and created["lname"] == valid_body["name"].lower()
    assert created["user"] == valid_body["userInfo"]["name"]
    assert (created["statusCategory"], created["priority"]) == ("open", "Medium")
    assert created["id"].startswith("ti-") and created["refId"].startswith("TS")
    assert isinstance(created["timestampValue"], int)

    rejected = result["rejected"]
    assert rejected["status"] == 400
    assert rejected["messages"] and all(rejected["messages"])
    assert "/body/caseId" in rejected["pointers"]
