"""The package's exceptions: one root, and small dataclasses that say what went wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


class ContractTestError(Exception):
    """Root of the contract tests' errors: the run could not judge the target (exit status 2)."""


@dataclass(frozen=True)
class ConfigError(ContractTestError):
    """An option is missing, malformed or unsafe."""

    option: str
    received: str
    expected: str

    def __str__(self) -> str:
        return f"{self.option}: received {self.received}; expected {self.expected}"


@dataclass(frozen=True)
class TargetUnreachable(ContractTestError):
    """The base URL answers nothing at all."""

    url: str
    reason: str

    def __str__(self) -> str:
        return (
            f"the target {self.url} is unreachable ({self.reason}). "
            "Check --base-url, and that the server is running and reachable from here."
        )


@dataclass(frozen=True)
class NothingJudged(ContractTestError):
    """The run ended before a single answer could be judged."""

    reason: str

    def __str__(self) -> str:
        return f"no answer could be judged: {self.reason}"
