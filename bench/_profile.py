"""py-spy on the mock's workers under load, and a summary of where their time goes.

py-spy samples every worker (`--subprocesses`) without pausing them (`--nonblocking`) and writes
collapsed stacks (one line per distinct stack: frames separated by `;`, then the sample count). The
summary charges each sample to the innermost frame of the project's own code (mockserver, generators,
spec), so the library time a project function causes (jsonschema under the self-check, sqlite3 under
the journal) is counted against it; samples with no project frame are charged to the library they
are in (gunicorn, werkzeug, flask...).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PROJECT = ("mockserver/", "generators/", "spec/")
_LIBRARIES = (
    "gunicorn",
    "werkzeug",
    "flask_cors",
    "flask",
    "openapi_core",
    "jsonschema_path",
    "pathable",
    "jsonschema",
    "referencing",
    "openapi_schema_validator",
    "jwt",
    "logging",
    "sqlite3",
    "selectors",
    "socket",
    "ssl",
    "threading",
    "concurrent",
    "email",
    "http",
)
# Project functions whose inclusive share is worth a line of its own: the stages of a request.
STAGES = (
    ("mockserver/_app.py", "handle", "handle(): limits, route, content type, auth, validation, build"),
    ("mockserver/_auth.py", "authenticate", "auth (JWT)"),
    ("mockserver/_validation.py", "request_violations", "request validation (openapi-core)"),
    ("mockserver/_validation.py", "parse_body", "body parse (orjson)"),
    ("generators/_builder.py", "build_task", "build_task (incl. refId counter)"),
    ("mockserver/_state.py", "next_ref_number", "refId counter (SQLite)"),
    ("mockserver/_app.py", "respond", "respond: self-check, journal, log"),
    ("mockserver/_validation.py", "answer_problems", "response self-check"),
    ("mockserver/_app.py", "_journal", "journal entry (incl. SQLite)"),
    ("mockserver/_state.py", "record", "journal insert (SQLite)"),
    ("logging/__init__.py", "info", "per-request log line"),
)


def record_command(pid: int, out: Path, duration_s: float, *, gil: bool = True) -> list[str]:
    """py-spy record of every worker of gunicorn master `pid`, as collapsed stacks.

    With `gil`, only the thread holding the GIL is sampled: the Python CPU time of each worker.
    Without, every thread that is not idle: waits on locks, SQLite and sockets show up too.
    """
    spy = Path(sys.executable).with_name("py-spy")
    return [
        str(spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", "250",
        *(["--gil"] if gil else []), "--duration", str(int(duration_s)), "--format", "raw", "--output", str(out),
    ]  # fmt: skip


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part)
        if match:
            frames.append((match["func"], match["file"]))
    return frames


def _named(func: str, name: str) -> bool:
    """py-spy names methods `Class.method`."""
    return func == name or func.endswith("." + name)


def _is_server_loop(func: str, file: str) -> bool:
    """The frames under which gunicorn runs (serve -> run -> arbiter -> worker): not request code."""
    return file.endswith(("mockserver/_serve.py", "mockserver/__main__.py", "bench/_variant.py")) or (
        file.endswith("mockserver/__main__.py")
    )


def _short(file: str) -> str:
    for marker in _PROJECT:
        index = file.rfind(marker)
        if index >= 0:
            return file[index:]
    return file


def _library(file: str) -> str:
    parts = re.split(r"[/\\]", file)
    for name in _LIBRARIES:
        if name in parts or f"{name}.py" in parts:
            return name
    return parts[-1] if parts else file


@dataclass
class ProfileSummary:
    """Samples charged to project functions and libraries, and the stages' inclusive shares."""

    total: int
    charged: Counter[str]
    stages: list[tuple[str, int]]

    def render(self, top: int = 16) -> str:
        """Two small tables, in percent of all samples of the workers."""
        if not self.total:
            return "  no samples (were the workers busy?)"
        lines = [f"  {self.total} samples of busy worker threads", "  inclusive share of request stages:"]
        lines += [f"    {share / self.total:6.1%}  {name}" for name, share in self.stages]
        shares = dict(self.stages)
        outside = (
            self.total - shares.get(STAGES[0][2], 0) - shares.get("respond: self-check, journal, log", 0)
        )
        lines.append(
            f"    {outside / self.total:6.1%}  outside handle() and respond(): gunicorn, Flask, werkzeug, CORS"
        )
        lines.append(
            "  self time, charged to the innermost project function (or the library, outside the project):"
        )
        lines += [f"    {count / self.total:6.1%}  {name}" for name, count in self.charged.most_common(top)]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """For --json."""
        return {
            "samples": self.total,
            "stages": {name: count / self.total for name, count in self.stages} if self.total else {},
            "charged": {name: count / self.total for name, count in self.charged.most_common(30)}
            if self.total
            else {},
        }


def summarize(collapsed: str) -> ProfileSummary:
    """Summarize py-spy's collapsed stacks."""
    total = 0
    charged: Counter[str] = Counter()
    stage_counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        owner = None
        for func, file in reversed(frames):
            if any(marker in file for marker in _PROJECT) and not _is_server_loop(func, file):
                owner = f"{_short(file)}:{func}"
                break
        if owner is None:
            func, file = frames[-1]
            owner = f"[{_library(file)}] {func}"
        charged[owner] += count
        seen = set()
        for file_end, func_name, label in STAGES:
            if label in seen:
                continue
            if any(_named(func, func_name) and file.endswith(file_end) for func, file in frames):
                stage_counts[label] += count
                seen.add(label)
    stages = [(label, stage_counts[label]) for _, _, label in STAGES]
    return ProfileSummary(total, charged, stages)
