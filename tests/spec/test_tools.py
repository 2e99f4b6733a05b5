"""The spec loads in the tools people use with it: Schemathesis 4, Prism 5, Spectral and Redocly."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from spec import SPEC_PATH, load_spec

CREATE_TASK = "/caseManagement/api/public/analytics/st-084d3c5e-376a-559f-9987-a012bb2bxxxx/createTask"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not on PATH (bin/test installs it into .cache/npm)")
    return path


def test_schemathesis_loads_the_spec() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    labels = [result.ok().label for result in schema.get_all_operations()]
    contract = load_spec()
    assert labels == [f"{op.method} {op.path_template}" for op in contract.operations.values()]
    assert labels[0] == "POST /caseManagement/api/public/analytics/{streamId}/createTask"


def test_schemathesis_loads_the_bundle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import schemathesis

    bundle = tmp_path / "openapi.json"
    bundle.write_text(load_spec().bundle_json())
    schema = schemathesis.openapi.from_path(str(bundle))
    assert len(list(schema.get_all_operations())) == len(load_spec().operations)


@pytest.mark.lint
def test_spectral_reports_no_errors() -> None:
    spectral = _need("spectral")
    result = subprocess.run(
        [spectral, "lint", "--fail-severity", "error", "--format", "json", str(SPEC_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=SPEC_PATH.parent.parent,
    )
    problems = json.loads(result.stdout or "[]")
    errors = [p for p in problems if p["severity"] == 0]
    assert result.returncode == 0 and errors == [], errors


@pytest.mark.lint
def test_redocly_reports_no_errors() -> None:
    redocly = _need("redocly")
    result = subprocess.run(
        [redocly, "lint", "--format", "json", str(SPEC_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=SPEC_PATH.parent.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.lint
def test_prism_mocks_the_spec(tmp_path) -> None:  # type: ignore[no-untyped-def]
    prism = _need("prism")
    port = _free_port()
    log = (tmp_path / "prism.log").open("w")
    process = subprocess.Popen(
        [prism, "mock", "--host", "127.0.0.1", "--port", str(port), str(SPEC_PATH)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}{CREATE_TASK}"
        body = load_spec().operation("createTask").request_examples["seed-sample"]
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(url, json=body, headers={"auth": "token"}, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
        assert answer.status_code == 200
        assert answer.json() == load_spec().operation("createTask").response_examples()["seed-sample"]
        rejected = httpx.post(url, json={"caseId": "x"}, headers={"auth": "token"}, timeout=5)
        assert rejected.status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
