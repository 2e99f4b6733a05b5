"""A token that verified is remembered, but only while PyJWT's time checks would still pass."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from werkzeug.datastructures import Headers

from mockserver._auth import Authenticator, Identity
from mockserver._errors import Violation
from tests.mockserver.support import APP_ID, SECRET, mint


def authenticate(auth: Authenticator, token: str) -> Identity | Violation:
    return auth.authenticate(Headers({"auth": token}))


def test_the_same_token_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator(SECRET)
    token = mint({"appId": APP_ID, "exp": int(time.time()) + 3600})
    first = authenticate(auth, token)
    assert isinstance(first, Identity) and first.app_id == APP_ID

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded again")

    monkeypatch.setattr(auth._jwt, "decode", refuse)
    assert authenticate(auth, token) == first


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator(SECRET)
    now = int(time.time())
    token = mint({"appId": APP_ID, "iat": now, "exp": now + 60})
    assert isinstance(authenticate(auth, token), Identity)
    later = now + 120

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(later, UTC) if tz is None else datetime.fromtimestamp(later, tz)

    monkeypatch.setattr("mockserver._auth.time.time", lambda: float(later))
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    refused = authenticate(auth, token)
    assert isinstance(refused, Violation) and refused.msg == "the JWT has expired"


def test_tokens_that_fail_are_not_remembered() -> None:
    auth = Authenticator(SECRET)
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    token = mint({"appId": APP_ID, "nbf": future})
    for _ in range(2):
        refused = authenticate(auth, token)
        assert isinstance(refused, Violation) and refused.msg == "the JWT is not valid yet"
    assert auth._verified == {}


def test_a_token_signed_with_another_secret_is_refused_even_after_a_good_one() -> None:
    auth = Authenticator(SECRET)
    assert isinstance(authenticate(auth, mint({"appId": APP_ID})), Identity)
    refused = authenticate(
        auth, mint({"appId": APP_ID}, secret="another-secret-that-is-long-enough-0123456789")
    )
    assert isinstance(refused, Violation) and refused.msg == "the JWT signature does not verify"
