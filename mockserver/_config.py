"""The mock's and the proxy's settings: one table of server settings, read by options and variables alike.

`ServerConfig` holds what every server of this package is told (where it listens, its workers, the
body limit, CORS, the state file, the contract, the journal, the log); `MockConfig` and `ProxyConfig`
add their own fields. Each field has one `Setting`: its parser, help line and example. The command
line declares its options from the table with click's own `envvar=` and `show_default=` (`KORE_MOCK_*`
for the mock, `KORE_PROXY_*` for the proxy), and `from_env` reads the same variables with the same
parsers, so the options, the variables, `--help` and the README's table never disagree.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import click

from mockserver._errors import ConfigError
from spec import ContractSpec, Rate

KIB = 1024
MIB = 1024 * KIB
_SIZE = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>|b|k|kb|kib|m|mb|mib)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB}
LOG_LEVELS = ("debug", "info", "warning", "error")
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})

# The mock's limit follows the one grammar of rates (`60`, `60/min`, `1/s`, `off`): it is a `spec.Rate`.
RateLimit = Rate

_Config = TypeVar("_Config", bound="ServerConfig")


@dataclass(frozen=True)
class Latency:
    """Added delay per request, uniformly drawn from [min_ms, max_ms]."""

    min_ms: int = 0
    max_ms: int = 0

    def __str__(self) -> str:
        return f"{self.min_ms}" if self.min_ms == self.max_ms else f"{self.min_ms}-{self.max_ms}"


# -- parsers: text in, value out, or ValueError saying what is expected --------------------------------


def parse_int(raw: str) -> int:
    """An integer."""
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("an integer") from None


def parse_float(raw: str) -> float:
    """A number."""
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError("a number such as 0.05") from None


def parse_size(raw: str) -> int:
    """Bytes from `1048576`, `512KiB` or `1MiB`."""
    match = _SIZE.match(raw)
    if not match:
        raise ValueError("a size in bytes such as 1048576, 512KiB or 1MiB")
    return int(match["n"]) * _SIZE_UNITS[match["unit"].lower()]


def human_size(size: int) -> str:
    """Bytes as the size options take them: `10MiB`, `512KiB`, `1000`."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size and size % unit == 0:
            return f"{size // unit}{name}"
    return str(size)


def parse_latency(raw: str) -> Latency:
    """`250` or `100-300` milliseconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?(?:ms)?\s*", raw)
    if not match:
        raise ValueError("MS or MIN-MAX milliseconds, for example 200 or 100-300")
    low = int(match[1])
    high = int(match[2]) if match[2] is not None else low
    if high < low:
        raise ValueError("MIN-MAX with MIN <= MAX")
    return Latency(low, high)


def parse_rate(raw: str) -> Rate | None:
    """A rate in the one grammar (`spec.Rate`): `60/min`, `1/s`, `1000/h`, a bare N per minute; `off`."""
    try:
        return Rate.parse(raw)
    except ValueError as exc:
        raise ValueError(f"{exc}; the platform allows 60/min") from None


def documented_rate(contract: ContractSpec) -> Rate | None:
    """The platform's documented limit (`info.x-rate-limit`, e.g. 60 per minute) in the one grammar, or None."""
    limit = contract.rate_limit
    if not limit:
        return None
    return Rate.parse(f"{limit['requests']}/{limit['per']}")


def parse_instant(raw: str) -> datetime:
    """An ISO 8601 instant; `Z` or an offset, naive means UTC."""
    try:
        instant = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("an ISO 8601 instant such as 2025-06-04T10:18:00.725Z") from None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def parse_origin(raw: str) -> str:
    """One browser origin, or `*`."""
    origin = raw.strip()
    if not origin:
        raise ValueError("an origin such as http://localhost:3000, or *")
    return origin


def parse_level(raw: str) -> str:
    """A logging level name."""
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
    return level


def parse_bool(raw: str) -> bool:
    """`1/true/yes/on` or `0/false/no/off`."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("true or false (1/0, yes/no, on/off)")


def parse_seconds(raw: str) -> float:
    """A positive number of seconds, `2.5` or `2.5s`."""
    value = parse_float(raw.strip().removesuffix("s"))
    if value <= 0:
        raise ValueError("a positive number of seconds such as 30 or 2.5")
    return value


def parse_str(raw: str) -> str:
    """The value without surrounding white space."""
    return raw.strip()


def parse_secret(raw: str) -> str:
    """The value as given (a secret may hold any character)."""
    return raw


def parse_path(raw: str) -> Path:
    """A path; `~` is the user's home."""
    return Path(raw).expanduser()


