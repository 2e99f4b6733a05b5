"""Property tests: generated valid requests get tasks, generated invalid ones the documented errors, noise no 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from generators import InvalidRequest, invalid_requests, valid_requests
from spec import RequestFacts, check_relations, load_spec
from tests.mockserver.support import ACCOUNT, STREAM, headers, operation_path, schema_problems, task_operation

CONTRACT = load_spec()
TASK = task_operation()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """One app for every example (Hypothesis runs many examples per test function)."""
    from mockserver import MockConfig, create_app

    state = Path(tmp_path_factory.mktemp("properties")) / "state.sqlite3"
    return create_app(MockConfig(seed=5, state_file=state)).test_client()


def assert_healthy(client: FlaskClient) -> None:
    health = client.get("/__admin/health").json
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)


@given(body=valid_requests(spec=CONTRACT, operation=TASK))
def test_valid_requests_get_a_task_keeping_every_relation(
    shared_client: FlaskClient, body: dict[str, Any]
) -> None:
    response = shared_client.post(operation_path(), data=orjson.dumps(body), headers=headers())
    assert response.status_code == 200, response.data[:1000]
    assert schema_problems(200, response.json) == []
    facts = RequestFacts(body=body, path={"streamId": STREAM}, headers={"accountId": ACCOUNT})
    assert check_relations(TASK.relations, facts, response.json) == []


@given(bad=invalid_requests(spec=CONTRACT, operation=TASK))
def test_invalid_requests_get_the_documented_error(shared_client: FlaskClient, bad: InvalidRequest) -> None:
    hdrs = headers()
    del hdrs["Content-Type"]
    if bad.content_type is not None:
        hdrs["Content-Type"] = bad.content_type
    response = shared_client.post(operation_path(), data=bad.body or b"", headers=hdrs)
    assert response.status_code in bad.expected_statuses, (str(bad), response.data[:1000])
    assert schema_problems(response.status_code, response.json) == []
    assert_healthy(shared_client)


@given(
    body=JSON_VALUES,
    extra=st.dictionaries(st.sampled_from(["accountId", "Prefer", "client-app", "Iid"]), st.text()),
)
def test_any_json_and_headers_never_get_a_server_error(
    shared_client: FlaskClient, body: Any, extra: dict[str, str]
) -> None:
    hdrs = headers()
    # Header values must be latin-1 without line breaks to be sendable at all.
    hdrs.update(
        {
            k: v
            for k, v in extra.items()
            if v.isprintable() and v.encode("latin-1", "ignore").decode("latin-1") == v
        }
    )
    # json, not orjson: integers beyond 64 bits are JSON too, and the mock must cope with them.
    response = shared_client.post(operation_path(), data=json.dumps(body), headers=hdrs)
    if response.status_code >= 500:  # only when asked for: `Prefer: code=500` or 503
        assert "code=5" in hdrs.get("Prefer", ""), response.data[:500]
    assert schema_problems(response.status_code, response.json) == []


@given(raw=st.binary(max_size=200))
def test_any_bytes_never_get_a_server_error(shared_client: FlaskClient, raw: bytes) -> None:
    response = shared_client.post(operation_path(), data=raw, headers=headers())
    assert 400 <= response.status_code < 500 or response.status_code == 200
    assert_healthy(shared_client)


@given(stream_id=st.text(min_size=1).filter(lambda s: "/" not in s))
def test_any_stream_id_gets_a_status_the_operation_documents(
    shared_client: FlaskClient, stream_id: str
) -> None:
    body = TASK.request_examples["seed-sample"]
    response = shared_client.post(TASK.path(streamId=stream_id), json=body, headers=headers())
    assert response.status_code in TASK.documented_statuses, response.data[:300]
    assert schema_problems(response.status_code, response.json) == []
    assert_healthy(shared_client)
