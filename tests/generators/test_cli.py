"""`python -m generators`: same seed, byte-identical JSON lines; `--help` shows working examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generators.__main__ import cli
from spec import load_spec
from tests.generators.helpers import request_errors, task_errors

CONTRACT = load_spec()
OPERATION = CONTRACT.operation("createTask")
ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "requests": ["requests", "--count", "12", "--seed", "5"],
    "edge-cases": ["requests", "--count", "12", "--seed", "5", "--style", "edge-cases"],
    "invalid": ["requests", "--count", "12", "--seed", "5", "--invalid"],
    "tasks": ["tasks", "--count", "6", "--seed", "5"],
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, list[bytes]]:
    """Each command run twice as a subprocess, all at once (fresh interpreters, fresh hash seeds)."""
    # The repository root, where Hypothesis keeps its Unicode tables: a fresh directory rebuilds them.
    where = ROOT
    running = {
        (name, run): subprocess.Popen(
            [sys.executable, "-m", "generators", *args],
            cwd=where,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "", "PYTHONPATH": str(ROOT)},
        )
        for name, args in COMMANDS.items()
        for run in range(2)
    }
    results: dict[str, list[bytes]] = {}
    for (name, _), process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        results.setdefault(name, []).append(out)
    return results


@pytest.mark.parametrize("name", ["requests", "edge-cases", "invalid", "tasks"])
def test_same_seed_gives_byte_identical_output(outputs: dict[str, list[bytes]], name: str) -> None:
    first, second = outputs[name]
    assert first == second and first


def test_another_seed_gives_other_output(outputs: dict[str, list[bytes]]) -> None:
    result = CliRunner().invoke(cli, ["requests", "--count", "12", "--seed", "6"])
    assert result.exit_code == 0
    assert result.output.encode() != outputs["requests"][0]


def test_lines_are_what_they_claim(outputs: dict[str, list[bytes]]) -> None:
    for style in ("requests", "edge-cases"):
        requests = [json.loads(line) for line in outputs[style][0].splitlines()]
        assert len(requests) == 12
        for body in requests:
            assert request_errors(CONTRACT, json.dumps(body).encode()) == []
    # The default is for fixtures: no zero-filled ids, no properties the spec does not list.
    documented = set(OPERATION.request_schema["properties"])
    for body in (json.loads(line) for line in outputs["requests"][0].splitlines()):
        assert "0000000-0000" not in body["caseId"] and set(body) <= documented, body
    tasks = [json.loads(line) for line in outputs["tasks"][0].splitlines()]
    assert len(tasks) == 6 and len({t["refId"] for t in tasks}) == 6
    for task in tasks:
        assert task_errors(CONTRACT, task) == []
    for line in outputs["invalid"][0].splitlines():
        bad = json.loads(line)
        body = None if bad["body"] is None else bad["body"].encode()
        assert request_errors(CONTRACT, body, bad["content_type"]) != [], bad["rule"]
        assert {"rule", "kind", "pointer", "basis", "description", "expected_statuses"} <= set(bad)


@pytest.mark.parametrize("args", [["--help"], ["requests", "--help"], ["tasks", "--help"]])
def test_help_shows_examples(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    assert "Examples:" in result.output and "python -m generators " in result.output


def test_bad_count_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["requests", "--count", "0"])
    assert result.exit_code == 2 and "count" in result.output
