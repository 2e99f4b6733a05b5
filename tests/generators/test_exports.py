"""generators.__all__ is exactly what the package exports (httpx tests/test_exported_members.py)."""

from __future__ import annotations

import generators


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(generators) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(generators, name)).__name__ == "module"}
    assert set(generators.__all__) == public - submodules - {"annotations"}


def test_the_promised_api_is_exported() -> None:
    assert set(generators.__all__) == {
        "PRIORITIES",
        "Caller",
        "Clock",
        "FrozenClock",
        "IdSource",
        "InvalidRequest",
        "KoreProvider",
        "SeededIds",
        "build_task",
        "invalid_requests",
        "kore_faker",
        "system_clock",
        "valid_requests",
    }
