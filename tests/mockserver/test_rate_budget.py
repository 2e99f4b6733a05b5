"""Issue 13 item 4: with --rate-limit, one budget per account spent by every operation alike.

Decision `rate-budget-shared` (`info.x-rate-limit`): the platform's rate-limit page lists all the
operations in one row, so requests to different operations of one account spend the same budget; it
is answered 429 with `Retry-After` and the error envelope; another account keeps its own budget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import mockserver._faults
from mockserver import RateLimit
from spec import load_spec
from tests.mockserver.support import headers, schema_problems

CONTRACT = load_spec()
LIMIT = 12
OTHER_ACCOUNT = "aaaaaaaaaaaaaaaaaaaaaaaa"
# The documented examples of every path parameter (the seeded world holds the documented ids).
EXAMPLES = {
    p["name"]: p["example"]
    for op in CONTRACT.operations.values()
    for p in op.parameters_in("path")
    if "example" in p
}


def call(client: FlaskClient, operation_id: str, account: str) -> tuple[int, Any, dict[str, str]]:
    operation = CONTRACT.operation(operation_id)
    params = {p["name"]: EXAMPLES[p["name"]] for p in operation.parameters_in("path")}
    body = copy.deepcopy(next(iter(operation.request_examples.values()), {}))
    response = client.open(
        operation.path(**params), method=operation.method, json=body, headers=headers(accountId=account)
    )
    return response.status_code, response.json, dict(response.headers)


def test_one_budget_per_account_is_shared_by_every_operation(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CONTRACT.rate_limit is not None and CONTRACT.rate_limit.get("x-decision") == "rate-budget-shared"
    # One instant for the whole test: no window ends in its middle.
    monkeypatch.setattr(mockserver._faults, "wall_clock", lambda: 1_750_000_000.0)
    client = make_app(seed=7, rate_limit=RateLimit(LIMIT, 60)).test_client()
    operations = sorted(CONTRACT.operations)
    assert len(operations) >= 2 and LIMIT % len(operations) == 0
    account = (
        EXAMPLES.get("accountId") or CONTRACT.operation(operations[0]).parameters_in("header")[0]["example"]
    )

    # LIMIT requests spread evenly over every operation: fewer than LIMIT per operation, all within budget.
    spent = [call(client, operations[n % len(operations)], account)[0] for n in range(LIMIT)]
    assert 429 not in spent, spent
    # The budget is spent: every operation of this account is now refused.
    for operation_id in operations:
        status, payload, answer_headers = call(client, operation_id, account)
        assert status == 429, (operation_id, payload)
        assert int(answer_headers["Retry-After"]) >= 1
        assert schema_problems(status, payload, CONTRACT.operation(operation_id)) == []
        assert [e.get("pointer") for e in payload["errors"]] == ["/header/accountId"]
    # Another account is unaffected.
    for operation_id in operations:
        assert call(client, operation_id, OTHER_ACCOUNT)[0] != 429, operation_id