def parse_existing_file(raw: str) -> Path:
    """A path to a file that exists."""
    path = parse_path(raw)
    if not path.is_file():
        raise ValueError("an existing file, such as spec/openapi.yaml")
    return path


# -- the table -----------------------------------------------------------------------------------------


class ParsedType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.4
    """A click type running one of the parsers above, so options and variables parse alike."""

    def __init__(self, parse: Callable[[str], Any], metavar: str, splitter: str | None = None) -> None:
        self.parse = parse
        self.name = metavar.lower()
        self.metavar = metavar
        self.splitter = splitter

    def split_envvar_value(self, rv: str) -> list[str]:
        """A repeatable option's variable: its values split (on commas), empty ones left out."""
        if self.splitter is None:
            return rv.split()
        return [part for part in rv.split(self.splitter) if part.strip()]

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """The option's placeholder in --help."""
        return self.metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse text; a default (already a value) passes as it is."""
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(f"received {value!r}; expected {exc}", param, ctx)


@dataclass(frozen=True)
class Setting:
    """One configurable field: its parser, its option and variable, its help line."""

    field: str
    parse: Callable[[str], Any]
    help: str
    metavar: str = "TEXT"
    # The option's name when it is not `--field-name`.
    flag: str = ""
    # What --help shows as the default: a text where the value says little (None, a number of bytes).
    shown: str | Callable[[Any], str] | None = None
    # Repeatable option; its variable holds the values comma-separated.
    repeated: bool = False
    # An on/off flag: `--name/--no-name`.
    switch: bool = False

    @property
    def option(self) -> str:
        """The option's name on the command line."""
        return self.flag or "--" + self.field.replace("_", "-")

    def env(self, prefix: str) -> str:
        """The environment variable that sets it, under a server's prefix."""
        return prefix + self.field.upper()

    def read(self, raw: str, name: str) -> Any:
        """The value of a variable's text; ConfigError naming the variable when it does not parse."""
        try:
            if self.repeated:
                return tuple(self.parse(part) for part in raw.split(",") if part.strip())
            return self.parse(raw)
        except ValueError as exc:
            raise ConfigError(name, raw, str(exc)) from None

    def click_option(self, prefix: str, default: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """The click option: its variable, its default and how --help shows it, all from this one entry."""
        common: dict[str, Any] = {"envvar": self.env(prefix), "show_envvar": True, "help": self.help + "."}
        if default is dataclasses.MISSING:
            common["required"] = True
        else:
            shown = self.shown(default) if callable(self.shown) else self.shown
            common.update(default=default, show_default=shown if shown is not None else default is not None)
        if self.switch:
            return click.option(f"{self.option}/--no-{self.option[2:]}", self.field, **common)
        kind = ParsedType(self.parse, self.metavar, "," if self.repeated else None)
        return click.option(self.option, self.field, type=kind, multiple=self.repeated, **common)


def require(ok: bool, name: str, received: object, expected: str) -> None:
    """A ConfigError naming the field, what it received and what it expects, unless `ok`."""
    if not ok:
        raise ConfigError(name, str(received), expected)


def _listing(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _size_setting(name: str, help_text: str) -> Setting:
    """A size in bytes, given as `1048576`, `512KiB` or `1MiB` and shown so."""
    return Setting(name, parse_size, help_text, "SIZE", shown=human_size)


# The settings of every server (help lines written for both); each config adds its own.
SERVER_SETTINGS: tuple[Setting, ...] = (
    Setting("host", parse_str, "interface to bind (loopback by default)", "HOST"),
    Setting("port", parse_int, "port to listen on", "PORT"),
    Setting("workers", parse_int, "gunicorn worker processes", "N"),
    Setting("threads", parse_int, "threads per worker", "N"),
    _size_setting(
        "body_limit", "largest request body taken, e.g. 20MiB; a larger one is answered 413, unread"
    ),
    Setting(
        "state_file",
        parse_path,
        "SQLite file of the stored cases and tasks (the mock), the journal and counters, kept across restarts "
        "(the mock and the proxy may share one)",
        "FILE",
        shown="a temporary file",
    ),
    Setting(
        "cors_origins",
        parse_origin,
        "allowed browser origin (repeatable; the variable: comma-separated)",
        "ORIGIN",
        flag="--cors-origin",
        shown=_listing,
        repeated=True,
    ),
    Setting(
        "spec_path", parse_existing_file, "the contract", "FILE", flag="--spec", shown="the bundled spec"
    ),
    Setting("journal_size", parse_int, "requests kept by GET /__admin/requests", "N"),
    Setting(
        "log_level",
        parse_level,
        "debug, info, warning or error (the proxy at warning logs only exchanges with findings)",
        "LEVEL",
    ),
    Setting(
        "log_file",
        parse_path,
        "write the log lines (one per request) to FILE instead of stderr, rotated at 10 MiB with 5 older "
        "files kept (FILE.1 ... FILE.5): the log stays under 60 MiB however long the server runs",
        "FILE",
    ),
)

MOCK_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "seed",
        parse_int,
        "seed of every generated value: same seed and requests, same answers",
        "N",
        shown="random",
    ),
    Setting(
        "jwt_secret",
        parse_secret,
        "verify the auth JWT's HS256 signature with this client secret",
        "SECRET",
        shown="none: any well-formed token passes",
    ),
    _size_setting("header_limit", "largest header section, e.g. 64KiB; a larger one is answered 431"),
    Setting("latency", parse_latency, "added delay per request, MS or MIN-MAX milliseconds", "MS[-MS]"),
    Setting("error_rate", parse_float, "fraction of valid requests answered 500/503", "R"),
    Setting(
        "rate_limit",
        parse_rate,
        "per-account limit answered 429: N/s, N/min or N/h, a bare N per minute (the platform: 60/min)",
        "RATE",
        shown="off",
    ),
    Setting("freeze_time", parse_instant, "fix the clock of created answers", "ISO", shown="off"),
    Setting(
        "world",
        parse_existing_file,
        "start from this World document (JSON, e.g. from `python -m generators world`) instead of the "
        "seeded sample world; a state file that already holds a world keeps its own",
        "FILE",
        shown="a few seeded cases with tasks",
    ),
    Setting("empty_world", parse_bool, "start with no cases and no tasks", switch=True),
)

