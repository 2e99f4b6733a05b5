"""Successful answers: the task echoes its request, refIds count per account, Prefer picks documented answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver._auth import DEVELOPMENT_SECRET, SAMPLE_APP_ID
from mockserver._config import parse_instant
from spec import ContractSpec, Operation, RequestFacts, check_relations
from tests.mockserver.support import ACCOUNT, FROZEN, STREAM, headers, mint, operation_path, schema_problems


def create(client: FlaskClient, body: Any, **extra: str) -> Any:
    query = extra.pop("query", "")
    return client.post(operation_path() + query, data=orjson.dumps(body), headers=headers(**extra))


def assert_valid_task(task: Operation, body: dict[str, Any], answer: Any, account: str = ACCOUNT) -> None:
    assert schema_problems(200, answer, task) == []
    facts = RequestFacts(body=body, path={"streamId": STREAM}, headers={"accountId": account})
    assert check_relations(task.relations, facts, answer) == []


@pytest.mark.parametrize("name", ["seed-sample", "email-only-user", "phone-only-user", "no-task-name"])
def test_every_request_example_gets_a_task_keeping_every_relation(
    client: FlaskClient, task: Operation, name: str
) -> None:
    body = task.request_examples[name]
    response = create(client, body)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "X-Mock-Self-Check" not in response.headers
    assert_valid_task(task, body, response.json)


def test_refid_counts_per_account_and_ids_are_new(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    first = [create(client, seed_body).json for _ in range(3)]
    other = create(client, seed_body, accountId="6639f7bd58c97ffac03b9999").json
    assert [t["refId"] for t in first] == ["TS000001", "TS000002", "TS000003"]
    assert other["refId"] == "TS000001"
    assert len({t["_id"] for t in [*first, other]}) == 4


def test_without_account_header_the_account_is_derived_from_the_app(
    client: FlaskClient, seed_body: dict[str, Any]
) -> None:
    hdrs = headers()
    del hdrs["accountId"]
    one = client.post(operation_path(), data=orjson.dumps(seed_body), headers=hdrs).json
    two = client.post(operation_path(), data=orjson.dumps(seed_body), headers=hdrs).json
    assert one["accountId"] == two["accountId"]
    assert len(one["accountId"]) == 24 and int(one["accountId"], 16) >= 0
    other_app = {**hdrs, "auth": mint({"appId": "cs-another-app"})}
    three = client.post(operation_path(), data=orjson.dumps(seed_body), headers=other_app).json
    assert three["accountId"] != one["accountId"]


def test_account_header_is_case_insensitive(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    hdrs = headers()
    del hdrs["accountId"]
    hdrs["ACCOUNTID"] = ACCOUNT
    assert (
        client.post(operation_path(), data=orjson.dumps(seed_body), headers=hdrs).json["accountId"] == ACCOUNT
    )


def test_frozen_time_stamps_every_task_at_that_instant(
    client: FlaskClient, seed_body: dict[str, Any]
) -> None:
    task = create(client, seed_body).json
    assert task["createdAt"] == task["updatedAt"] == FROZEN
    assert task["timestampValue"] == int(parse_instant(FROZEN).timestamp() * 1000)


def test_same_seed_same_bytes_across_apps(make_app: Callable[..., Flask], seed_body: dict[str, Any]) -> None:
    def run() -> list[bytes]:
        client = make_app(seed=11, freeze_time=parse_instant(FROZEN)).test_client()
        return [create(client, seed_body).data for _ in range(3)]

    assert run() == run()


def test_without_frozen_time_a_seed_fixes_everything_the_clock_included(
    make_app: Callable[..., Flask], seed_body: dict[str, Any]
) -> None:
    # A seeded mock's clock is a sequence from the seed sample's instant, so timestamps repeat too.
    def run() -> list[bytes]:
        client = make_app(seed=11).test_client()
        return [create(client, seed_body).data for _ in range(2)]

    first = run()
    assert first == run()
    assert orjson.loads(first[0])["createdAt"] != orjson.loads(first[1])["createdAt"]  # it still moves on


def test_different_seeds_mint_different_ids(
    make_app: Callable[..., Flask], seed_body: dict[str, Any]
) -> None:
    one = create(make_app(seed=1).test_client(), seed_body).json
    two = create(make_app(seed=2).test_client(), seed_body).json
    assert one["_id"] != two["_id"]


# -- Prefer and __ query parameters ------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("code", ["400", "401", "404", "405", "413", "415", "429", "500", "503"])
def test_prefer_code_answers_the_first_documented_example(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any], how: str, code: str
) -> None:
    extra = {"Prefer": f"code={code}"} if how == "header" else {"query": f"?__code={code}"}
    response = create(client, seed_body, **extra)
    assert response.status_code == int(code)
    assert response.json == next(iter(task.response_examples(code).values()))
    if code == "429":
        assert response.headers["Retry-After"] == "30"


def test_prefer_error_code_needs_no_valid_token(client: FlaskClient) -> None:
    response = client.post(
        operation_path(), data=b"{", headers={"Prefer": "code=503", "Content-Type": "application/json"}
    )
    assert response.status_code == 503


def test_prefer_code_200_builds_the_task(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    response = create(client, seed_body, Prefer="code=200")
    assert response.status_code == 200
    assert_valid_task(task, seed_body, response.json)


@pytest.mark.parametrize("name", ["seed-sample", "email-only-user", "no-task-name"])
def test_prefer_example_answers_it_verbatim(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any], name: str
) -> None:
    response = create(client, seed_body, Prefer=f"example={name}")
    assert response.status_code == 200
    assert response.json == task.response_examples()[name]


def test_prefer_error_example_by_name(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    response = create(client, seed_body, Prefer="example=no-contact")
    assert response.status_code == 400
    assert response.json == task.response_examples("400")["no-contact"]
    response = create(client, seed_body, query="?__code=400&__example=malformed-json")
    assert response.json == task.response_examples("400")["malformed-json"]


def test_dynamic_false_answers_the_seed_sample(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    for extra in ({"Prefer": "dynamic=false"}, {"query": "?__dynamic=false"}):
        response = create(client, seed_body, **extra)
        assert response.status_code == 200
        assert response.json == task.response_examples()["seed-sample"]


def test_a_200_example_still_needs_auth_and_a_valid_body(
    client: FlaskClient, seed_body: dict[str, Any]
) -> None:
    assert create(client, seed_body, Prefer="example=seed-sample", auth="nope").status_code == 401
    del seed_body["caseId"]
    assert create(client, seed_body, Prefer="dynamic=false").status_code == 400


def test_prefer_seed_derives_ids_from_that_seed(
    client: FlaskClient, make_app: Callable[..., Flask], seed_body: dict[str, Any]
) -> None:
    one = create(client, seed_body, Prefer="seed=99").json
    other_app = make_app(seed=1234).test_client()
    two = create(other_app, seed_body, Prefer="seed=99").json
    three = create(other_app, seed_body).json
    assert one["_id"] == two["_id"] and one["createdBy"] == two["createdBy"]
    assert three["_id"] != two["_id"] or three["createdBy"] != two["createdBy"]


def test_prism_style_separators_and_unknown_preferences(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    response = create(client, seed_body, Prefer='return=representation; code="401", respond-async')
    assert response.status_code == 401
    assert response.json == task.response_examples("401")["invalid-credentials"]
    assert create(client, seed_body, Prefer="return=minimal").status_code == 200


def test_query_parameter_wins_over_the_header(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    response = create(client, seed_body, Prefer="code=500", query="?__code=503")
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("extra", "pointer", "mentions"),
    [
        ({"Prefer": "code=418"}, "/header/prefer", "200, 400, 401"),
        ({"Prefer": "code=abc"}, "/header/prefer", "200, 400, 401"),
        ({"Prefer": "example=nope"}, "/header/prefer", "seed-sample"),
        ({"Prefer": "code=401, example=seed-sample"}, "/header/prefer", "invalid-credentials"),
        ({"Prefer": "dynamic=maybe"}, "/header/prefer", "true or false"),
        ({"query": "?__seed=x"}, "/query/__seed", "integer"),
    ],
)
def test_undocumented_preferences_are_400_naming_what_exists(
    client: FlaskClient, seed_body: dict[str, Any], extra: dict[str, str], pointer: str, mentions: str
) -> None:
    response = create(client, seed_body, **extra)
    assert response.status_code == 400
    (error,) = response.json["errors"]
    assert error["pointer"] == pointer and error["code"] == 400
    assert mentions in error["detail"]


# -- the spec and its documentation ------------------------------------------------------------


def test_openapi_json_and_yaml_are_the_bundled_spec(client: FlaskClient, contract: ContractSpec) -> None:
    import yaml

    as_json = client.get("/openapi.json")
    assert as_json.status_code == 200 and as_json.json == orjson.loads(contract.bundle_json())
    as_yaml = client.get("/openapi.yaml")
    assert as_yaml.status_code == 200 and yaml.safe_load(as_yaml.data) == as_json.json


def test_docs_redirect_and_serve_local_assets(client: FlaskClient) -> None:
    redirect = client.get("/docs")
    assert redirect.status_code == 308 and redirect.headers["Location"].endswith("/docs/")
    page = client.get("/docs/")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    text = page.get_data(as_text=True)
    assert "cdn" not in text.lower() and "https://unpkg" not in text
    assert client.get("/docs/openapi.json").status_code == 200
    assert client.get("/docs/no-such-file.js").status_code == 404


def test_docs_that_fail_to_build_answer_503_and_the_api_still_works(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        raise RuntimeError("no templates")

    monkeypatch.setattr("spec.docs.build_docs", broken)
    page = client.get("/docs/")
    assert page.status_code == 503
    [error] = page.json["errors"]  # type: ignore[index]
    assert error["msg"] == "documentation is not built" and "no templates" in error["detail"]
    assert client.get("/docs/").status_code == 503  # remembered, not rebuilt
    assert client.post(operation_path(), data=orjson.dumps({}), headers=headers()).status_code == 400


def _docs_config(client: FlaskClient) -> Any:
    page = client.get("/docs/").get_data(as_text=True)
    start = page.index('<script id="docs-config" type="application/json">') + len(
        '<script id="docs-config" type="application/json">'
    )
    return orjson.loads(page[start : page.index("</script>", start)])


def test_docs_try_it_out_on_this_mock_with_a_token_only_when_signatures_are_not_checked(
    make_app: Callable[..., Flask],
) -> None:
    unverified = make_app(seed=7).test_client()
    config = _docs_config(unverified)
    assert config["tryItOut"] is True and config["authScheme"] == "jwtAuth"
    # The token the page fills in is the development one `python -m mockserver token` prints, and this mock
    # accepts it.
    claims = jwt.decode(config["authToken"], DEVELOPMENT_SECRET, algorithms=["HS256"])
    assert claims["appId"] == SAMPLE_APP_ID
    answer = unverified.post(
        operation_path(),
        json={
            "caseId": "ci-1",
            "caseRefId": "CS1",
            "taskTmp": "ttm-1",
            "userInfo": {"_id": "u-1", "name": "n"},
            "source": "rtm",
        },
        headers={"auth": config["authToken"]},
    )
    assert answer.status_code == 200, answer.json
    # With --jwt-secret, a valid token in a page anyone who reaches the mock can load would give the
    # secret's power away: none is written.
    verified = make_app(seed=7, jwt_secret="s3cr3t-0123456789abcdef-0123456789").test_client()
    assert _docs_config(verified)["authToken"] is None


# -- the self-check -------------------------------------------------------------------------------


def test_the_self_check_flags_a_broken_relation_and_a_broken_schema(
    app: Flask, task: Operation, seed_body: dict[str, Any]
) -> None:
    service = app.config["MOCK_SERVICE"]
    produce = service.producers[task.id]
    client = app.test_client()

    def other_case(*args: Any) -> Any:
        return {**produce(*args), "caseId": "ci-not-the-one-sent"}

    service.producers[task.id] = other_case
    flagged = create(client, seed_body)
    assert flagged.status_code == 200 and flagged.headers["X-Mock-Self-Check"] == "failed"

    def no_ref_id(*args: Any) -> Any:
        answer = produce(*args)
        del answer["refId"]
        return answer

    # Past the answers judged whole, the compiled schema check still sees every answer.
    service.producers[task.id] = no_ref_id
    for _ in range(300):
        assert create(client, seed_body).headers["X-Mock-Self-Check"] == "failed"
    assert client.get("/__admin/health").json["selfCheckFailures"] == 301
