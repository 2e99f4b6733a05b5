"""The options of a run, checked before any connection is made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contract_tests._errors import ConfigError
from contract_tests._pacing import DEFAULT_REMOTE_RATE, is_loopback, parse_rate_limit

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_MAX_TIME_S = 300.0
DEFAULT_MAX_RESPONSE_TIME_MS = 5000.0
# Calls per sequence of the stateful phase; sequences per run are --max-examples / SEQUENCES_PER_EXAMPLES.
DEFAULT_SEQUENCE_LENGTH = 20
SEQUENCES_PER_EXAMPLES = 5


def rate_option(text: str | None) -> tuple[float | None, bool]:
    """`--rate-limit` (the one grammar, `spec.Rate`) as ContractConfig's `(rate_limit, unlimited_rate)`.

    No option leaves the default pacing; a bare N is per minute.

    Example:
        >>> rate_option("60/min"), rate_option("120"), rate_option("none"), rate_option(None)
        ((1.0, False), (2.0, False), (None, True), (None, False))
    """
    if text is None:
        return None, False
    rate = parse_rate_limit(text)
    return rate, rate is None


def operations_option(text: str | None) -> tuple[str, ...] | None:
    """`--operations a,b` as ContractConfig's `operations`; no option tests every operation.

    Example:
        >>> operations_option("createTask, getTasks"), operations_option(None)
        (('createTask', 'getTasks'), None)
    """
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())


@dataclass(frozen=True)
class ContractConfig:
    """What to test and how hard: the target, its credentials, the seed and the budgets.

    Example:
        >>> ContractConfig(base_url="http://127.0.0.1:4010", stream_id="st-1", jwt="ey...").rate
        >>> ContractConfig(base_url="https://staging.example", stream_id="st-1", jwt="ey...", allow_writes=True).rate
        1.0
    """

    base_url: str
    stream_id: str
    jwt: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    account_id: str | None = None
    seed: int | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    max_time_s: float = DEFAULT_MAX_TIME_S
    max_response_time_ms: float = DEFAULT_MAX_RESPONSE_TIME_MS
    # Requests per second; None: unlimited on loopback, one a second elsewhere. `unlimited` forces no limit.
    rate_limit: float | None = None
    unlimited_rate: bool = False
    allow_writes: bool = False
    strict: bool = False
    show_secrets: bool = False
    request_timeout_s: float = 30.0
    # The operations to test, by operationId; None: every operation of the spec.
    operations: tuple[str, ...] | None = None
    # The spec to test against; None: the project's own (`spec/openapi.yaml`).
    spec_path: Path | None = None
    # The stateful phase: a second account and stream to check isolation against (on loopback the
    # run makes its own), how many sequences (None: from --max-examples; 0: none) of how many calls,
    # and where to write each failing sequence as a shell script.
    second_account_id: str | None = None
    second_stream_id: str | None = None
    sequences: int | None = None
    sequence_length: int = DEFAULT_SEQUENCE_LENGTH
    repro_dir: Path | None = None
    # False: only the stateful phase runs (--only-sequences).
    single_calls: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("--base-url", repr(self.base_url), "an http:// or https:// URL with a host")
        if not self.stream_id:
            raise ConfigError(
                "--stream-id", "nothing", "the bot's stream id (st-...), as it appears in the path"
            )
        if self.jwt is not None and not self.jwt.strip():
            # Usually an unset variable: `--jwt "$KORE_JWT"`. Sent as is, every request would be refused
            # and the run would report a broken target instead of a missing token.
            raise ConfigError("--jwt", "an empty token", "the app's JWT (is the variable holding it set?)")
        for option, value in (("--client-id", self.client_id), ("--client-secret", self.client_secret)):
            if value is not None and not value.strip():
                raise ConfigError(
                    option, "an empty value", "the app's credentials (is the variable holding it set?)"
                )
        has_client = self.client_id is not None or self.client_secret is not None
        if self.jwt is None and not (self.client_id and self.client_secret):
            raise ConfigError(
                "--jwt",
                "no token" + (" and only half of the client credentials" if has_client else ""),
                "--jwt TOKEN, or both --client-id and --client-secret to mint tokens",
            )
        if self.jwt is not None and has_client:
            raise ConfigError(
                "--jwt", "a token and client credentials", "one of --jwt or --client-id/--client-secret"
            )
        if self.max_examples < 1:
            raise ConfigError(
                "--max-examples", str(self.max_examples), "a positive number of examples per check"
            )
        if self.sequences is not None and self.sequences < 0:
            raise ConfigError("--sequences", str(self.sequences), "a number of sequences, 0 for none")
        if not self.single_calls and not self.sequence_count:
            raise ConfigError("--only-sequences", "--sequences 0", "at least one sequence to run")
        if self.sequence_length < 1:
            raise ConfigError("--sequence-length", str(self.sequence_length), "a positive number of calls")
        if self.max_time_s <= 0:
            raise ConfigError("--max-time", str(self.max_time_s), "a positive number of seconds")
        if self.max_response_time_ms <= 0:
            raise ConfigError(
                "--max-response-time", str(self.max_response_time_ms), "a positive number of milliseconds"
            )
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ConfigError("--rate-limit", str(self.rate_limit), "a positive rate such as 1/s")
        if not self.loopback and not self.allow_writes:
            raise ConfigError(
                "--base-url",
                f"{self.base_url}, which is not this machine",
                "--allow-writes as well: every check creates tasks on the target",
            )

    def selected(self, known: Sequence[str]) -> tuple[str, ...]:
        """The operations to test, in the spec's order; ConfigError naming the known ones for an unknown one."""
        if self.operations is None:
            return tuple(known)
        unknown = [name for name in self.operations if name not in known]
        if unknown or not self.operations:
            raise ConfigError(
                "--operations",
                ", ".join(unknown) if unknown else "no operation",
                f"operationIds of the spec, comma-separated: {', '.join(known)}",
            )
        return tuple(name for name in known if name in self.operations)

    @property
    def sequence_count(self) -> int:
        """Sequences of the stateful phase: --sequences, else a share of --max-examples (at least one)."""
        if self.sequences is not None:
            return self.sequences
        return max(1, self.max_examples // SEQUENCES_PER_EXAMPLES)

    @property
    def loopback(self) -> bool:
        """Whether the target is this machine (no pacing, no --allow-writes needed)."""
        return is_loopback(self.base_url)

    @property
    def rate(self) -> float | None:
        """Requests per second to pace to; None for no limit."""
        if self.unlimited_rate:
            return None
        if self.rate_limit is not None:
            return self.rate_limit
        return None if self.loopback else DEFAULT_REMOTE_RATE
