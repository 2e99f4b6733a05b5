"""Property-based contract tests of Create a task for any implementation: mock, staging or production.

`run_contract(ContractConfig(...))` sends the generators' valid and invalid requests and bad tokens,
judges every answer by the spec's schemas, statuses and `x-contract-relations`, and returns a
`ContractReport`. The same checks run as `python -m contract_tests` and `pytest contract_tests`.
"""

from __future__ import annotations

from contract_tests._config import ContractConfig
from contract_tests._errors import ContractTestError
from contract_tests._report import ContractReport, Failure
from contract_tests._runner import run_contract

__all__ = ["ContractConfig", "ContractReport", "ContractTestError", "Failure", "run_contract"]
