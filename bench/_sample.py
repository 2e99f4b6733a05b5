"""The seed page's sample request, as the benchmark sends it: body, path and headers, with a valid JWT."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
import orjson

from spec import ContractSpec

# The seed page's curl sends these browser headers besides the ones the spec documents as parameters
# (decision `browser-headers`); they are part of what the platform's web client really sends.
BROWSER_HEADERS = {
    "sec-ch-ua": '"Google Chrome";v="123", "Not:A-Brand";v="8", "Chromium";v="123"',
    "sec-ch-ua-mobile": "?0",
    "Accept": "application/json, text/plain, */*",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
    "Referer": "http://localhost/builder/app/welcomeflows",
    "sec-ch-ua-platform": '"Linux"',
}
CONTENT_TYPE = "application/json;charset=UTF-8"  # as the seed page's curl writes it
APP_ID = "cs-5f7e1b0a-9c3d-5e2f-8a4b-1c2d3e4f5a6b"
# A real 24-hex account id (the spec's example ends in the page's `xxxx` placeholder).
ACCOUNT_ID = "6639f7bd58c97ffac03b1a2c"
BENCH_SECRET = "kore-bench-secret-0123456789abcdef"
# What the bench sends by default: the seed page's own operation and sample.
OPERATION = "createTask"
EXAMPLE = "seed-sample"


@dataclass(frozen=True)
class SampleRequest:
    """One POST: the path (with the spec's example stream id), the headers and the JSON body."""

    path: str
    headers: dict[str, str]
    body: bytes


def mint_jwt(secret: str, *, app_id: str = APP_ID, lifetime_s: int = 24 * 3600) -> str:
    """An HS256 token as the platform expects in `auth`: `appId`, `sub`, `iat`, `exp`."""
    now = int(time.time())
    claims: dict[str, Any] = {"appId": app_id, "sub": "bench-user", "iat": now - 5, "exp": now + lifetime_s}
    return jwt.encode(claims, secret, algorithm="HS256")


def sample_request(
    contract: ContractSpec, token: str, *, operation: str = OPERATION, example: str = EXAMPLE
) -> SampleRequest:
    """An operation's named example body with every header the seed page's curl sends, values from the spec."""
    chosen = contract.operation(operation)
    parameters = chosen.parameters
    path_values = {p["name"]: str(p["example"]) for p in parameters if p["in"] == "path"}
    headers = {p["name"]: str(p["example"]) for p in parameters if p["in"] == "header" and "example" in p}
    for name in list(headers):
        if name.lower() == "accountid":
            headers[name] = ACCOUNT_ID
    headers.update(BROWSER_HEADERS)
    headers["Content-Type"] = CONTENT_TYPE
    headers[next(iter(contract.auth_headers.values()), "auth")] = token
    path = chosen.path(**path_values)
    body = orjson.dumps(chosen.request_examples[example])
    return SampleRequest(path=path, headers=headers, body=body)
