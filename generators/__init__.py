"""Kore-style data and Hypothesis strategies of Create a task requests, derived from the spec.

`KoreProvider` / `kore_faker` give realistic, seeded values; `valid_requests` and `invalid_requests`
draw request bodies from the resolved request schema; `build_task` builds the platform's answer.
"""

from __future__ import annotations

from generators._builder import Caller, Clock, FrozenClock, build_task, system_clock
from generators._casework import PRIORITIES
from generators._ids import IdSource, SeededIds
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
