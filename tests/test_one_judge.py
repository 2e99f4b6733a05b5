"""One judge: the validation proxy and the contract tests give the same verdict on the same exchange.

Both are thin adapters over `spec.ContractJudge`; this property test feeds them the same generated
exchanges, correct (the mock's own answers) and broken (each answer mutated one way), and requires
the same failed checks. The proxy learns what a request deserves from the request itself (its
`request_conformance` findings); the contract tests know it from the generator that made the request.
Where the two ways of knowing disagree, one of them restates the contract differently.

The exchanges are judged in-process: the mock answers through Flask's test client, the proxy's
checker and the contract tests' checks are called directly, so a few hundred exchanges take seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from contract_tests._checks import Checks
from contract_tests._client import Exchange, PreparedRequest
from generators import invalid_requests, valid_requests
from generators._parameters import RequestParameters, request_parameters
from mockserver import MockConfig, create_app
from mockserver.proxy._checks import ContractChecker
from spec import (
    MISSING,
    ContractSpec,
    Expectation,
    Operation,
    ReceivedAnswer,
    Sequences,
    load_spec,
    resolve_pointer,
)
from tests.madeup import write_madeup_spec
from tests.mockserver.support import mint

# Mutations of an answer; "none" keeps the mock's answer as it is.
MUTATIONS = (
    "none",
    "status-500",
    "status-418",
    "status-other-documented",
    "status-success",
    "content-type-text",
    "body-not-json",
    "body-drop-field",
    "body-wrong-type",
    "body-break-relation",
)


@pytest.fixture(scope="module", params=["spec", "madeup"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ContractSpec, FlaskClient]]:
    """The contract (the project's, or a copy with a made-up operation) and the mock serving it."""
    if request.param == "spec":
        contract = load_spec()
        config = MockConfig(seed=3, state_file=tmp_path_factory.mktemp("one-judge") / "state.sqlite3")
    else:
        root = write_madeup_spec(tmp_path_factory.mktemp("madeup"))
        contract = load_spec(root)
        config = MockConfig(
            seed=3, spec_path=root, state_file=tmp_path_factory.mktemp("one-judge") / "state.sqlite3"
        )
    app = create_app(config)
    app.testing = True
    yield contract, app.test_client()


def _auth_header(contract: ContractSpec) -> str:
    return next(iter(contract.auth_headers.values()))


def _request_headers(
    contract: ContractSpec, parameters: RequestParameters, content_type: str | None, overlay: Any = None
) -> dict[str, str]:
    headers = {_auth_header(contract): mint(), **parameters.headers}
    if content_type is not None:
        headers["Content-Type"] = content_type
    for name, value in (overlay or {}).items():
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
    return headers


def _mutate(
    operation: Operation, status: int, headers: dict[str, str], body: bytes, mutation: str
) -> tuple[int, dict[str, str], bytes]:
    """The answer changed one way (or as it was, when the mutation does not apply to it)."""
    if mutation == "status-500":
        return 500, headers, body
    if mutation == "status-418":
        return 418, headers, body
    if mutation == "status-other-documented":
        others = sorted(s for s in operation.documented_statuses if s != status and s >= 400)
        return (others[0] if others else status), headers, body
    if mutation == "status-success":
        return operation.success_status, headers, body
    if mutation == "content-type-text":
        return status, {**headers, "Content-Type": "text/plain"}, body
    if mutation == "body-not-json":
        return status, headers, b"<html>oops</html>"
    document = orjson.loads(body) if body else None
    if not isinstance(document, dict) or not document:
        return status, headers, body
    document = copy.deepcopy(document)
    if mutation == "body-drop-field":
        document.pop(next(iter(document)))
    elif mutation == "body-wrong-type":
        key = next(iter(document))
        document[key] = [document[key]] if not isinstance(document[key], list) else "a string"
    elif mutation == "body-break-relation" and status == operation.success_status:
        for relation in operation.relations:
            pointer = relation.response
            if pointer and pointer.count("/") == 1 and isinstance(resolve_pointer(document, pointer), str):
                document[pointer[1:]] = resolve_pointer(document, pointer) + "-changed"
                break
    return status, headers, orjson.dumps(document)


def _verdicts(
    contract: ContractSpec,
    client: FlaskClient,
    operation: Operation,
    *,
    path_params: dict[str, str],
    headers: dict[str, str],
    body: bytes | None,
    expectation: Expectation,
    mutation: str,
) -> tuple[set[str], set[str], tuple[int, bytes]]:
    """The failed checks of the proxy and of the contract tests on the same (mutated) exchange."""
    path = operation.path(**path_params)
    answer = client.open(path, method=operation.method, headers=headers, data=body or b"")
    answer_headers = {"Content-Type": answer.headers.get("Content-Type", "")}
    status, answer_headers, answer_body = _mutate(
        operation, answer.status_code, answer_headers, answer.get_data(), mutation
    )

    proxy = ContractChecker(contract, seen={})
    checked = proxy.check_request(
        method=operation.method,
        path=unquote(path),
        headers=Headers(list(headers.items())),
        query={},
        cookies={},
        body=body or b"",
    )
    assert checked.route is not None and checked.route.operation.id == operation.id
    by_proxy = proxy.check_response(checked, ReceivedAnswer(status, answer_headers, answer_body))

    checks = Checks(contract, max_response_time_ms=1e9)
    sent = PreparedRequest(
        operation.method,
        "http://mock.test" + path,
        tuple(headers.items()),
        body,
        operation=operation.id,
        path_params=tuple(path_params.items()),
    )
    exchange = Exchange(sent, status, tuple(answer_headers.items()), answer_body, 1.0)
    by_tests = checks.exchange(operation, exchange, expectation)
    return (
        {f.check for f in by_proxy.findings},
        {f.check for f in by_tests.findings},
        (status, answer_body[:300]),
    )


def _operations(contract: ContractSpec) -> list[Operation]:
    return list(contract.operations.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mutation=st.sampled_from(MUTATIONS))
def test_valid_requests_get_the_same_verdict(
    world: tuple[ContractSpec, FlaskClient], data: st.DataObject, mutation: str
) -> None:
    contract, client = world
    operation = data.draw(st.sampled_from(_operations(contract)), label="operation")
    body = data.draw(valid_requests(spec=contract, operation=operation), label="body")
    parameters = data.draw(request_parameters(spec=contract, operation=operation), label="parameters")
    by_proxy, by_tests, answer = _verdicts(
        contract,
        client,
        operation,
        path_params=dict(parameters.path),
        headers=_request_headers(contract, parameters, "application/json"),
        body=orjson.dumps(body),
        expectation=Sequences(contract).unknown_ids_expectation(operation.id),
        mutation=mutation,
    )
    assert by_proxy == by_tests, (mutation, answer)
    if mutation == "none":
        assert by_tests == set(), answer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), mutation=st.sampled_from(MUTATIONS))
