"""One grammar for request rates, read the same way by the mock, the proxy, the contract tests and the bench.

`N/s`, `N/min`, `N/h` (also `sec`, `second`, `m`, `minute`, `hour`); a bare `N` is per minute, the unit
of the platform's documented limit (`info.x-rate-limit`: 60 per minute per account); `0`, `off`,
`none` or `unlimited` mean no limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}
_NAMES = {1: "s", 60: "min", 3600: "h"}
_RATE = re.compile(r"(?P<count>\d+(?:\.\d+)?)\s*(?:/\s*(?P<unit>[a-z]+))?")
_OFF = frozenset({"0", "off", "none", "unlimited"})
RATE_GRAMMAR = "N/s, N/min or N/h (a bare N is per minute), or off"


@dataclass(frozen=True)
class Rate:
    """At most `count` requests in each window of `per_seconds`.

    Example:
        >>> Rate.parse("60/min"), Rate.parse("60"), Rate.parse("2/s").per_second, Rate.parse("off")
        (Rate(count=60, per_seconds=60), Rate(count=60, per_seconds=60), 2.0, None)
    """

    count: float
    per_seconds: int = 60

    @property
    def per_second(self) -> float:
        """Requests per second."""
        return self.count / self.per_seconds

    def __str__(self) -> str:
        count = int(self.count) if float(self.count).is_integer() else self.count
        return f"{count}/{_NAMES.get(self.per_seconds, f'{self.per_seconds}s')}"

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """A rate in the one grammar; None for no limit; ValueError saying the grammar otherwise."""
        cleaned = text.strip().lower()
        if cleaned in _OFF or re.fullmatch(r"0+(?:\.0+)?\s*/\s*[a-z]+", cleaned):
            return None
        match = _RATE.fullmatch(cleaned)
        if match is None or (match["unit"] is not None and match["unit"] not in _UNITS):
            raise ValueError(f"rate {text!r} is not {RATE_GRAMMAR}, for example 60/min or 1/s")
        count = float(match["count"])
        if count <= 0:
            raise ValueError(f"rate {text!r} must be positive ({RATE_GRAMMAR})")
        return cls(int(count) if count.is_integer() else count, _UNITS[match["unit"] or "min"])
