"""The HTTP side: exact requests, paced and budgeted, with 429s waited out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket, retry_after_seconds

# Sentinels: the body is not JSON; the body was not parsed yet.
NOT_JSON: Any = object()
_UNPARSED: Any = object()


@dataclass(frozen=True)
class PreparedRequest:
    """One request exactly as sent: the body as bytes, headers in order, and which header values are secret."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    # header value -> the placeholder a report shows instead (`$KORE_JWT`).
    secrets: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The value of a header, by case-insensitive name."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class Exchange:
    """A request and what came back: an answer, or `error` when none did."""

    request: PreparedRequest
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    _json: Any = field(default=_UNPARSED, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The value of a response header, by case-insensitive name."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def media_type(self) -> str | None:
        """The response's media type without parameters, lower-cased."""
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None

    def json(self) -> Any:
        """The body parsed as JSON, or `NOT_JSON`."""
        if self._json is _UNPARSED:
            try:
                parsed = json.loads(self.body) if self.body else NOT_JSON
            except (ValueError, UnicodeDecodeError):
                parsed = NOT_JSON
            object.__setattr__(self, "_json", parsed)
        return self._json

    def body_excerpt(self, limit: int = 300) -> str:
        """The answer's body as text, cut to `limit` characters."""
        text = self.body.decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[:limit] + f"... ({len(self.body)} bytes)"


@dataclass
class ClientStats:
    """What the client did: requests sent (429s included), 429s waited out, consecutive transport errors."""

    sent: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0
    transport_errors_in_a_row: int = 0


class TargetGone(Exception):
    """The target stopped answering mid-run; raised inside the run, never out of it."""


class ContractClient:
    """Sends PreparedRequests to one operation URL, pacing them and waiting out 429s within the budget."""

    # After this many requests in a row got no answer at all, the target is taken to be down.
    MAX_TRANSPORT_ERRORS = 5

    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        bucket: TokenBucket,
        budget: Budget,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.stats = ClientStats()
        self._bucket = bucket
        self._budget = budget
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ContractClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare(
        self,
        body: bytes | None,
        headers: list[tuple[str, str]],
        *,
        secrets: tuple[tuple[str, str], ...] = (),
    ) -> PreparedRequest:
        """A POST to the operation URL with exactly these headers and body."""
        return PreparedRequest("POST", self.url, tuple(headers), body, secrets)

    def probe(self) -> httpx.Response:
        """One harmless request (GET, which the spec answers 405) to learn whether the target answers."""
        self._wait_for_slot()
        self.stats.sent += 1
        return self._http.get(self.url)

    def send(self, request: PreparedRequest) -> Exchange:
        """Send one request; a 429 is waited out (Retry-After) and the request sent again."""
        attempt = 0
        while True:
            self._wait_for_slot()
            self.stats.sent += 1
            started = time.perf_counter()
            try:
                response = self._http.request(
                    request.method,
                    request.url,
                    headers=list(request.headers),
                    content=request.body,
                )
            except httpx.TimeoutException as exc:
                return self._no_answer(
                    request, started, f"no answer within the client timeout ({exc.__class__.__name__})"
                )
            except httpx.TransportError as exc:
                return self._no_answer(request, started, f"{exc.__class__.__name__}: {exc}")
            elapsed = (time.perf_counter() - started) * 1000.0
            self.stats.transport_errors_in_a_row = 0
            if response.status_code == 429:
                # The platform's documented rate limit: waiting is the client's job, not a contract failure.
                wait = retry_after_seconds(response.headers.get("retry-after"), attempt)
                self.stats.rate_limited += 1
                self.stats.waited_s += wait
                attempt += 1
                self._budget.sleep(wait)
                continue
            return Exchange(
                request=request,
                status=response.status_code,
                headers=tuple(response.headers.multi_items()),
                body=response.content,
                elapsed_ms=elapsed,
            )

    def _wait_for_slot(self) -> None:
        if self._budget.exhausted:
            raise BudgetExhausted
        self._budget.sleep(self._bucket.delay())

    def _no_answer(self, request: PreparedRequest, started: float, reason: str) -> Exchange:
        self.stats.transport_errors_in_a_row += 1
        if self.stats.transport_errors_in_a_row > self.MAX_TRANSPORT_ERRORS:
            raise TargetGone(reason)
        return Exchange(request=request, elapsed_ms=(time.perf_counter() - started) * 1000.0, error=reason)


def operation_path(template: str, stream_id: str) -> str:
    """The operation's path with the stream id filled in, percent-encoded as one segment."""
    return template.replace("{streamId}", quote(stream_id, safe=""))
