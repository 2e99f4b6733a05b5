"""The project's mock keeps the contract: the default run against it exits 0 within a minute.

The mock is started exactly as `python -m contract_tests --help` shows, so the help's example is
what runs here.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.contract_tests.test_cli import free_port

pytestmark = pytest.mark.http
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_URL = "http://127.0.0.1:4010"


def help_example_lines() -> list[str]:
    """The shell lines of the help's examples, continuation lines joined (the staging one left out)."""
    from contract_tests.__main__ import cli

    text = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    joined = re.sub(r"\\\n\s*", "", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip().startswith(("SECRET=", "python -m "))
    ]


def example(prefix: str) -> list[str]:
    found = [line for line in help_example_lines() if line.startswith(prefix)]
    assert found, f"the help shows no example starting {prefix!r}: {help_example_lines()}"
    return found


SECRET_LINE = example("SECRET=")[0]
SECRET = shlex.split(SECRET_LINE)[0].partition("=")[2]


def shell(script: str) -> list[str]:
    """bash running `script` after the help's SECRET=... line, with this interpreter as `python`."""
    return [
        "bash",
        "-c",
        f"{SECRET_LINE}\nPATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH\n{script}",
    ]


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The mock served by its own command (gunicorn) on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    (serve,) = example("python -m mockserver serve")
    assert "--port 4010" in serve and serve.endswith("&"), serve
    command = serve.removesuffix("&").replace("--port 4010", f"--port {port}")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            shell(f"exec {command}"),
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


def test_the_default_run_against_the_mock_passes(mock_url: str) -> None:
    """The default run (single calls and sequences) finds the mock keeps the contract. How long it takes
    is measured, not asserted (docs/performance.md: `time python -m contract_tests ...`)."""
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
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the contract holds" in done.stdout


def test_the_help_examples_work_against_the_mock(mock_url: str) -> None:
    """Each example of `--help`, as written but with a small budget: what they show is the flags and the
    auth; a whole default run is test_the_default_run_against_the_mock_passes's."""
    runs = example(f"python -m contract_tests --base-url {EXAMPLE_URL}")
    assert len(runs) >= 2 and any("--jwt" in line for line in runs), runs
    for line in runs:
        done = subprocess.run(
            shell(line.replace(EXAMPLE_URL, mock_url) + " --max-examples 10 --sequences 2"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, line + "\n" + done.stdout + done.stderr
        assert "the contract holds" in done.stdout
    assert len(SECRET.encode()) >= 32
