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

    target: str
    tool: str
    round: int
    wall_s: float
    journaled: int
    mock_busy_s: float
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


def journal_entries(base_url: str) -> list[dict[str, object]]:
    """The entries the mock's journal keeps (its last --journal-size requests)."""
    journal = orjson.loads(_admin(base_url, "GET", "/__admin/requests"))
    return list(journal.get("requests", []))


def journal_count(base_url: str) -> tuple[int, float]:
    """Requests to the operation (and other non-admin paths) since the last reset, and the seconds the
    mock spent answering them (the sum of the journal's `ms`)."""
    journal = orjson.loads(_admin(base_url, "GET", "/__admin/requests?limit=100000000"))
    return int(journal["count"]), sum(float(e.get("ms") or 0) for e in journal["requests"]) / 1000


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
    target: str,
    tool: str,
    command: list[str],
    token: str,
    spec_file: Path,
    base_url: str,
    round_: int,
    log: Path,
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
    count, busy = journal_count(base_url)
    return ToolRun(target, tool, round_, wall, count, busy, self_reported, done.returncode, shown)


def compare(
    *,
    targets: dict[str, str],
    spec_file: Path,
    token: str,
    stream_id: str,
    examples: int,
    rounds: int,
    log_dir: Path,
    say: Callable[[str], None],
) -> list[ToolRun]:
    """Run both tools `rounds` times against each target (name -> base URL), all interleaved."""
    runs = []
    for index in range(1, rounds + 1):
        for target, base_url in targets.items():
            for tool, command in (
                ("contract_tests", contract_command(base_url, stream_id, token, examples, index)),
                ("schemathesis", schemathesis_command(base_url, spec_file, token, examples, index)),
            ):
                log = log_dir / f"{target}-{tool}-{index}.log"
                run = _run(target, tool, command, token, spec_file, base_url, index, log)
                say(
                    f"  run {index} {target:<9} {tool:<15} {run.journaled:>6} requests in {run.wall_s:6.1f} s "
                    f"= {run.rps:7.1f}/s; pipeline {run.mock_busy_s:5.2f} s  (exit {run.exit_code}"
                    f"{', it counted ' + str(run.self_reported) if run.self_reported is not None else ''})"
                )
                runs.append(run)
    return runs


def render(runs: list[ToolRun]) -> str:
    """Median and spread per target and tool."""
    lines = [
        f"{'target':<9} {'tool':<15} {'requests/s median [min-max]':>30} {'requests/run':>13} {'wall s':>7} "
        f"{'pipeline':>10}"
    ]
    for target in dict.fromkeys(r.target for r in runs):
        for tool in ("contract_tests", "schemathesis"):
            mine = [r for r in runs if r.target == target and r.tool == tool]
            rps = [r.rps for r in mine]
            busy = statistics.median([r.mock_busy_s / r.wall_s for r in mine])
            lines.append(
                f"{target:<9} {tool:<15} {statistics.median(rps):>10.1f} [{min(rps):.1f}-{max(rps):.1f}]{'':>6} "
                f"{statistics.median([r.journaled for r in mine]):>13.0f} "
                f"{statistics.median([r.wall_s for r in mine]):>7.1f} {busy:>9.0%}"
            )
    return "\n".join(lines)
