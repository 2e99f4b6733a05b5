"""`MockConfig`: everything the mock can be told, from options or `KORE_MOCK_*` environment variables."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mockserver._errors import ConfigError

ENV_PREFIX = "KORE_MOCK_"
KIB = 1024
MIB = 1024 * KIB
_UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_SIZE = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>|b|k|kb|kib|m|mb|mib)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB}
LOG_LEVELS = ("debug", "info", "warning", "error")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Latency:
    """Added delay per request, uniformly drawn from [min_ms, max_ms]."""

    min_ms: int = 0
    max_ms: int = 0

    def __str__(self) -> str:
        return f"{self.min_ms}" if self.min_ms == self.max_ms else f"{self.min_ms}-{self.max_ms}"


@dataclass(frozen=True)
class RateLimit:
    """At most `count` requests per account in each window of `per_seconds`."""

    count: int
    per_seconds: int = 60

    def __str__(self) -> str:
        unit = {1: "s", 60: "min", 3600: "h"}.get(self.per_seconds, f"{self.per_seconds}s")
        return f"{self.count}/{unit}"


@dataclass(frozen=True)
class MockConfig:
    """How the mock behaves; frozen, built once and handed to `create_app`.

    Example:
        >>> config = MockConfig(seed=7, freeze_time=parse_instant("2025-06-04T10:18:00.725Z"))
        >>> config.port
        4010
    """

    host: str = "127.0.0.1"
    port: int = 4010
    workers: int = 2
    threads: int = 4
    seed: int | None = None
    jwt_secret: str | None = field(default=None, repr=False)
    state_file: Path | None = None
    body_limit: int = MIB
    header_limit: int = 64 * KIB
    latency: Latency = Latency()
    error_rate: float = 0.0
    rate_limit: RateLimit | None = None
    cors_origins: tuple[str, ...] = ("*",)
    freeze_time: datetime | None = None
    spec_path: Path | None = None
    journal_size: int = 1000
    log_level: str = "info"

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, "port", self.port, "an integer from 0 to 65535")
        require(self.workers >= 1, "workers", self.workers, "at least 1")
        require(self.threads >= 1, "threads", self.threads, "at least 1")
        require(
            self.jwt_secret is None or self.jwt_secret != "",
            "jwt_secret",
            "an empty secret",
            "the app's client secret, or no --jwt-secret to accept any well-formed token",
        )
        require(self.body_limit >= 1, "body_limit", self.body_limit, "a positive number of bytes")
        require(self.header_limit >= 1 * KIB, "header_limit", self.header_limit, "at least 1 KiB")
        require(0.0 <= self.error_rate <= 1.0, "error_rate", self.error_rate, "a fraction from 0 to 1")
        require(
            0 <= self.latency.min_ms <= self.latency.max_ms,
            "latency",
            self.latency,
            "MS or MIN-MAX milliseconds with MIN <= MAX",
        )
        require(self.journal_size >= 1, "journal_size", self.journal_size, "at least 1")
        require(self.log_level in LOG_LEVELS, "log_level", self.log_level, f"one of {', '.join(LOG_LEVELS)}")
        require(bool(self.cors_origins), "cors_origins", self.cors_origins, "at least one origin, or *")
        if self.rate_limit is not None:
            require(self.rate_limit.count >= 1, "rate_limit", self.rate_limit, "N/min with N >= 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> MockConfig:
        """Defaults, then `KORE_MOCK_*` variables, then `overrides` (options given on the command line).

        An override of None is applied too (`--rate-limit off` must beat `KORE_MOCK_RATE_LIMIT`), so pass
        only the fields that were really given.
        """
        values = read_env(SETTINGS, environ)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def require(ok: bool, name: str, received: object, expected: str) -> None:
    """A ConfigError naming the field, what it received and what it expects, unless `ok`."""
    if not ok:
        raise ConfigError(name, str(received), expected)


def parse_int(raw: str, name: str = "value") -> int:
    """An integer, or a ConfigError naming the setting."""
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(name, raw, "an integer") from None


def parse_float(raw: str, name: str = "value") -> float:
    """A number, or a ConfigError naming the setting."""
    try:
        return float(raw.strip())
    except ValueError:
        raise ConfigError(name, raw, "a number such as 0.05") from None


def parse_size(raw: str, name: str = "size") -> int:
    """Bytes from `1048576`, `512KiB` or `1MiB`."""
    match = _SIZE.match(raw)
    if not match:
        raise ConfigError(name, raw, "a size in bytes such as 1048576, 512KiB or 1MiB")
    return int(match["n"]) * _SIZE_UNITS[match["unit"].lower()]


def parse_latency(raw: str, name: str = "latency") -> Latency:
    """`250` or `100-300` milliseconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?(?:ms)?\s*", raw)
    if not match:
        raise ConfigError(name, raw, "MS or MIN-MAX milliseconds, for example 200 or 100-300")
    low = int(match[1])
    high = int(match[2]) if match[2] is not None else low
    if high < low:
        raise ConfigError(name, raw, "MIN-MAX with MIN <= MAX")
    return Latency(low, high)


