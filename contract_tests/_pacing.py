"""Pacing for real servers: loopback detection, a token bucket per rate limit, and the run's time budget."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from contract_tests._errors import ConfigError
from spec import Rate
from spec._rate import RATE_GRAMMAR

# The platform allows 60 Case Management requests per minute per account (spec: info.x-rate-limit);
# one a second keeps a run under that even when the account is used by nothing else.
DEFAULT_REMOTE_RATE = 1.0


def parse_rate_limit(text: str) -> float | None:
    """Requests per second from a rate in the one grammar (`spec.Rate`: `N/s`, `N/min`, `N/h`, a bare
    `N` per minute); None for no limit (`0`, `none`, `off`).

    Example:
        >>> parse_rate_limit("60/min"), parse_rate_limit("60"), parse_rate_limit("2/s"), parse_rate_limit("none")
        (1.0, 1.0, 2.0, None)
    """
    try:
        rate = Rate.parse(text)
    except ValueError:
        raise ConfigError("--rate-limit", repr(text), f"{RATE_GRAMMAR}, e.g. 1/s or 60/min") from None
    return None if rate is None else rate.per_second


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1), decided without DNS."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BudgetExhausted(Exception):
    """The run's `--max-time` is spent; raised inside the run, never out of it."""


@dataclass
class Budget:
    """The run's wall-clock budget (`--max-time`)."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    @property
    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.seconds - self.elapsed)

    @property
    def exhausted(self) -> bool:
        """Whether no time is left."""
        return self.remaining <= 0.0

    def sleep(self, seconds: float) -> None:
        """Sleep, or raise BudgetExhausted when the wait would outlast the budget."""
        if seconds > self.remaining:
            time.sleep(self.remaining)
            raise BudgetExhausted
        if seconds > 0:
            time.sleep(seconds)


class TokenBucket:
    """At most `rate` requests a second, with no burst: a real server's limit is per minute, not per instant."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._next = clock()
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Reserve the next slot; the seconds to wait before using it."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
            return slot - now


def retry_after_seconds(value: str | None, attempt: int) -> float:
    """Seconds to wait after a 429: the `Retry-After` header (seconds or HTTP date), else a doubling backoff."""
    if value:
        text = value.strip()
        if text.isdigit():
            return float(text)
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            pass
        else:
            return max(0.0, when.timestamp() - time.time())
    return float(min(30, 2**attempt))
