"""`pytest contract_tests --base-url URL --stream-id ID --jwt TOKEN`: the contract run as a pytest suite.

One run per session; each check is one test, so CI gets pytest's options, `-k` selection and
`--junitxml`. Generic names carry a `--contract-` prefix, clear of pytest's own `--strict` and of
plugins' seeds. Without `--base-url` every test is skipped, so collecting the project never fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contract_tests._config import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_RESPONSE_TIME_MS,
    DEFAULT_MAX_TIME_S,
    DEFAULT_SEQUENCE_LENGTH,
    ContractConfig,
    operations_option,
    rate_option,
)
from contract_tests._errors import ContractTestError
from contract_tests._report import ContractReport
from contract_tests._runner import run_contract

_REPORT = pytest.StashKey[ContractReport]()


@dataclass(frozen=True)
class _Option:
    """One command-line option of the contract group; None leaves argparse's own default."""

    name: str
    help: str | None = None
    dest: str | None = None  # None: argparse's, from the name (--contract-seed -> contract_seed)
    env: str | None = None  # the default is this environment variable, read when pytest starts
    default: int | float | None = None
    type: type[int] | type[float] | None = None
    switch: bool = False  # a flag: true when given
    shared: bool = False  # a plugin may have registered it (pytest-base-url's --base-url): share it


_OPTIONS = (
    _Option("--base-url", "Implementation to test, e.g. http://127.0.0.1:4010.", shared=True),
    _Option("--stream-id", "The path's stream id.", env="KORE_STREAM_ID"),
    _Option("--jwt", "The app's JWT.", dest="contract_jwt", env="KORE_JWT"),
    _Option("--client-id", "Mint tokens with this app id.", env="KORE_CLIENT_ID"),
    _Option("--client-secret", "The app's client secret.", env="KORE_CLIENT_SECRET"),
    _Option("--account-id", "Send this accountId header."),
    _Option("--second-account-id", "A second account, for the sequences' isolation checks."),
    _Option("--second-stream-id", "A second stream, for the sequences' isolation checks."),
    _Option("--contract-sequences", "Sequences of calls of the stateful phase (0: none).", type=int),
    _Option(
        "--contract-sequence-length",
        "Calls per sequence at most.",
        type=int,
        default=DEFAULT_SEQUENCE_LENGTH,
    ),
    _Option("--contract-repro-dir", "Write each failing sequence here as a shell script."),
    _Option("--allow-writes", "Allow a target that is not loopback.", switch=True),
    _Option("--contract-seed", "Seed of the generated requests.", type=int),
    _Option(
        "--contract-max-examples",
        "Generated requests per scenario (valid, invalid).",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
    ),
    _Option(
        "--contract-max-time", "Budget of the whole run, in seconds.", type=float, default=DEFAULT_MAX_TIME_S
    ),
    _Option(
        "--contract-max-response-time",
        "Slower answers fail max_response_time (ms).",
        type=float,
        default=DEFAULT_MAX_RESPONSE_TIME_MS,
    ),
    _Option(
        "--contract-rate-limit",
        "Pace requests: N/s, N/min or N/h (a bare N is per minute); none for no limit. "
        "Default: none on loopback, 1/s elsewhere.",
    ),
    _Option("--contract-operations", "Test only these operations (operationIds, comma-separated)."),
    _Option("--contract-strict", "Decision-based rules fail.", switch=True),
    _Option(
        "--contract-show-secrets",
        "Show tokens in the reproduction commands instead of $KORE_JWT.",
        switch=True,
    ),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The same options as `python -m contract_tests`."""
    group = parser.getgroup("contract", "Case Management contract tests (contract_tests/)")
    for option in _OPTIONS:
        helps = [
            option.help,
            f"[default: {option.default}]" if option.default is not None else None,
            f"[env: {option.env}]" if option.env else None,
        ]
        settings = {
            "dest": option.dest,
            "help": " ".join(h for h in helps if h) or None,
            "type": option.type,
            "default": os.environ.get(option.env) if option.env else option.default,
            "action": "store_true" if option.switch else None,
        }
        try:
            group.addoption(
                option.name, **{key: value for key, value in settings.items() if value is not None}
            )
        except ValueError:
            if not option.shared:
                raise


def _config(options: pytest.Config) -> ContractConfig:
    def get(name: str) -> Any:
        return options.getoption(name)

    client = get("client_id") or get("client_secret")
    rate, unlimited_rate = rate_option(get("contract_rate_limit"))
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
        unlimited_rate=unlimited_rate,
        allow_writes=get("allow_writes"),
        strict=get("contract_strict"),
        show_secrets=get("contract_show_secrets"),
        operations=operations_option(get("contract_operations")),
        second_account_id=get("second_account_id"),
        second_stream_id=get("second_stream_id"),
        sequences=get("contract_sequences"),
        sequence_length=get("contract_sequence_length"),
        repro_dir=Path(get("contract_repro_dir")) if get("contract_repro_dir") else None,
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
    if report.interrupted:  # Ctrl-C: the summary so far, and no test passes on a partial run
        pytest.exit(f"contract tests: {report.stopped}", returncode=report.exit_code)
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
