"""Tokens: the run's own (given, or minted from client credentials) and the bad ones the auth check sends."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

# How the platform signs an app's JWT (spec: components.securitySchemes.jwtAuth).
ALGORITHM = "HS256"
APP_ID_CLAIM = "appId"
SUBJECT = "kore-contract-tests"
PLACEHOLDER = "$KORE_JWT"
# Minted tokens say they were issued this long ago: a target whose clock is behind this machine's
# refuses a token issued "in the future" (PyJWT's `iat` check), which is no fault of the target.
CLOCK_SKEW_S = 60


@dataclass(frozen=True)
class AuthCase:
    """A token the platform documents as refused (401): missing, malformed, wrongly signed, expired..."""

    name: str
    description: str
    # The `auth` header to send; None sends no header.
    token: str | None
    # Shown instead of the token in reports when it was signed with the real client secret.
    placeholder: str | None = None


class Tokens:
    """The run's credentials: a given JWT, or client credentials to mint one (and bad ones) from."""

    def __init__(
        self,
        *,
        jwt_token: str | None,
        client_id: str | None,
        client_secret: str | None,
        seed: int,
        lifetime_s: float,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._seed = seed
        if jwt_token is not None:
            self.token = jwt_token
        else:
            assert client_id is not None and client_secret is not None
            self.token = self._mint({"exp": int(time.time() + lifetime_s)})

    @property
    def can_mint(self) -> bool:
        """Whether client credentials were given (expired and claim-less tokens need the secret)."""
        return self._client_id is not None and self._client_secret is not None

    def secrets(self) -> tuple[tuple[str, str], ...]:
        """(secret value, placeholder) pairs reports redact."""
        return ((self.token, PLACEHOLDER),)

    def cases(self) -> list[AuthCase]:
        """Every bad token this run can send; expired and claim-less ones need client credentials."""
        claims = self._claims()
        # A key derived from the seed, not a random one, so the same seed sends the same tokens.
        wrong_key = hashlib.sha256(f"kore-contract-tests-wrong-key-{self._seed}".encode()).hexdigest()
        cases = [
            AuthCase("missing-token", "no `auth` header", None),
            AuthCase("malformed-token", "an `auth` header that is not a JWT", "not-a-jwt"),
            AuthCase(
                "wrong-signature",
                "the run's claims signed with a key that is not the app's client secret",
                _sign(claims, wrong_key),
            ),
            AuthCase(
                "unsigned-token", "the run's claims with `alg: none` and no signature", _unsigned(claims)
            ),
        ]
        if self.can_mint:
            now = int(time.time())
            cases.append(
                AuthCase(
                    "expired-token",
                    "a token signed with the client secret whose `exp` passed an hour ago",
                    self._mint({"iat": now - 7200, "exp": now - 3600}),
                    "$KORE_EXPIRED_JWT",
                )
            )
            no_app = {"sub": SUBJECT, "iat": now - CLOCK_SKEW_S, "exp": now + 3600}
            assert self._client_secret is not None
            cases.append(
                AuthCase(
                    "no-appId-claim",
                    f"a token signed with the client secret without the `{APP_ID_CLAIM}` claim",
                    _sign(no_app, self._client_secret),
                    "$KORE_NO_APPID_JWT",
                )
            )
        return cases

    def _mint(self, extra: dict[str, Any]) -> str:
        assert self._client_id is not None and self._client_secret is not None
        claims = {
            APP_ID_CLAIM: self._client_id,
            "sub": SUBJECT,
            "iat": int(time.time()) - CLOCK_SKEW_S,
            **extra,
        }
        return _sign(claims, self._client_secret)

    def _claims(self) -> dict[str, Any]:
        """The run's token's claims (unverified: only to copy them), or made-up ones."""
        try:
            claims = jwt.decode(self.token, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        if not isinstance(claims, dict) or APP_ID_CLAIM not in claims:
            claims = {
                APP_ID_CLAIM: self._client_id or "cs-00000000-0000-0000-0000-000000000000",
                "sub": SUBJECT,
            }
        # Keep it unexpired so that only the signature is wrong.
        claims.pop("exp", None)
        return claims


def _sign(claims: dict[str, Any], key: str) -> str:
    """An HS256 JWT; the app's secret is what the platform issued, so PyJWT's key-length advice is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=ALGORITHM)


def _unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` JWT: header and payload, empty signature."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
