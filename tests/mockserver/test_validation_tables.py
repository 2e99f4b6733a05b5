"""The precomputed validation says exactly what openapi-core's own request validator says, and the
compiled checks (request bodies, the judge's schema check the self-check uses) never accept what
openapi-core's schema validator rejects.

`ContractValidator` looks everything up in the spec once and calls openapi-core's deserializers,
casters and validators itself (mockserver/_validation.py); these properties compare it with the
obvious use of openapi-core, `V31RequestValidator(spec).iter_errors(request)`, on generated requests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V31RequestValidator
from openapi_core.validation.schemas import oas31_schema_validators_factory
from werkzeug.datastructures import Headers, ImmutableMultiDict

from generators import InvalidRequest, invalid_requests, valid_requests
from mockserver._errors import Violation
from mockserver._validation import ContractValidator, _json_loads, pointer
from spec import ContractJudge, RouteMatch, load_spec
from tests.mockserver.support import task_operation

CONTRACT = load_spec()
TASK = task_operation()
VALIDATOR = ContractValidator(CONTRACT)
JUDGE = ContractJudge(CONTRACT)
REFERENCE = V31RequestValidator(
    CONTRACT.openapi.spec, extra_media_type_deserializers={"application/json": _json_loads}
)
_SERVER = CONTRACT.resolved["servers"][0]
HOST_URL = _SERVER["url"].format(**{k: v.get("default", "") for k, v in _SERVER.get("variables", {}).items()})
HEADER_NAMES = [
    p["name"] for p in [*TASK.parameters_in("header"), {"name": "auth"}, {"name": "Authorization"}]
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # what orjson writes
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@dataclass
class _Request:
    """openapi-core's Request protocol, as the mock used it before the tables."""

    host_url: str
    path: str
    path_pattern: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


def reference_violations(
    *, stream_id: str, headers: Headers, query: Any, content_type: str, body: bytes
) -> list[Violation]:
    """The obvious use of openapi-core: its whole request validator, every lookup per request."""
    request = _Request(
        host_url=HOST_URL,
        path=TASK.path(streamId="s"),
        path_pattern=TASK.path_template,
        method=TASK.method.lower(),
        body=body or None,
        content_type=content_type.lower(),
        parameters=RequestParameters(query=query, header=headers, cookie={}, path={"streamId": stream_id}),
    )
    checks = VALIDATOR._checks[TASK.id]
    return [v for error in REFERENCE.iter_errors(request) for v in VALIDATOR._describe(checks, error)]


def assert_same_violations(
    *, stream_id: str, headers: Headers, query: Any, content_type: str, body: bytes
) -> None:
    with_type = Headers(headers)
    with_type.remove("Content-Type")
    if content_type:
        with_type["Content-Type"] = content_type
    route = RouteMatch(TASK, {"streamId": stream_id})
    ours = VALIDATOR.validate(route, headers=with_type, query=query, cookies={}, body=body)
    assert ours == reference_violations(
        stream_id=stream_id, headers=with_type, query=query, content_type=content_type, body=body
    )


header_sets = st.dictionaries(
    st.sampled_from(HEADER_NAMES)
    | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    max_size=6,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=UTF-8",
        "APPLICATION/JSON",
        "text/plain",
        "",
        "application/*",
    ]
)
queries = st.dictionaries(st.sampled_from(["__code", "q", "streamId"]), st.text(max_size=4), max_size=2)


@given(
    body=valid_requests(spec=CONTRACT, operation=TASK),
    headers=header_sets,
    content_type=content_types,
    query=queries,
)
def test_valid_bodies_with_any_headers_and_content_type(
    body: dict[str, Any], headers: dict[str, str], content_type: str, query: dict[str, str]
) -> None:
    assert_same_violations(
        stream_id="st-1",
        headers=Headers(headers),
        query=ImmutableMultiDict(query),
        content_type=content_type,
        body=orjson.dumps(body),
    )


@given(bad=invalid_requests(spec=CONTRACT, operation=TASK), with_auth=st.booleans())
def test_invalid_bodies(bad: InvalidRequest, with_auth: bool) -> None:
    headers = Headers({"auth": "x"} if with_auth else {})
    assert_same_violations(
        stream_id="st-1",
        headers=headers,
        query=ImmutableMultiDict(),
        content_type=bad.content_type or "",
        body=bad.body or b"",
    )