def test_invalid_requests_get_the_same_verdict(
    world: tuple[ContractSpec, FlaskClient], data: st.DataObject, mutation: str
) -> None:
    contract, client = world
    operation = data.draw(st.sampled_from(_operations(contract)), label="operation")
    invalid = data.draw(invalid_requests(spec=contract, operation=operation), label="invalid")
    parameters = data.draw(request_parameters(spec=contract, operation=operation), label="parameters")
    by_proxy, by_tests, answer = _verdicts(
        contract,
        client,
        operation,
        path_params={**parameters.path, **(invalid.path_params or {})},
        headers=_request_headers(contract, parameters, invalid.content_type, invalid.headers),
        body=invalid.body,
        expectation=Sequences(contract).unknown_ids_expectation(operation.id, invalid.expectation()),
        mutation=mutation,
    )
    assert by_proxy == by_tests, (invalid.rule, mutation, answer)
    if mutation == "none":
        assert by_tests == set(), (invalid.rule, answer)


def test_a_broken_answer_is_caught_by_both(world: tuple[ContractSpec, FlaskClient]) -> None:
    """The property holds because both see faults, not because both see none."""
    contract, client = world
    operation = _operations(contract)[0]
    example: Any = next(iter(operation.request_examples.values()), MISSING)
    assert example is not MISSING
    values = {name: "st-0f3e2a1b-0000-4000-8000-000000000001" for name in operation.path_parameters}
    parameters = RequestParameters(path=values, headers={"accountId": "6639f7bd58c97ffac03b1234"})
    for mutation in ("status-500", "content-type-text", "body-drop-field"):
        by_proxy, by_tests, _ = _verdicts(
            contract,
            client,
            operation,
            path_params=values,
            headers=_request_headers(contract, parameters, "application/json"),
            body=orjson.dumps(example),
            expectation=Expectation.valid(),
            mutation=mutation,
        )
        assert by_tests and by_proxy == by_tests, mutation
