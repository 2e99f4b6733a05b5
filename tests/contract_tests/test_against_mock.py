"""The project's mock keeps the contract: the default run against it exits 0 within a minute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.contract_tests.test_cli import free_port

pytestmark = pytest.mark.http
ROOT = Path(__file__).resolve().parents[2]
SECRET = "contract-tests-mock-secret-0123456789"


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The mock served by its own command (gunicorn) on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--jwt-secret", SECRET],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/__admin/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mock did not start: {log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        # The mock's own process group: gunicorn's master and its workers.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_default_run_against_the_mock_passes_within_a_minute(mock_url: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "contract_tests",
            "--base-url",
            mock_url,
            "--stream-id",
            "st-084d3c5e-376a-559f-9987-a012bb2b0001",
            "--client-id",
            "cs-5f2c9a1e-0000-4000-8000-000000000001",
            "--client-secret",
            SECRET,
            "--account-id",
            "6639f7bd58c97ffac03b0001",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the contract holds" in done.stdout
    assert elapsed < 60, f"the default run took {elapsed:.1f} s"
