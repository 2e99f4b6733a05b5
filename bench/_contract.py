"""The contract tests' throughput against the mock, next to Schemathesis 4's on the same target and spec.

requests/s = requests that reached the mock (its journal, reset before each run) / wall time of the
tool's process, start to exit. The contract tests also print their own count; it is shown beside.
"""

from __future__ import annotations

import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench._servers import _shorten

_CONTRACT_SUMMARY = re.compile(r"(\d+) requests in ([\d.]+) s")


@dataclass(frozen=True)
class ToolRun:
    """One run of one tool."""

    tool: str
    round: int
    wall_s: float
    journaled: int
    self_reported: int | None
    exit_code: int
    display: str

    @property
    def rps(self) -> float:
        """Requests that reached the mock per second of wall time."""
        return self.journaled / self.wall_s if self.wall_s else 0.0


def _admin(base_url: str, method: str, path: str) -> bytes:
    request = urllib.request.Request(base_url + path, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


def journal_count(base_url: str) -> int:
    """Requests to the operation (and any other non-admin path) since the last reset."""
    count: int = orjson.loads(_admin(base_url, "GET", "/__admin/requests?limit=100000000"))["count"]
    return count


def contract_command(base_url: str, stream_id: str, token: str, examples: int, seed: int) -> list[str]:
    """The project's contract tests against `base_url`."""
    return [
        sys.executable, "-m", "contract_tests", "--base-url", base_url, "--stream-id", stream_id,
        "--jwt", token, "--seed", str(seed), "--max-examples", str(examples),
    ]  # fmt: skip


def schemathesis_command(base_url: str, spec_file: Path, token: str, examples: int, seed: int) -> list[str]:
    """Schemathesis 4 with every check, on the bundled spec."""
    binary = Path(sys.executable).with_name("schemathesis")
    return [
        str(binary), "run", str(spec_file), "--url", base_url, "--checks", "all", "-H", f"auth: {token}",
        "--max-examples", str(examples), "--seed", str(seed), "--no-color",
    ]  # fmt: skip


def display(command: list[str], token: str, spec_file: Path | None = None) -> str:
    """The command as a reader would type it: the token as `$JWT`, the bundled spec as `openapi.json`."""
    shown = [Path(part).name if part.endswith("/schemathesis") else part for part in _shorten(command)]
    if spec_file is not None:
        shown = ["openapi.json" if part == str(spec_file) else part for part in shown]
    text = shlex.join(shown)
    return text.replace(f"'auth: {token}'", '"auth: $JWT"').replace(token, '"$JWT"')


def _run(
    tool: str, command: list[str], token: str, spec_file: Path, base_url: str, round_: int, log: Path
) -> ToolRun:
    _admin(base_url, "POST", "/__admin/reset")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr)
    self_reported = None
    match = _CONTRACT_SUMMARY.search(done.stdout + done.stderr) if tool == "contract_tests" else None
    if match:
        self_reported = int(match.group(1))
    shown = display(command, token, spec_file)
    return ToolRun(tool, round_, wall, journal_count(base_url), self_reported, done.returncode, shown)


def compare(
    *,
    base_url: str,
    spec_file: Path,
    token: str,
    stream_id: str,
    examples: int,
    rounds: int,
    log_dir: Path,
    say: Callable[[str], None],
) -> list[ToolRun]:
    """Run both tools `rounds` times, interleaved, against a mock started with a large journal."""
    runs = []
    for index in range(1, rounds + 1):
        for tool, command in (
            ("contract_tests", contract_command(base_url, stream_id, token, examples, index)),
            ("schemathesis", schemathesis_command(base_url, spec_file, token, examples, index)),
        ):
            run = _run(tool, command, token, spec_file, base_url, index, log_dir / f"{tool}-{index}.log")
            say(
                f"  run {index} {tool:<15} {run.journaled:>6} requests in {run.wall_s:6.1f} s = {run.rps:7.1f}/s"
                f"  (exit {run.exit_code}"
                f"{', it counted ' + str(run.self_reported) if run.self_reported is not None else ''})"
            )
            runs.append(run)
    return runs


def render(runs: list[ToolRun]) -> str:
    """Median and spread per tool."""
    lines = [f"{'tool':<15} {'requests/s median [min-max]':>30} {'requests per run':>18} {'wall s':>16}"]
    for tool in ("contract_tests", "schemathesis"):
        mine = [r for r in runs if r.tool == tool]
        rps = [r.rps for r in mine]
        lines.append(
            f"{tool:<15} {statistics.median(rps):>10.1f} [{min(rps):.1f}-{max(rps):.1f}]{'':>4} "
            f"{statistics.median([r.journaled for r in mine]):>18.0f} {statistics.median([r.wall_s for r in mine]):>16.1f}"
        )
    return "\n".join(lines)