@given(value=JSON_VALUES, stream_id=st.text(max_size=5))
@example(value={}, stream_id="")
def test_any_json_and_stream_id(value: Any, stream_id: str) -> None:
    assert_same_violations(
        stream_id=stream_id,
        headers=Headers({"auth": "x", "accountId": "a"}),
        query=ImmutableMultiDict(),
        content_type="application/json",
        body=orjson.dumps(value),
    )


@given(body=valid_requests(spec=CONTRACT, operation=TASK), data=st.data())
def test_valid_bodies_with_a_few_leaves_changed(body: dict[str, Any], data: st.DataObject) -> None:
    # Near the schema's edges (a required field gone, a string that is now a number, a trailing
    # newline in an email): the compiled body check must leave every rejection to openapi-core.
    _mutate(data.draw, body, [2**63, -(2**63), 2**64 - 1, 1.5, 1e300])
    assert_same_violations(
        stream_id="st-1",
        headers=Headers({"auth": "x", "accountId": "a"}),
        query=ImmutableMultiDict(),
        content_type="application/json",
        body=orjson.dumps(body),
    )


def test_documented_requests_pass_the_compiled_body_check() -> None:
    # Otherwise every valid request would pay for openapi-core's validator again.
    for checks in VALIDATOR._checks.values():
        if checks.body is None:
            continue
        media = checks.body._find("application/json")
        assert media.check is not None and media.check.fast is not None
        for body in checks.operation.request_examples.values():
            assert media.check.accepts(body), body


def test_tables_are_built_for_every_operation() -> None:
    assert set(VALIDATOR._checks) == set(CONTRACT.operations)


# -- the answer's self-check ----------------------------------------------------------------------

ANSWERS = {status: list(TASK.response_examples(status).values()) for status in TASK.documented_statuses}
ANSWERS = {status: examples for status, examples in ANSWERS.items() if examples}
STATUSES = sorted(ANSWERS)


def openapi_core_problems(status: int, payload: Any) -> list[str]:
    """The schema check with openapi-core's schema validator alone, built here from the spec: the status's
    documented JSON schema."""
    spec = CONTRACT.openapi.spec
    responses = spec / "paths" / TASK.path_template / TASK.method.lower() / "responses"
    schema = responses / str(status) / "content" / "application/json" / "schema"
    validator = oas31_schema_validators_factory.create(spec, schema).validator
    return [f"{pointer('', e.absolute_path) or '/'}: {e.message}" for e in validator.iter_errors(payload)]


@st.composite
def mutated_answers(draw: st.DrawFn) -> tuple[int, Any]:
    """A documented answer with a few leaves replaced, removed or added."""
    status = draw(st.sampled_from(STATUSES))
    payload = copy.deepcopy(draw(st.sampled_from(ANSWERS.get(status) or ANSWERS[400])))
    _mutate(draw, payload, [2**63, -(2**63) - 1, 2**64 + 1, 1.5, 10**30])
    return status, payload


def _mutate(draw: st.DrawFn, payload: Any, big: list[Any]) -> None:
    """Replace, remove or extend up to three leaves of `payload` in place."""
    for _ in range(draw(st.integers(0, 3))):
        node, key = _pick(draw, payload)
        if node is None:
            break
        action = draw(st.sampled_from(["replace", "remove", "suffix", "big"]))
        if action == "remove" and isinstance(node, dict):
            del node[key]
        elif action == "suffix" and isinstance(node[key], str):
            node[key] += draw(st.sampled_from(["\n", "x", "Z", "", "\u0660"]))
        elif action == "big":
            node[key] = draw(st.sampled_from(big))
        else:
            node[key] = draw(JSON_VALUES)


def _pick(draw: st.DrawFn, payload: Any) -> tuple[Any, Any]:
    node = payload
    while True:
        if isinstance(node, dict) and node:
            key: Any = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            return None, None
        child = node[key]
        if not isinstance(child, dict | list) or not child or draw(st.booleans()):
            return node, key
        node = child


@given(answer=mutated_answers())
def test_the_self_checks_schema_check_agrees_with_openapi_core(answer: tuple[int, Any]) -> None:
    # The mock's self-check is the judge's: its compiled schema check must find what openapi-core finds.
    status, payload = answer
    check = JUDGE.schema_check(TASK, status)
    assert check is not None
    found = [f"{pointer('', e.absolute_path) or '/'}: {e.message}" for e in check.errors(payload)]
    assert found == openapi_core_problems(status, payload)


def test_documented_answers_pass_the_compiled_check() -> None:
    for status, payloads in ANSWERS.items():
        check = JUDGE.schema_check(TASK, status)
        assert check is not None
        assert check.fast is not None
        for payload in payloads:
            assert check.fast.is_valid(payload), (status, payload)
