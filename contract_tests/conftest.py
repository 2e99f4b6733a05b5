"""`pytest contract_tests --base-url URL --stream-id ID --jwt TOKEN`: the contract run as a pytest suite.

One run per session; each check is one test, so CI gets pytest's options, `-k` selection and
`--junitxml`. Generic names carry a `--contract-` prefix, clear of pytest's own `--strict` and of
plugins' seeds. Without `--base-url` every test is skipped, so collecting the project never fails.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest

from contract_tests._config import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_RESPONSE_TIME_MS,
    DEFAULT_MAX_TIME_S,
    ContractConfig,
)
from contract_tests._errors import ContractTestError
from contract_tests._pacing import parse_rate_limit
from contract_tests._report import ContractReport
from contract_tests._runner import run_contract

_REPORT = pytest.StashKey[ContractReport]()


def _add(group: Any, name: str, **kwargs: Any) -> None:
    # Already registered by a plugin (pytest-base-url's --base-url): share it.
    with contextlib.suppress(ValueError):
        group.addoption(name, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The same options as `python -m contract_tests`."""
    group = parser.getgroup("contract", "Create a task contract tests (contract_tests/)")
    _add(
        group,
        "--base-url",
        dest="base_url",
        default=None,
        help="Implementation to test, e.g. http://127.0.0.1:4010.",
    )
    group.addoption(
        "--stream-id",
        dest="stream_id",
        default=os.environ.get("KORE_STREAM_ID"),
        help="The path's stream id.",
    )
    group.addoption(
        "--jwt",
        dest="contract_jwt",
        default=os.environ.get("KORE_JWT"),
        help="The app's JWT [env: KORE_JWT].",
    )
    group.addoption(
        "--client-id",
        dest="client_id",
        default=os.environ.get("KORE_CLIENT_ID"),
        help="Mint tokens with this app id.",
    )
    group.addoption(
        "--client-secret",
        dest="client_secret",
        default=os.environ.get("KORE_CLIENT_SECRET"),
        help="The app's client secret.",
    )
    group.addoption("--account-id", dest="account_id", default=None, help="Send this accountId header.")
    group.addoption(
        "--allow-writes",
        dest="allow_writes",
        action="store_true",
        help="Allow a target that is not loopback.",
    )
    group.addoption(
        "--contract-seed",
        dest="contract_seed",
        type=int,
        default=None,
        help="Seed of the generated requests.",
    )
    group.addoption(
        "--contract-max-examples", dest="contract_max_examples", type=int, default=DEFAULT_MAX_EXAMPLES
    )
    group.addoption("--contract-max-time", dest="contract_max_time", type=float, default=DEFAULT_MAX_TIME_S)
    group.addoption(
        "--contract-max-response-time",
        dest="contract_max_response_time",
        type=float,
        default=DEFAULT_MAX_RESPONSE_TIME_MS,
    )
    group.addoption(
        "--contract-rate-limit", dest="contract_rate_limit", default=None, help="e.g. 1/s, 60/m or none."
    )
    group.addoption(
        "--contract-strict", dest="contract_strict", action="store_true", help="Decision-based rules fail."
    )
    group.addoption("--contract-show-secrets", dest="contract_show_secrets", action="store_true")


def _config(options: pytest.Config) -> ContractConfig:
    def get(name: str) -> Any:
        return options.getoption(name)

    client = get("client_id") or get("client_secret")
    rate_text = get("contract_rate_limit")
    rate = parse_rate_limit(rate_text) if rate_text is not None else None
    return ContractConfig(
        base_url=get("base_url"),
        stream_id=get("stream_id") or "",
        jwt=None if client else get("contract_jwt"),
        client_id=get("client_id"),
        client_secret=get("client_secret"),
        account_id=get("account_id"),
        seed=get("contract_seed"),
        max_examples=get("contract_max_examples"),
        max_time_s=get("contract_max_time"),
        max_response_time_ms=get("contract_max_response_time"),
        rate_limit=rate,
        unlimited_rate=rate_text is not None and rate is None,
        allow_writes=get("allow_writes"),
        strict=get("contract_strict"),
        show_secrets=get("contract_show_secrets"),
    )


@pytest.fixture(scope="session")
def contract_report(pytestconfig: pytest.Config) -> ContractReport:
    """The session's one contract run; every check's test reads it."""
    if not pytestconfig.getoption("base_url"):
        pytest.skip(
            "the contract tests need --base-url, --stream-id and --jwt (or --client-id/--client-secret)"
        )
    try:
        report = run_contract(_config(pytestconfig))
    except ContractTestError as exc:
        pytest.exit(f"contract tests: {exc}", returncode=2)
    pytestconfig.stash[_REPORT] = report
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The run's warnings and summary table after pytest's own summary."""
    report = config.stash.get(_REPORT, None)
    if report is None:
        return
    terminalreporter.section("contract tests")
    for warning in report.warnings:
        terminalreporter.write_line(str(warning))
        terminalreporter.write_line("")
    terminalreporter.write_line(report.summary_table())
