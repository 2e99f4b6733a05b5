"""One test per check of the contract run (see conftest.py); a failing test shows what broke and a curl."""

from __future__ import annotations

import pytest

from contract_tests._checks import check_names
from contract_tests._report import ContractReport
from spec import Sequences, load_spec


@pytest.mark.parametrize(
    "check", check_names(load_spec().operations.values(), Sequences(load_spec()), stateful=True)
)
def test_check(contract_report: ContractReport, check: str) -> None:
    """The target keeps this check on every answer it was judged on."""
    summary = next((c for c in contract_report.checks if c.check == check), None)
    if summary is None:
        pytest.skip(f"{check}: not a check of the operations tested (--contract-operations)")
    if summary.skipped:
        pytest.skip(f"{check}: {summary.skipped}")
    failures = [f for f in contract_report.failures if f.check == check]
    assert not failures, "\n\n".join(str(f) for f in failures)
