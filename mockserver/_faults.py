"""Faults a frontend should survive, all off by default: latency, injected 500/503, the rate limit."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver._config import MockConfig
from mockserver._errors import FAILURES, Kind, Violation
from mockserver._state import StateStore, wall_clock, window_of

_INJECTED = (Kind.INJECTED_ERROR, Kind.INJECTED_UNAVAILABLE)


@dataclass(frozen=True)
class Throttled:
    """A request over the rate limit, and how long the account must wait."""

    violation: Violation
    retry_after: int


class Faults:
    """Draws delays and injected errors (seeded), and counts requests per account against the limit."""

    def __init__(
        self,
        config: MockConfig,
        store: StateStore,
        seed: int,
        documented_limit: Mapping[str, Any] | None = None,
    ) -> None:
        self._latency = config.latency
        self._error_rate = config.error_rate
        self._rate_limit = config.rate_limit
        # The platform's limit as the spec documents it (`info.x-rate-limit`), for the 429's detail.
        self._documented = (
            f"the platform allows {documented_limit.get('requests')} per {documented_limit.get('per')} per "
            f"{documented_limit.get('scope', 'account')}"
            if documented_limit
            else "the platform documents no rate limit"
        )
        self._store = store
        # Seeded so that a single-worker run with --seed injects the same faults on the same requests.
        self._random = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()

    def delay_seconds(self) -> float:
        """The delay to add to this request (0 when --latency is off)."""
        low, high = self._latency.min_ms, self._latency.max_ms
        if high == 0:
            return 0.0
        with self._lock:
            return self._random.uniform(low, high) / 1000.0

    def injected(self, documented: frozenset[int]) -> Violation | None:
        """A 500 or 503 to answer instead of the success, drawn with probability --error-rate.

        Only statuses the operation documents (`documented`) are injected: an operation that documents
        neither gets no fault.
        """
        if self._error_rate <= 0.0:
            return None
        kinds = [kind for kind in _INJECTED if FAILURES[kind].status in documented]
        if not kinds:
            return None
        with self._lock:
            if self._random.random() >= self._error_rate:
                return None
            unavailable = self._random.random() < 0.5
        kind = kinds[-1] if unavailable else kinds[0]
        return Violation(
            kind,
            "fault injected by the mock",
            "",
            f"The mock answers {self._error_rate:.0%} of valid requests with 500 or 503 (--error-rate "
            f"{self._error_rate}). Documented: the platform may answer 500 or 503; retry later.",
        )

    def throttle(self, account_id: str) -> Throttled | None:
        """The 429 for an account over --rate-limit in the current window, else None (and the hit counted)."""
        limit = self._rate_limit
        if limit is None:
            return None
        now = wall_clock()
        window, remaining = window_of(now, limit.per_seconds)
        count = self._store.count_hit(account_id, window)
        if count <= limit.count:
            return None
        retry_after = max(1, math.ceil(remaining))
        return Throttled(
            Violation(
                Kind.RATE_LIMITED,
                f"request {count} of account {account_id} in this window; the limit is {limit}",
                "/header/accountId",
                f"Received: {count} requests from account {account_id} in the current window. Documented: "
                f"{self._documented}; this mock allows {limit} (--rate-limit). Fix: wait "
                f"{retry_after} s (Retry-After) before retrying.",
            ),
            retry_after,
        )