PROXY_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "strict",
        parse_bool,
        "answer an invalid request 400 (401 without auth, 415 for a non-JSON body) instead of forwarding it",
        switch=True,
    ),
    Setting("timeout", parse_seconds, "seconds to wait for the upstream before answering 504", "SECONDS"),
)

_UPSTREAM = Setting(
    "upstream", parse_str, "the implementation to forward to, e.g. http://127.0.0.1:8080", "URL"
)


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """What every server of the package is told: where it listens, its workers, limits, CORS, contract, log."""

    ENV_PREFIX: ClassVar[str] = "KORE_MOCK_"
    # Every field's setting, in --help's order.
    SETTINGS: ClassVar[tuple[Setting, ...]] = SERVER_SETTINGS

    host: str = "127.0.0.1"
    port: int = 4010
    workers: int = 2
    threads: int = 4
    body_limit: int = MIB
    state_file: Path | None = None
    cors_origins: tuple[str, ...] = ("*",)
    spec_path: Path | None = None
    journal_size: int = 1000
    log_level: str = "info"
    log_file: Path | None = None

    def __post_init__(self) -> None:
        require(0 <= self.port <= 65535, "port", self.port, "an integer from 0 to 65535")
        require(self.workers >= 1, "workers", self.workers, "at least 1")
        require(self.threads >= 1, "threads", self.threads, "at least 1")
        require(self.body_limit >= 1, "body_limit", self.body_limit, "a positive number of bytes")
        require(self.journal_size >= 1, "journal_size", self.journal_size, "at least 1")
        require(self.log_level in LOG_LEVELS, "log_level", self.log_level, f"one of {', '.join(LOG_LEVELS)}")
        require(bool(self.cors_origins), "cors_origins", self.cors_origins, "at least one origin, or *")

    @classmethod
    def from_env(cls: type[_Config], environ: Mapping[str, str] | None = None, **overrides: Any) -> _Config:
        """Defaults, then the config's variables (`KORE_MOCK_*`, `KORE_PROXY_*`), then `overrides`.

        An empty variable is unset, as on the command line. An override of None is applied too
        (`rate_limit=None` beats `KORE_MOCK_RATE_LIMIT`), so pass only the fields really given.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in cls.SETTINGS:
            name = setting.env(cls.ENV_PREFIX)
            raw = environ.get(name)
            if raw:
                values[setting.field] = setting.read(raw, name)
        values.update(overrides)
        for setting in cls.SETTINGS:
            if setting.field not in values and cls.default(setting.field) is dataclasses.MISSING:
                raise ConfigError(
                    setting.field, "nothing", f"{setting.option} or {setting.env(cls.ENV_PREFIX)}"
                )
        return cls(**values)

    @classmethod
    def default(cls, name: str) -> Any:
        """A field's default (`dataclasses.MISSING` for a required one)."""
        return cls.__dataclass_fields__[name].default

    @classmethod
    def options(cls) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Every setting as a click option of a command, with this config's defaults and variables."""

        def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
            for setting in reversed(cls.SETTINGS):
                command = setting.click_option(cls.ENV_PREFIX, cls.default(setting.field))(command)
            return command

        return decorate

    def replace(self: _Config, **changes: Any) -> _Config:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class MockConfig(ServerConfig):
    """How the mock behaves; frozen, built once and handed to `create_app`.

    Example:
        >>> config = MockConfig(seed=7, freeze_time=parse_instant("2025-06-04T10:18:00.725Z"))
        >>> config.port
        4010
    """

    SETTINGS: ClassVar[tuple[Setting, ...]] = (*SERVER_SETTINGS, *MOCK_SETTINGS)

    # Room for clients that stall mid-request (each holds a thread up to 5 s per read) beside the
    # requests being answered; CPU work shares one GIL, so more threads add no throughput.
    threads: int = 64

    seed: int | None = None
    jwt_secret: str | None = dataclasses.field(default=None, repr=False)
    header_limit: int = 64 * KIB
    latency: Latency = Latency()
    error_rate: float = 0.0
    rate_limit: RateLimit | None = None
    freeze_time: datetime | None = None
    world: Path | None = None
    empty_world: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            not (self.empty_world and self.world is not None),
            "empty_world",
            "--empty-world with --world",
            "one of them: --world FILE starts from that world, --empty-world from none",
        )
        require(
            self.jwt_secret is None or self.jwt_secret != "",
            "jwt_secret",
            "an empty secret",
            "the app's client secret, or no --jwt-secret to accept any well-formed token",
        )
        require(self.header_limit >= 1 * KIB, "header_limit", self.header_limit, "at least 1 KiB")
        require(0.0 <= self.error_rate <= 1.0, "error_rate", self.error_rate, "a fraction from 0 to 1")
        require(
            0 <= self.latency.min_ms <= self.latency.max_ms,
            "latency",
            self.latency,
            "MS or MIN-MAX milliseconds with MIN <= MAX",
        )
        if self.rate_limit is not None:
            require(
                self.rate_limit.count > 0, "rate_limit", self.rate_limit, "a positive rate such as 60/min"
            )


@dataclass(frozen=True, kw_only=True)
class ProxyConfig(ServerConfig):
    """How the proxy behaves; frozen, built once and handed to `create_proxy_app`.

    Example:
        >>> ProxyConfig(upstream="http://127.0.0.1:8080").port
        4011
    """

    ENV_PREFIX: ClassVar[str] = "KORE_PROXY_"
    SETTINGS: ClassVar[tuple[Setting, ...]] = (_UPSTREAM, *SERVER_SETTINGS, *PROXY_SETTINGS)

    upstream: str
    port: int = 4011
    # The proxy mostly waits on the upstream, so a worker holds more requests in flight than the mock's.
    threads: int = 8
    # Ten times the mock's: the proxy fronts implementations whose own limit it does not know, and
    # should let them answer for themselves; the limit only keeps a huge body out of memory.
    body_limit: int = 10 * MIB
    strict: bool = False
    timeout: float = 30.0

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
        super().__post_init__()
        require(self.timeout > 0, "timeout", self.timeout, "a positive number of seconds")
