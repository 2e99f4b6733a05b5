"""generators.__all__ is exactly what the package exports (httpx tests/test_exported_members.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import generators


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(generators) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(generators, name)).__name__ == "module"}
    assert set(generators.__all__) == public - submodules - {"annotations"}


def test_the_promised_api_is_exported() -> None:
    assert set(generators.__all__) == {
        "OPTION_FIELDS",
        "PRIORITIES",
        "Caller",
        "Clock",
        "FrozenClock",
        "IdSource",
        "InvalidRequest",
        "KoreProvider",
        "RequestParameters",
        "SeededIds",
        "account_option",
        "build_case",
        "build_task",
        "build_world",
        "invalid_kinds",
        "invalid_requests",
        "kore_faker",
        "media_types",
        "request_parameters",
        "system_clock",
        "valid_requests",
    }


def test_importing_the_package_in_a_conftest_has_no_hypothesis_side_effects(tmp_path: Path) -> None:
    # contract_tests' pytest plugin imports generators; Hypothesis warns about work done at plugin load.
    (tmp_path / "conftest.py").write_text("import generators\n")
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "", "PYTHONPATH": str(Path(generators.__file__).resolve().parents[1])},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
