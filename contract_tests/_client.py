"""The HTTP side: exact requests, paced and budgeted, with 429s waited out.

A target may be hostile: every request has one deadline for the whole exchange and an answer is read
up to a cap (`_transport`); redirects are not followed (a 3xx is judged as the answer it is, so no
request, and no `auth` header, ever goes to another origin); a credential a target echoes back is
replaced by its placeholder before anything reads the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket, retry_after_seconds
from contract_tests._transport import Deadline, bound_by, read_capped, size_text
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
            except (ValueError, UnicodeDecodeError, RecursionError):
                # RecursionError: arrays nested deeper than the interpreter's stack (`[[[[...`).
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


class Interrupted(Exception):
    """Ctrl-C (SIGINT) ended the run; raised inside the run, never out of it."""


class Unsendable(Exception):
    """HTTP cannot carry the request (a header value holding a newline...): it was not sent."""


class ContractClient:
    """Sends PreparedRequests to the operations of one base URL, pacing them and waiting out 429s within the budget."""

    # After this many requests in a row got no answer at all, the target is taken to be down.
    MAX_TRANSPORT_ERRORS = 5
    # The probe waits at most this share of the budget: a target that never answers leaves the rest
    # to the operations' requests, whose silence is then reported.
    PROBE_SHARE = 0.25

    def __init__(
        self,
        base_url: str,
        *,
        bucket: TokenBucket,
        budget: Budget,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        max_response_time_s: float = 0.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = ClientStats()
        self._bucket = bucket
        self._budget = budget
        self._timeout = timeout
        # A request cut short by the end of the budget is reported only when it had already waited
        # this long (it would fail max_response_time anyway); otherwise the budget, not the target, ended it.
        self._max_response_time_s = max_response_time_s
        self._deadline = Deadline()
        self.interrupted = False
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        bound_by(self._http, self._deadline)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def interrupt(self) -> None:
        """End the request in flight at once and send no other (Interrupted); safe in a signal handler."""
        self.interrupted = True
        self._deadline.cut()

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

    def probe(self, path: str) -> None:
        """One harmless request (GET, safe by HTTP's rules) to learn whether the target can be reached.

        Only a failed connection (httpx.ConnectError, ConnectTimeout) is raised: a target that accepted
        the connection and then answered garbage, or nothing in time, is judged by the run's requests.
        """
        self._wait_for_slot()
        self.stats.sent += 1
        self._deadline.at = time.monotonic() + min(self._timeout, self._budget.remaining * self.PROBE_SHARE)
        try:
            with self._http.stream("GET", self.base_url + path):
                pass  # The status line and headers came; the body is not read.
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.HTTPError:
            pass
        finally:
            self._deadline.at = None

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
            # One deadline for the whole exchange: the client timeout, or the end of the budget if sooner.
            limit = min(self._timeout, self._budget.remaining)
            self._deadline.at = time.monotonic() + limit
            try:
                with self._http.stream(
                    request.method, request.url, headers=headers, content=request.body
                ) as response:
                    body = read_capped(response)
            except httpx.LocalProtocolError as exc:
                raise Unsendable(str(exc)) from None
            except httpx.TimeoutException:
                waited = time.perf_counter() - started
                if limit < self._timeout and waited < self._max_response_time_s:
                    raise BudgetExhausted from None
                cause = "the client timeout" if limit >= self._timeout else "what was left of --max-time"
                return self._no_answer(request, started, f"no complete answer within {limit:.1f} s ({cause})")
            except httpx.DecodingError as exc:
                return self._no_answer(
                    request, started, f"a body its Content-Encoding does not decode ({exc})"
                )
            except httpx.TransportError as exc:
                return self._no_answer(request, started, f"{exc.__class__.__name__}: {exc}")
            finally:
                self._deadline.at = None
                if self.interrupted:
                    raise Interrupted from None
            if body is None:
                return self._no_answer(
                    request,
                    started,
                    f"an answer ({response.status_code}, Content-Length "
                    f"{response.headers.get('content-length', 'not given')}) whose body went past "
                    f"{size_text()}, the most the contract tests read of one answer; it was cut off there",
                )
            elapsed = (time.perf_counter() - started) * 1000.0
            self.stats.transport_errors_in_a_row = 0
            if response.status_code == 429:
                # The platform's documented rate limit: waiting is the client's job, not a contract failure.
                wait = retry_after_seconds(response.headers.get("retry-after"), attempt)
                self.stats.rate_limited += 1
                self.stats.waited_s += wait
                attempt += 1
                self._sleep(wait)
                continue
            return Exchange(
                request=request,
                status=response.status_code,
                headers=tuple(
                    (name, _redacted_text(value, request.secrets))
                    for name, value in response.headers.multi_items()
                ),
                body=_redacted(body, request.secrets),
                elapsed_ms=elapsed,
            )

    def _wait_for_slot(self) -> None:
        if self._budget.exhausted:
            raise BudgetExhausted
        self._sleep(self._bucket.delay())

    def _sleep(self, seconds: float) -> None:
        """Sleep within the budget (BudgetExhausted past it), in short steps so that Ctrl-C ends a long wait."""
        end = time.monotonic() + seconds
        while True:
            if self.interrupted:
                raise Interrupted
            left = end - time.monotonic()
            if left <= 0:
                return
            self._budget.sleep(min(left, 0.1))

    def _no_answer(self, request: PreparedRequest, started: float, reason: str) -> Exchange:
        self.stats.transport_errors_in_a_row += 1
        if self.stats.transport_errors_in_a_row > self.MAX_TRANSPORT_ERRORS:
            raise TargetGone(reason)
        return Exchange(request=request, elapsed_ms=(time.perf_counter() - started) * 1000.0, error=reason)


def _redacted(body: bytes, secrets: tuple[tuple[str, str], ...]) -> bytes:
    """An answer's body with every credential the request carried replaced by its placeholder.

    A target that echoes the `auth` header would otherwise put the token into the report's excerpts
    (cut anywhere, so only the whole body can be redacted). No check reads a token back from an answer.
    """
    for value, placeholder in secrets:
        if value:
            body = body.replace(value.encode("utf-8", errors="replace"), placeholder.encode())
    return body


def _redacted_text(text: str, secrets: tuple[tuple[str, str], ...]) -> str:
    for value, placeholder in secrets:
        if value:
            text = text.replace(value, placeholder)
    return text
