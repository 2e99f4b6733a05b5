"""Auth like the platform: 401 `Invalid SDK credentials` (4002), with a detail naming what was wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from spec import Operation
from tests.mockserver.support import APP_ID, SECRET, headers, mint, operation_path

NOW = int(time.time())


def post(client: FlaskClient, body: Any, **extra: str) -> Any:
    hdrs = headers(**extra)
    for name in [k for k, v in extra.items() if v == "<absent>"]:
        del hdrs[name]
    return client.post(operation_path(), data=orjson.dumps(body), headers=hdrs)


def assert_401(task: Operation, response: Any, detail: str) -> None:
    assert response.status_code == 401
    platform = task.response_examples("401")["invalid-credentials"]["errors"][0]
    (error,) = response.json["errors"]
    assert (
        (error["msg"], error["code"])
        == (platform["msg"], platform["code"])
        == ("Invalid SDK credentials", 4002)
    )
    assert error["pointer"] == "/header/auth"
    assert detail in error["detail"], error["detail"]


@pytest.mark.parametrize(
    ("auth", "detail"),
    [
        ("<absent>", "the `auth` header is missing"),
        ("", "the `auth` header is empty"),
        ("not-a-token", "is not a JWT"),
        ("a.b.c", "is not a JWT"),
        (f"Bearer {mint()}", "`Bearer ` prefix"),
        (mint({"appId": APP_ID, "exp": NOW - 60}), "has expired"),
        (mint({"appId": APP_ID, "nbf": NOW + 3600}), "not valid yet"),
        (mint({"sub": "u-1"}), "no `appId` claim"),
        (mint({"appId": ""}), "no `appId` claim"),
        (mint({"appId": 42}), "no `appId` claim"),
        (jwt.encode({"appId": APP_ID}, None, algorithm="none"), "algorithm 'none'"),
        (mint(algorithm="HS512"), "algorithm 'HS512'"),
    ],
)
def test_each_kind_of_bad_token_says_what_is_wrong(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any], auth: str, detail: str
) -> None:
    assert_401(task, post(client, seed_body, auth=auth), detail)


def test_authorization_header_instead_of_auth_is_explained(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    response = post(client, seed_body, auth="<absent>", Authorization=f"Bearer {mint()}")
    assert_401(task, response, "not `Authorization`")


def test_without_a_secret_the_signature_is_not_checked(
    client: FlaskClient, seed_body: dict[str, Any]
) -> None:
    assert (
        post(client, seed_body, auth=mint(secret="some-other-secret-of-sufficient-length-000")).status_code
        == 200
    )


def test_with_a_secret_the_signature_is_verified(
    make_app: Callable[..., Flask], task: Operation, seed_body: dict[str, Any]
) -> None:
    client = make_app(jwt_secret=SECRET).test_client()
    assert post(client, seed_body).status_code == 200
    wrong = post(client, seed_body, auth=mint(secret="some-other-secret-of-sufficient-length-000"))
    assert_401(task, wrong, "signature does not verify")


def test_auth_header_name_is_case_insensitive(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    assert post(client, seed_body, auth="<absent>", AUTH=mint()).status_code == 200


def test_auth_comes_before_body_validation(client: FlaskClient, task: Operation) -> None:
    assert_401(task, post(client, {"not": "a task"}, auth="garbage"), "is not a JWT")
    response = client.post(operation_path(), data=b"{", headers={"Content-Type": "application/json"})
    assert_401(task, response, "missing")


def test_a_missing_auth_header_is_401_not_400(
    client: FlaskClient, task: Operation, seed_body: dict[str, Any]
) -> None:
    response = client.post(operation_path(), json=seed_body)
    assert_401(task, response, "missing")


def test_the_token_is_never_echoed(client: FlaskClient, seed_body: dict[str, Any]) -> None:
    token = "x" * 30 + "SECRETPART"
    response = post(client, seed_body, auth=token)
    assert b"SECRETPART" not in response.data
