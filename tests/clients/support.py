"""Helpers of the generated-client tests: where the tools are, and running them.

The tools come from the npm registry (openapi-typescript, openapi-fetch, typescript in `.cache/npm`) and PyPI
(openapi-python-client, a dev extra); `bin/test` installs them. Without them the tests skip, except in CI
(`CI` set), where a missing tool fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "npm" / "node_modules"
# The venv's commands first (openapi-python-client runs ruff on what it writes).
_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def missing(reason: str) -> NoReturn:
    """Skip the test, or fail it in CI, where bin/test installs every tool."""
    message = f"{reason} (bin/test installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the generated-client tests", pytrace=False)
    pytest.skip(message)


def tool(name: str) -> str:
    """The path of a command in `.cache/npm`, the venv or the PATH."""
    found = shutil.which(name, path=os.pathsep.join([str(NODE_MODULES / ".bin"), _PATH]))
    if found is None:
        missing(f"{name} is not installed")
    return found


def node_package(name: str) -> Path:
    """A package installed in `.cache/npm`."""
    package = NODE_MODULES / name
    if not (package / "package.json").is_file():
        missing(f"the npm package {name} is not installed in {NODE_MODULES}")
    return package


def run(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command (venv first on PATH); with `ok`, a failure shows everything it printed."""
    done = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PATH": _PATH},
        check=False,
    )
    if ok and done.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False
        )
    return done
