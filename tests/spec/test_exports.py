"""Each package's __all__ is what it really exports (httpx tests/test_exported_members.py)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["spec"])
def test_all_is_exactly_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    public = {name for name in dir(module) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(module, name)).__name__ == "module"}
    assert set(module.__all__) == public - submodules - {"annotations"}
