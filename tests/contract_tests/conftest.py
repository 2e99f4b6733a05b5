"""Fixtures: serve a test app on loopback and run the contract tests' CLI against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from tests.contract_tests.apps import ACCOUNT_ID, CLIENT_ID, SECRET, STREAM_ID, Journal, create_app, serving


@dataclass(frozen=True)
class Outcome:
    """What one CLI run printed and returned."""

    exit_code: int
    output: str
    stderr: str


def credentials(secret: str = SECRET) -> list[str]:
    """The options that let a run mint tokens (and so test expired and claim-less ones)."""
    return ["--client-id", CLIENT_ID, "--client-secret", secret]


def invoke(url: str, *extra: str, examples: int = 10, seed: int = 1, secret: str = SECRET) -> Outcome:
    """Run `python -m contract_tests` in-process against `url` with a small budget."""
    from contract_tests.__main__ import cli

    args = [
        "--base-url",
        url,
        "--stream-id",
        STREAM_ID,
        "--seed",
        str(seed),
        "--max-examples",
        str(examples),
        *extra,
    ]
    if "--jwt" not in extra:
        args = [*args, *credentials(secret)]
    if "--sequences" not in extra and "--only-sequences" not in extra:
        # apps.py's implementations keep no objects: these runs judge single calls (the sequences are
        # judged against stateful implementations in test_stateful.py).
        args = [*args, "--sequences", "0"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start an app (correct unless faults are named) and give its base URL; stopped after the test."""
    stack: list[object] = []

    def start(*faults: str, journal: Journal | None = None) -> str:
        context = serving(create_app(faults=frozenset(faults), journal=journal))
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


__all__ = ["ACCOUNT_ID", "Outcome", "credentials", "invoke"]
