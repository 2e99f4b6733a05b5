"""Property-based contract tests of the spec's operations for any implementation: mock, staging or production.

`run_contract(ContractConfig(...))` sends, to every operation of the spec, the generators' valid and
invalid requests, hostile parameters and bad tokens; the one judge (`spec.ContractJudge`) decides on
every answer by the spec's statuses, media types, schemas and `x-contract-relations`; the result is a
`ContractReport`. The same checks run as `python -m contract_tests` and `pytest contract_tests`.
"""

from __future__ import annotations

from contract_tests._config import ContractConfig
from contract_tests._errors import ContractTestError
from contract_tests._report import ContractReport, Failure
from contract_tests._runner import run_contract

__all__ = ["ContractConfig", "ContractReport", "ContractTestError", "Failure", "run_contract"]
