"""The platform's auth rule: an `auth` header holding an unexpired HS256 JWT with an `appId` claim.

Every failure answers the platform's 401 (`Invalid SDK credentials`, 4002); the `detail` says which
rule the token broke, which the platform does not, and which is the point of a mock.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.types import Options
from werkzeug.datastructures import Headers

from mockserver._errors import Kind, Violation

ALGORITHM = "HS256"
AUTH_HEADER = "auth"
# What `python -m mockserver token` signs with when given no secret: a mock started without
# --jwt-secret does not check signatures, so any secret would do; this one is documented.
DEVELOPMENT_SECRET = "kore-mock-development-secret-0000"
# The app of the tokens the mock hands out itself (its banner's curl, its docs' "Try it out").
SAMPLE_APP_ID = "cs-5f7e1b0a-9c3d-5e2f-8a4b-1c2d3e4f5a6b"
_POINTER = "/header/auth"
# Tokens that verified, remembered so that a client sending the same token again (as SDKs do, for
# the token's lifetime) is not decoded and HMAC-checked anew on every request. Bounded: when full,
# it is emptied and refilled.
_VERIFIED_MAX = 4096
_HOW = (
    "Documented: the `auth` header carries a JWT signed HS256 with the app's client secret, with claim "
    "`appId` = the app's client id (see the jwtAuth security scheme). Fix: "
)


@dataclass(frozen=True)
class Identity:
    """Who is calling: the app of the token, and its verified claims."""

    app_id: str
    claims: Mapping[str, Any]


def mint_token(app_id: str, secret: str, *, sub: str = "mock-user", expires_in: int | None = None) -> str:
    """An HS256 JWT as the platform expects in `auth`: `appId`, `sub`, `iat` (and `exp` if asked).

    Example:
        >>> token = mint_token(SAMPLE_APP_ID, DEVELOPMENT_SECRET)
        >>> jwt.decode(token, DEVELOPMENT_SECRET, algorithms=[ALGORITHM])["appId"] == SAMPLE_APP_ID
        True
    """
    now = int(time.time())
    claims: dict[str, Any] = {"appId": app_id, "sub": sub, "iat": now}
    if expires_in is not None:
        claims["exp"] = now + expires_in
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def derived_account_id(app_id: str, seed: int) -> str:
    """A stable 24-hex account id for an app that sent no `accountId` header."""
    return hashlib.sha256(f"{seed}:{app_id}".encode()).hexdigest()[:24]


class Authenticator:
    """Checks the `auth` header; with a secret, the signature too (as the platform does)."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret
        self._jwt = jwt.PyJWT()
        # Tokens without `aud` are the platform's norm; one that carries an audience must not be
        # rejected for it, since the platform documents none. Without a secret the signature is not
        # checked, but PyJWT would then skip the time claims too unless asked explicitly.
        self._options: Options = {
            "verify_signature": secret is not None,
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iat": True,
            "verify_aud": False,
            "verify_iss": False,
        }
        # header value -> (identity, valid from, valid until): the instants between which PyJWT's
        # iat/nbf/exp checks pass. Outside them the token is decoded again and PyJWT says why not.
        self._verified: dict[str, tuple[Identity, float, float]] = {}

    def authenticate(self, headers: Headers) -> Identity | Violation:
        """The caller's identity, or the 401 violation saying what is wrong with the token."""
        raw = headers.get(AUTH_HEADER)
        if raw is not None:
            known = self._verified.get(raw)
            if known is not None and known[1] <= time.time() < known[2]:
                return known[0]
        found = self._authenticate(raw, headers)
        if isinstance(found, Identity) and raw is not None:
            if len(self._verified) >= _VERIFIED_MAX:
                self._verified.clear()
            self._verified[raw] = (found, *_validity(found.claims))
        return found

    def _authenticate(self, token: str | None, headers: Headers) -> Identity | Violation:
        if token is None:
            hint = (
                " An `Authorization` header was sent: the platform reads the JWT from `auth`, not `Authorization`."
                if headers.get("authorization") is not None
                else ""
            )
            return _fail(
                "the `auth` header is missing", f"Received: no `auth` header.{hint} {_HOW}send `auth: <JWT>`."
            )
        token = token.strip()
        if not token:
            return _fail(
                "the `auth` header is empty", f"Received: an empty `auth` header. {_HOW}send `auth: <JWT>`."
            )
        if token.lower().startswith("bearer "):
            return _fail(
                "the `auth` header has a `Bearer ` prefix",
                f"Received: `Bearer <token>`. {_HOW}send the bare JWT, without `Bearer `.",
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            return _fail(
                "the `auth` header is not a JWT",
                f"Received: {_shape(token)} ({exc}). {_HOW}send a JWT: three base64url parts, header.payload.signature.",
            )
        algorithm = header.get("alg")
        if algorithm != ALGORITHM:
            return _fail(
                f"the JWT uses algorithm {algorithm!r}, not {ALGORITHM}",
                f"Received: alg {algorithm!r}. {_HOW}sign the token with {ALGORITHM}.",
            )
        try:
            claims = self._jwt.decode(
                token, self._secret or "", algorithms=[ALGORITHM], options=self._options
            )
        except jwt.ExpiredSignatureError:
            expired = _unverified_claims(token).get("exp")
            when = _instant(expired)
            return _fail(
                "the JWT has expired",
                f"Received: exp {expired!r}{' (' + when + ')' if when else ''}, in the past. {_HOW}mint a new token, "
                "or omit `exp`.",
            )
        except jwt.ImmatureSignatureError as exc:
            return _fail(
                "the JWT is not valid yet",
                f"Received: {exc} (nbf or iat in the future). {_HOW}check the clock.",
            )
        except jwt.InvalidSignatureError:
            return _fail(
                "the JWT signature does not verify",
                f"Received: a token signed with another secret. {_HOW}sign it with the client secret the mock was "
                "started with (--jwt-secret).",
            )
        except jwt.InvalidTokenError as exc:
            return _fail("the JWT is invalid", f"Received: {exc}. {_HOW}mint a well-formed token.")
        app_id = claims.get("appId")
        if not isinstance(app_id, str) or not app_id.strip():
            return _fail(
                "the JWT has no `appId` claim",
                f"Received: claims {sorted(claims)}{'' if app_id is None else ', appId ' + repr(app_id)}. "
                f"{_HOW}add the claim `appId` with the app's client id (cs-...).",
            )
        return Identity(app_id=app_id, claims=claims)


def _validity(claims: Mapping[str, Any]) -> tuple[float, float]:
    """When PyJWT's time checks pass for these claims: from max(iat, nbf) included, until exp excluded."""
    start, end = -math.inf, math.inf
    for name in ("iat", "nbf"):
        if name in claims:
            start = max(start, int(claims[name]))
    if "exp" in claims:
        end = int(claims["exp"])
    return start, end


def _fail(msg: str, detail: str) -> Violation:
    return Violation(Kind.UNAUTHORIZED, msg, _POINTER, detail)


def _shape(token: str) -> str:
    """Describe a non-JWT without echoing a credential."""
    return f"{len(token)} characters in {token.count('.') + 1} dot-separated part(s)"


def _unverified_claims(token: str) -> Mapping[str, Any]:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}


def _instant(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            return ""
    return ""
