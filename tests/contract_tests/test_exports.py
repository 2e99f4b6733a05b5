"""`contract_tests.__all__` is exactly what the package exports."""

from __future__ import annotations

import contract_tests


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(contract_tests).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("contract_tests")
    }
    assert public == set(contract_tests.__all__)
    assert sorted(contract_tests.__all__) == contract_tests.__all__
