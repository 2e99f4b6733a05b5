"""Kore-style data and Hypothesis strategies of the contract's requests, per operation, derived from the spec.

`KoreProvider` / `kore_faker` give realistic, seeded values; `valid_requests` and `invalid_requests`
draw request bodies from an operation's request schema (`invalid_kinds` lists the kinds it yields),
`request_parameters` its path and header values and `media_types` its Content-Type values;
`build_task` and `build_case` build the platform's answers to the operations that create a task
and a case; `build_world` a document of cases with their tasks (the spec's `World`).

The strategies and the Faker provider are imported on first use: the mock only needs `build_task`,
and Hypothesis and Faker would add about a quarter of a second and 20 MB to every worker (ad hoc: time
and RSS of importing them in a fresh process).
"""

from __future__ import annotations

import importlib
import typing

from generators._builder import Caller, Clock, FrozenClock, build_task, system_clock
from generators._cases import build_case
from generators._casework import PRIORITIES
from generators._ids import IdSource, SeededIds
from generators._options import OPTION_FIELDS, account_option

if typing.TYPE_CHECKING:
    from generators._invalid import InvalidRequest, invalid_kinds, invalid_requests
    from generators._parameters import RequestParameters, media_types, request_parameters
    from generators._provider import KoreProvider, kore_faker
    from generators._valid import valid_requests
    from generators._world import build_world

__all__ = [
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
]

# Public name -> the private module that defines it, imported when the name is first asked for.
_LAZY = {
    "InvalidRequest": "generators._invalid",
    "invalid_requests": "generators._invalid",
    "invalid_kinds": "generators._invalid",
    "RequestParameters": "generators._parameters",
    "media_types": "generators._parameters",
    "request_parameters": "generators._parameters",
    "KoreProvider": "generators._provider",
    "kore_faker": "generators._provider",
    "valid_requests": "generators._valid",
    "build_world": "generators._world",
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
