"""The HTTP side: exact requests, paced and budgeted, with 429s waited out."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket, retry_after_seconds
from spec import Operation

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
    # The operation it calls, and the path parameters filled into its path (as the judge reads them).
    operation: str = ""
    path_params: tuple[tuple[str, str], ...] = ()

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


class Unsendable(Exception):
    """HTTP cannot carry the request (a header value holding a newline...): it was not sent."""


class ContractClient:
    """Sends PreparedRequests to the operations of one base URL, pacing them and waiting out 429s within the budget."""

    # After this many requests in a row got no answer at all, the target is taken to be down.
    MAX_TRANSPORT_ERRORS = 5

    def __init__(
        self,
        base_url: str,
        *,
        bucket: TokenBucket,
        budget: Budget,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
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
        operation: Operation,
        path_params: Mapping[str, str],
        body: bytes | None,
        headers: list[tuple[str, str]],
        *,
        query: Mapping[str, str] | None = None,
        secrets: tuple[tuple[str, str], ...] = (),
    ) -> PreparedRequest:
        """A call of `operation` with these path and query parameters and exactly these headers and body."""
        search = "?" + urlencode(dict(query), quote_via=quote) if query else ""
        return PreparedRequest(
            operation.method,
            self.base_url + operation.path(**path_params) + search,
            tuple(headers),
            body,
            secrets,
            operation=operation.id,
            path_params=tuple(path_params.items()),
        )

    def probe(self, path: str) -> httpx.Response:
        """One harmless request (GET, safe by HTTP's rules) to learn whether the target answers."""
        self._wait_for_slot()
        self.stats.sent += 1
        return self._http.get(self.base_url + path)

    def send(self, request: PreparedRequest) -> Exchange:
        """Send one request; a 429 is waited out (Retry-After) and the request sent again."""
        try:
            # Header values as Latin-1 bytes, HTTP's own reading of them (what a WSGI server decodes).
            headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in request.headers]
        except UnicodeEncodeError as exc:
            raise Unsendable(f"a header HTTP cannot carry: {exc}") from None
        attempt = 0
        while True:
            self._wait_for_slot()
            self.stats.sent += 1
            started = time.perf_counter()
            try:
                response = self._http.request(
                    request.method, request.url, headers=headers, content=request.body
                )
            except httpx.LocalProtocolError as exc:
                raise Unsendable(str(exc)) from None
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