def parse_rate_limit(raw: str, name: str = "rate_limit") -> RateLimit | None:
    """`60/min`, `5/s`, `1000/h`; `0` or `off` turns the limit off."""
    text = raw.strip().lower()
    if text in ("", "0", "off", "none"):
        return None
    match = re.fullmatch(r"(\d+)\s*(?:/\s*([a-z]+))?", text)
    if not match or (match[2] is not None and match[2] not in _UNITS) or int(match[1]) < 1:
        raise ConfigError(name, raw, "N/min, N/s or N/h with N >= 1 (the platform allows 60/min), or off")
    return RateLimit(int(match[1]), _UNITS[match[2] or "min"])


def parse_instant(raw: str, name: str = "freeze_time") -> datetime:
    """An ISO 8601 instant; `Z` or an offset, naive means UTC."""
    try:
        instant = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(name, raw, "an ISO 8601 instant such as 2025-06-04T10:18:00.725Z") from None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def parse_origins(raw: str, name: str = "cors_origins") -> tuple[str, ...]:
    """Comma-separated origins, or `*`."""
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    if not origins:
        raise ConfigError(name, raw, "comma-separated origins such as http://localhost:3000, or *")
    return origins


def parse_level(raw: str, name: str = "log_level") -> str:
    """A logging level name."""
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        raise ConfigError(name, raw, f"one of {', '.join(LOG_LEVELS)}")
    return level


def parse_bool(raw: str, name: str = "value") -> bool:
    """`1/true/yes/on` or `0/false/no/off`."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(name, raw, "true or false (1/0, yes/no, on/off)")


def parse_seconds(raw: str, name: str = "timeout") -> float:
    """A positive number of seconds, `2.5` or `2.5s`."""
    value = parse_float(raw.strip().removesuffix("s"), name)
    if value <= 0:
        raise ConfigError(name, raw, "a positive number of seconds such as 30 or 2.5")
    return value


def parse_str(raw: str, name: str = "value") -> str:
    """The value as given."""
    return raw


def parse_stripped(raw: str, name: str = "value") -> str:
    """The value without surrounding white space."""
    return raw.strip()


def parse_path(raw: str, name: str = "path") -> Path:
    """A path; `~` is the user's home."""
    return Path(raw).expanduser()


@dataclass(frozen=True)
class Setting:
    """One configurable field: its environment variable, parser and help line."""

    field: str
    parse: Callable[[str, str], Any]
    help: str
    example: str
    prefix: str = ENV_PREFIX

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return self.prefix + self.field.upper()


def read_env(settings: Iterable[Setting], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The fields set by non-empty environment variables (`os.environ` by default), parsed."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in settings:
        raw = environ.get(setting.env)
        if raw is not None and raw != "":
            values[setting.field] = setting.parse(raw, setting.env)
    return values


# Read by `from_env`, the CLI's --help and the README's table alike, so the three never disagree.
SETTINGS: tuple[Setting, ...] = (
    Setting("host", parse_str, "interface to bind (loopback by default)", "127.0.0.1"),
    Setting("port", parse_int, "port to listen on", "4010"),
    Setting("workers", parse_int, "gunicorn worker processes", "2"),
    Setting("threads", parse_int, "threads per worker", "4"),
    Setting("seed", parse_int, "seed of every generated value; same seed, same answers", "42"),
    Setting(
        "jwt_secret", parse_str, "verify the auth JWT's HS256 signature with this client secret", "s3cr3t..."
    ),
    Setting(
        "state_file",
        parse_path,
        "SQLite file of the journal and refId counters (kept across restarts)",
        "mock.sqlite3",
    ),
    Setting("body_limit", parse_size, "largest accepted body; larger answers 413", "1MiB"),
    Setting("header_limit", parse_size, "largest accepted header section; larger answers 431", "64KiB"),
    Setting("latency", parse_latency, "added delay per request, MS or MIN-MAX", "100-300"),
    Setting("error_rate", parse_float, "fraction of valid requests answered 500/503", "0.05"),
    Setting(
        "rate_limit", parse_rate_limit, "requests per account per window, answered 429 above it", "60/min"
    ),
    Setting(
        "cors_origins", parse_origins, "allowed browser origins, comma-separated", "http://localhost:3000"
    ),
    Setting("freeze_time", parse_instant, "fix the clock of created tasks", "2025-06-04T10:18:00.725Z"),
    Setting(
        "spec_path", parse_path, "the contract to serve (default: the bundled spec)", "spec/openapi.yaml"
    ),
    Setting("journal_size", parse_int, "requests kept in the journal", "1000"),
    Setting("log_level", parse_level, "debug, info, warning or error", "info"),
)
