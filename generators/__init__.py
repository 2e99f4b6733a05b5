"""Kore-style data and Hypothesis strategies of Create a task requests, derived from the spec.

`KoreProvider` / `kore_faker` give realistic, seeded values; `valid_requests` and `invalid_requests`
draw request bodies from the resolved request schema; `build_task` builds the platform's answer.

The strategies and the Faker provider are imported on first use: the mock only needs `build_task`,
and Hypothesis and Faker would add about a quarter of a second and 20 MB to every worker (ad hoc: time
and RSS of importing them in a fresh process).
"""

from __future__ import annotations

import importlib
import typing

from generators._builder import Caller, Clock, FrozenClock, build_task, system_clock
from generators._casework import PRIORITIES
from generators._ids import IdSource, SeededIds

if typing.TYPE_CHECKING:
    from generators._invalid import InvalidRequest, invalid_requests
    from generators._provider import KoreProvider, kore_faker
    from generators._valid import valid_requests

__all__ = [
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
]

# Public name -> the private module that defines it, imported when the name is first asked for.
_LAZY = {
    "InvalidRequest": "generators._invalid",
    "invalid_requests": "generators._invalid",
    "KoreProvider": "generators._provider",
    "kore_faker": "generators._provider",
    "valid_requests": "generators._valid",
}


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'generators' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
