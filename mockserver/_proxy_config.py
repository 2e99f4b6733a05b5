"""`ProxyConfig`: everything the validation proxy can be told, from options or `KORE_PROXY_*` variables.

Kept apart from `_proxy.py` so that the command line can build its `--help` without importing the
proxy's HTTP machinery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockserver._config import (
    LOG_LEVELS,
    MIB,
    Setting,
    parse_bool,
    parse_int,
    parse_level,
    parse_origins,
    parse_path,
    parse_seconds,
    parse_size,
    parse_stripped,
    read_env,
    require,
)
from mockserver._errors import ConfigError

PROXY_ENV_PREFIX = "KORE_PROXY_"


@dataclass(frozen=True)
class ProxyConfig:
    """How the proxy behaves; frozen, built once and handed to `create_proxy_app`.

    Example:
        >>> ProxyConfig(upstream="http://127.0.0.1:8080").port
        4011
    """

    upstream: str
    host: str = "127.0.0.1"
    port: int = 4011
    workers: int = 2
    # The proxy mostly waits on the upstream, so a worker holds more requests in flight than the mock's.
    threads: int = 8
    strict: bool = False
    timeout: float = 30.0
    # Ten times the mock's: the proxy fronts implementations whose own limit it does not know, and
    # should let them answer for themselves; the limit only keeps a huge body out of memory.
    body_limit: int = 10 * MIB
    state_file: Path | None = None
    cors_origins: tuple[str, ...] = ("*",)
    spec_path: Path | None = None
    journal_size: int = 1000
    log_level: str = "info"

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        require(
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not parts.query
            and not parts.fragment,
            "upstream",
            self.upstream,
            "an http:// or https:// URL with a host and no query, such as http://127.0.0.1:8080",
        )
        require(0 <= self.port <= 65535, "port", self.port, "an integer from 0 to 65535")
        require(self.workers >= 1, "workers", self.workers, "at least 1")
        require(self.threads >= 1, "threads", self.threads, "at least 1")
        require(self.timeout > 0, "timeout", self.timeout, "a positive number of seconds")
        require(self.body_limit >= 1, "body_limit", self.body_limit, "a positive number of bytes")
        require(self.journal_size >= 1, "journal_size", self.journal_size, "at least 1")
        require(self.log_level in LOG_LEVELS, "log_level", self.log_level, f"one of {', '.join(LOG_LEVELS)}")
        require(bool(self.cors_origins), "cors_origins", self.cors_origins, "at least one origin, or *")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ProxyConfig:
        """Defaults, then `KORE_PROXY_*` variables, then `overrides` (options given on the command line)."""
        values = read_env(PROXY_SETTINGS, environ)
        values.update(overrides)
        if not values.get("upstream"):
            raise ConfigError(
                "upstream", "nothing", "--upstream URL or KORE_PROXY_UPSTREAM, such as http://127.0.0.1:8080"
            )
        return cls(**values)

    def replace(self, **changes: Any) -> ProxyConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# A `Setting` read from a `KORE_PROXY_*` variable.
ProxySetting = partial(Setting, prefix=PROXY_ENV_PREFIX)


# Read by `from_env` and the command's --help alike, so the two never disagree.
PROXY_SETTINGS: tuple[Setting, ...] = (
    ProxySetting("upstream", parse_stripped, "the implementation to forward to", "http://127.0.0.1:8080"),
    ProxySetting("host", parse_stripped, "interface to bind (loopback by default)", "127.0.0.1"),
    ProxySetting("port", parse_int, "port to listen on", "4011"),
    ProxySetting("workers", parse_int, "gunicorn worker processes", "2"),
    ProxySetting("threads", parse_int, "threads per worker", "8"),
    ProxySetting("strict", parse_bool, "answer invalid requests 400/401 instead of forwarding them", "1"),
    ProxySetting("timeout", parse_seconds, "seconds to wait for the upstream before answering 504", "30"),
    ProxySetting(
        "body_limit", parse_size, "largest request body forwarded; a larger one is answered 413", "20MiB"
    ),
    ProxySetting(
        "state_file",
        parse_path,
        "SQLite file of the journal and the ids seen (the mock's format)",
        "proxy.sqlite3",
    ),
    ProxySetting(
        "cors_origins", parse_origins, "allowed browser origins, comma-separated", "http://localhost:3000"
    ),
    ProxySetting(
        "spec_path", parse_path, "the contract to check against (default: bundled)", "spec/openapi.yaml"
    ),
    ProxySetting("journal_size", parse_int, "requests kept in the journal", "1000"),
    ProxySetting("log_level", parse_level, "debug, info, warning or error", "info"),
)
