"""Judge generated data with the spec's own validator (openapi-core), as the mock and contract tests do."""

from __future__ import annotations

import json
from typing import Any

from openapi_core.testing import MockRequest, MockResponse

from spec import ContractSpec

HOST = "https://platform.kore.ai"
STREAM = "st-084d3c5e-376a-559f-9987-a012bb2b4e1b"
PATH = f"/caseManagement/api/public/analytics/{STREAM}/createTask"
# The jsonschema validator that reports each body rule's kind.
VALIDATOR_OF_KIND = {
    "missing-required": "required",
    "wrong-type": "type",
    "empty-string": "minLength",
    "too-short": "minLength",
    "too-long": "maxLength",
    "bad-format": "format",
    "no-contact": "anyOf",
}


def request_errors(
    contract: ContractSpec, body: bytes | None, content_type: str | None = "application/json"
) -> list[Exception]:
    """openapi-core's errors for a POST with exactly these bytes and Content-Type."""
    request = MockRequest(
        HOST, "post", PATH, data=body, headers={"auth": "token"}, content_type=content_type or ""
    )
    return list(contract.openapi.unmarshal_request(request).errors)


def body_errors(contract: ContractSpec, body: Any) -> list[Exception]:
    """openapi-core's errors for a JSON body."""
    return request_errors(contract, json.dumps(body).encode("utf-8"))


def task_errors(contract: ContractSpec, task: Any) -> list[Exception]:
    """openapi-core's errors for a 200 answer."""
    request = MockRequest(HOST, "post", PATH, headers={"auth": "token"})
    response = MockResponse(
        json.dumps(task).encode("utf-8"), status_code=200, content_type="application/json"
    )
    return list(contract.openapi.unmarshal_response(request, response).errors)


def schema_errors(error: Exception) -> list[Any]:
    """The jsonschema errors behind an openapi-core body error (empty when there are none)."""
    return list(getattr(error.__cause__, "schema_errors", None) or [])


def drawn(strategy: Any, *, count: int, seed: int = 0) -> list[Any]:
    """`count` draws of `strategy`, the same for the same seed, without shrinking (fast coverage checks)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    found: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found
