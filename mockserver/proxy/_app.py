"""`create_proxy_app(config)`: the validation proxy between a client and a real implementation.

Every request (any path, any method) is forwarded unchanged to `--upstream`, and the upstream's answer
is passed back unchanged, with `X-Contract-Violations: <n>` counting the findings of the request (as
the mock judges it) and of the answer (as `spec.ContractJudge` judges it; see `_checks`). Every
operation of the spec is judged; a request no operation documents is forwarded and reported. What
changes on the way, and why:

- hop-by-hop headers (RFC 9110 7.6.1: `Connection` and the headers it names, `Keep-Alive`, `TE`,
  `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-*`) are not forwarded in either direction;
- `Host` names the upstream; `Content-Length` is recomputed from the body bytes, which are the same;
- the upstream's `Date` is replaced by the serving proxy's own (gunicorn always writes one);
- a request carrying `Origin` gets the proxy's CORS headers (`--cors-origin`) instead of the
  upstream's, and CORS preflights are answered by the proxy, so a browser app works through it.

A request body larger than `--body-limit` is answered 413 by the proxy and never forwarded: its
`Content-Length` decides before anything is read, and a chunked body is read no further than one byte
past the limit, so no body bigger than the limit is ever held in memory.

Bodies are passed back as raw bytes: a compressed answer stays compressed with its `Content-Encoding`
(the client's `Accept-Encoding` is forwarded as sent); the proxy decompresses a copy to check it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mockserver._admin import (
    HEALTH_PATH,
    JOURNAL_PATH,
    add_journal_routes,
    journal_body,
    journal_entry,
    json_response,
)
from mockserver._config import MIB, ProxyConfig, human_size
from mockserver._errors import Envelopes, Kind, Violation
from mockserver._gunicorn import JSON_CONTENT_TYPE, UNREADABLE_BODY, Server, unreadable_body
from mockserver._serve import worker_options
from mockserver._state import StateStore, open_store, printable
from mockserver.proxy._checks import ContractChecker, RequestCheck, shared_seen
from mockserver.proxy._model import SharedModel
from spec import ContractSpec, Finding, ReceivedAnswer, load_spec

log = logging.getLogger("mockserver.proxy")

VIOLATIONS_HEADER = "X-Contract-Violations"
CHECK_FAILED_HEADER = "X-Contract-Check"
PROXY_BUG_MARK = "PROXY BUG"
# RFC 9110 7.6.1's hop-by-hop headers, and `Expect`: the proxy has read the whole body already, so a
# `100-continue` handshake with the upstream has nothing left to decide.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade", "expect"}
)
# orjson writes JSON no deeper than this; the journal shows a deeper answer as text, not as JSON.
_JOURNAL_DEPTH = 254
# Bodies are read in pieces: one read of limit + 1 bytes would allocate that much for every request
# (werkzeug's stream is an io.RawIOBase), however small its body.
_READ_CHUNK = 64 * 1024
_ADMIN_METHODS = {HEALTH_PATH: frozenset({"GET", "HEAD"}), JOURNAL_PATH: frozenset({"GET", "HEAD", "DELETE"})}


class PassthroughResponse(Response):
    """A response that adds no Content-Type of its own: the upstream's headers are the headers."""

    default_mimetype = None


@dataclass(frozen=True)
class Upstream:
    """The upstream's answer: status, headers as sent (hop-by-hop removed), the body's raw bytes."""

    status: int
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (any case)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True)
class OversizedBody:
    """A request body over --body-limit: its size as far as known, how it is known, the part read."""

    size: str
    how: str
    # Empty when Content-Length told; otherwise the first limit + 1 bytes of a chunked body.
    start: bytes
    length: int | None


class ProxyService:
    """Forwarding, checking, journaling and logging; one per app, shared by a worker's threads."""

    def __init__(self, config: ProxyConfig, contract: ContractSpec, store: StateStore) -> None:
        self.config = config
        self.contract = contract
        self.store = store
        self.checker = ContractChecker(contract, seen=shared_seen(contract, store), model=SharedModel(store))
        self.envelopes: Envelopes = self.checker.envelopes
        parts = urlsplit(config.upstream)
        self.upstream_base = f"{parts.scheme}://{parts.netloc}"
        self.upstream_prefix = parts.path.rstrip("/")
        self.timeout = httpx.Timeout(config.timeout)
        self.proxy_bugs = 0
        self._transport: httpx.HTTPTransport | None = None
        self._transport_pid = 0
        self._transport_lock = threading.Lock()
        # One answer judged at a time per worker. Judging is Python work under the GIL (and SQLite
        # behind the store's one connection), so threads gain nothing by overlapping it; overlapped,
        # each holds a decoded page of up to 100 objects at once, and the heap keeps their high-water.
        self._judging = threading.Lock()

    @property
    def transport(self) -> httpx.HTTPTransport:
        """This process's connection pool to the upstream (made after gunicorn's fork, never shared)."""
        with self._transport_lock:
            if self._transport is None or self._transport_pid != os.getpid():
                # A transport, not a Client: no default headers, cookie jar, redirects or auth of its
                # own, so the request goes out exactly as built.
                self._transport = httpx.HTTPTransport(retries=0)
                self._transport_pid = os.getpid()
            return self._transport

    # -- one request -----------------------------------------------------------------------------

    def handle(self) -> Response:
        """Check, forward (or refuse with --strict), judge the answer, journal and log."""
        started = time.perf_counter()
        try:
            received = self._read_body()
        except UNREADABLE_BODY as exc:
            return self._refuse_unreadable(exc, started)
        if isinstance(received, OversizedBody):
            return self._refuse_oversized(received, started)
        body = received
        check = self._check_request(body)
        findings = list(check.findings)
        if self.config.strict and check.refusal:
            operation = check.route.operation if check.route is not None else None
            status = self.envelopes.status_of(check.refusal, operation)
            payload = orjson.dumps(self.envelopes.envelope(check.refusal))
            response = Response(payload, status, content_type=JSON_CONTENT_TYPE)
            return self._finish(response, body, payload, findings, started, note="refused (--strict)")
        answer = self._forward(body)
        if isinstance(answer, Violation):  # no answer from the upstream: 502 or 504
            payload = orjson.dumps(self.envelopes.envelope([answer]))
            response = Response(payload, answer.status, content_type=JSON_CONTENT_TYPE)
            return self._finish(response, body, payload, findings, started, note=answer.msg)
        decoded, encoding_problem = decode_body(answer.raw, answer.header("Content-Encoding"))
        if encoding_problem is not None:
            # The client cannot read it either: the judge is shown the bytes as they came.
            log.warning("%s", encoding_problem)
        failed = False
        try:
            with self._judging:
                judgement = self.checker.check_response(
                    check,
                    ReceivedAnswer(
                        answer.status, dict(answer.headers), decoded if decoded is not None else answer.raw
                    ),
                    body_read=decoded is not None or encoding_problem is not None,
                )
            findings.extend(judgement.findings)
        except Exception:  # a checker fault must never cost the client its answer
            failed = self.report_bug("checking the answer")
        response = PassthroughResponse(answer.raw, answer.status, answer.headers)
        if request.method == "HEAD" and answer.header("Content-Length") is not None:
            # werkzeug counts the (empty) body; a HEAD answer's length is the one the upstream announced.
            response.headers["Content-Length"] = answer.header("Content-Length") or "0"
        if failed or check is _UNCHECKED:
            response.headers[CHECK_FAILED_HEADER] = "failed"
        return self._finish(response, body, decoded if decoded is not None else answer.raw, findings, started)

    def _read_body(self) -> bytes | OversizedBody:
        """The whole body, or what is known of one over --body-limit (never more than limit + 1 bytes)."""
        limit = self.config.body_limit
        length = request.content_length
        if length is not None and length > limit:
            return OversizedBody(f"{length} bytes", "as its Content-Length says", b"", length)
        # Without Content-Length (chunked), the stream ends where the client's body does.
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = request.stream.read(min(_READ_CHUNK, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        body = b"".join(chunks)
        if len(body) > limit:
            return OversizedBody(f"more than {limit} bytes", "as read so far (chunked)", body, None)
        return body

    def _refuse_oversized(self, oversized: OversizedBody, started: float) -> Response:
        """413 in the platform's envelope (the spec's wording), the body neither forwarded nor checked."""
        limit = self.config.body_limit
        violation = Violation(
            Kind.BODY_TOO_LARGE,
            f"Request body of {oversized.size} exceeds the limit of {limit} bytes",
            "/body",
            f"Received: {oversized.size}, {oversized.how}. The proxy forwards bodies of up to "
            f"{human_size(limit)} (--body-limit); this one was not forwarded to {self.config.upstream} "
            "nor checked. Fix: send a smaller body, or, if the implementation accepts larger ones, raise "
            f"the proxy's limit: --body-limit {_suggested_limit(oversized.length, limit)} "
            "(or KORE_PROXY_BODY_LIMIT).",
        )
        payload = orjson.dumps(self.envelopes.envelope([violation]))
        response = Response(payload, self.envelopes.status_of([violation]), content_type=JSON_CONTENT_TYPE)
        return self._finish(
            response,
            oversized.start,
            payload,
            [],
            started,
            note=violation.msg,
            body_note=f"{oversized.size}, over --body-limit: not read further",
        )

    def _refuse_unreadable(self, exc: Exception, started: float) -> Response:
        """400 in the platform's envelope for a body HTTP cannot read to its end; nothing is forwarded."""
        violation = unreadable_body(exc)
        payload = orjson.dumps(self.envelopes.envelope([violation]))
        response = Response(payload, self.envelopes.status_of([violation]), content_type=JSON_CONTENT_TYPE)
        return self._finish(response, b"", payload, [], started, note=violation.msg, body_note="unreadable")

    def _check_request(self, body: bytes) -> RequestCheck:
        try:
            return self.checker.check_request(
                method=request.method,
                path=request.path,
                headers=request.headers,
                query=request.args,
                cookies=request.cookies,
                body=body,
            )
        except Exception:  # forward unchecked rather than fail the client
            self.report_bug("checking the request")
            return _UNCHECKED

    def report_bug(self, doing: str) -> bool:
        """Log a fault of the proxy itself with its traceback, and count it in health."""
        self.proxy_bugs += 1
        log.exception(
            "%s: %s %s failed while %s", PROXY_BUG_MARK, request.method, printable(request.path), doing
        )
        return True

    def _forward(self, body: bytes) -> Upstream | Violation:
        """Send the request to the upstream as received; its answer, or why there is none."""
        outgoing = httpx.Request(
            request.method,
            httpx.URL(self.upstream_base).copy_with(
                raw_path=self.upstream_prefix.encode() + _raw_target(request.environ)
            ),
            headers=_outgoing_headers(request.headers.items(), body, request.content_length is not None),
            content=body,
            extensions={"timeout": self.timeout.as_dict()},
        )
        try:
            incoming = self.transport.handle_request(outgoing)
            try:
                raw = b"".join(incoming.iter_raw())
            finally:
                incoming.close()
        except httpx.TimeoutException as exc:
            return self._timeout(exc)
        except httpx.HTTPError as exc:
            return self._unreachable(exc)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in incoming.headers.raw]
        return Upstream(incoming.status_code, _passed_back(headers), raw)

    def _timeout(self, exc: httpx.TimeoutException) -> Violation:
        seconds = f"{self.config.timeout:g} s"
        what = {
            httpx.ConnectTimeout: f"did not accept a connection within {seconds}",
            httpx.WriteTimeout: f"did not read the request within {seconds}",
            httpx.PoolTimeout: f"had no free connection within {seconds} (all busy)",
        }.get(type(exc), f"did not answer within {seconds}")
        return Violation(
            Kind.UPSTREAM_TIMEOUT,
            f"Upstream {self.config.upstream} {what}",
            detail=f"The proxy waited {seconds} (--timeout) for {request.method} {printable(request.path)}: "
            f"{type(exc).__name__}. Fix: check the upstream, or raise --timeout.",
        )

    def _unreachable(self, exc: httpx.HTTPError) -> Violation:
        cause = str(exc) or type(exc).__name__
        lowered = cause.lower()
        if isinstance(exc, httpx.ConnectError) and "refused" in lowered:
            what = "refused the connection"
        elif isinstance(exc, httpx.ConnectError) and any(
            s in lowered
            for s in ("name or service", "nodename", "getaddrinfo", "name resolution", "not known")
        ):
            what = "could not be resolved (DNS)"
        elif isinstance(exc, httpx.LocalProtocolError):
            what = "was not sent the request: it cannot be written as HTTP/1.1"
        elif isinstance(exc, httpx.RemoteProtocolError):
            what = "closed the connection without a valid answer"
        else:
            what = "could not be reached"
        return Violation(
            Kind.UPSTREAM_UNREACHABLE,
            f"Upstream {self.config.upstream} {what}",
            detail=f"{type(exc).__name__}: {cause}. Fix: start the upstream, or check --upstream.",
        )

    def _finish(
        self,
        response: Response,
        body: bytes,
        answer: bytes,
        findings: list[Finding],
        started: float,
        *,
        note: str = "",
        body_note: str | None = None,
    ) -> Response:
        response.headers[VIOLATIONS_HEADER] = str(len(findings))
        self._cors(response)
        ms = (time.perf_counter() - started) * 1000
        try:
            self.store.record(
                journal_entry(
                    request,
                    status=response.status_code,
                    body=body,
                    body_note=body_note,
                    findings=[f.entry() for f in findings],
                    answer=_journal_answer(answer),
                    ms=ms,
                )
            )
        except Exception:  # the journal is a convenience; the client's answer is not
            self.report_bug("writing the journal")
        self._log(response.status_code, ms, findings, note)
        return response

    def _log(self, status: int, ms: float, findings: list[Finding], note: str) -> None:
        line = f"{request.method} {printable(request.path)} {status} {ms:.1f}ms violations={len(findings)}"
        first = "; ".join(part for part in (note, str(findings[0]) if findings else "") if part)
        level = logging.WARNING if findings or status in (413, 502, 504) else logging.INFO
        log.log(level, "%s%s", line, f" {printable(first)}" if first else "")
        # Every further finding on its own line, so that none is only in the journal.
        for number, finding in enumerate(findings[1:], start=2):
            log.log(level, "  %d/%d %s", number, len(findings), printable(str(finding)))

    # -- CORS ------------------------------------------------------------------------------------

    def _allowed_origin(self) -> str | None:
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        origins = self.config.cors_origins
        if "*" in origins:
            return "*"
        return origin if origin in origins else None

    def _cors(self, response: Response) -> None:
        """The proxy's CORS headers replace the upstream's for a request from an allowed origin."""
        allowed = self._allowed_origin()
        if allowed is None:
            return
        for name in {k for k, _ in response.headers.items() if k.lower().startswith("access-control-")}:
            del response.headers[name]
        response.headers["Access-Control-Allow-Origin"] = allowed
        # The browser app sees the whole answer, as it would talking to the implementation itself.
        exposed = dict.fromkeys([VIOLATIONS_HEADER, *(k for k, _ in response.headers.items())])
        response.headers["Access-Control-Expose-Headers"] = ", ".join(exposed)
        if allowed != "*":
            response.headers.add("Vary", "Origin")

    def preflight(self) -> Response:
        """A CORS preflight, answered by the proxy: it forwards any method and header."""
        response = Response(b"", 204)
        self._cors(response)
        if self._allowed_origin() is not None:
            response.headers["Access-Control-Allow-Methods"] = request.headers.get(
                "Access-Control-Request-Method", "POST"
            )
            asked = request.headers.get("Access-Control-Request-Headers")
            if asked:
                response.headers["Access-Control-Allow-Headers"] = asked
            response.headers["Access-Control-Max-Age"] = "600"
        return response


# The request check of a request the checker failed on: nothing found, nothing refused, nothing judged.
_UNCHECKED = RequestCheck(())


def create_proxy_app(config: ProxyConfig) -> Flask:
    """Build the proxy's Flask app: the contract, checkers and journal are made here, once.

    Example:
        >>> app = create_proxy_app(ProxyConfig(upstream="http://127.0.0.1:8080"))
        >>> app.test_client().get("/__admin/health").json["upstream"]
        'http://127.0.0.1:8080'
    """
    log.setLevel(config.log_level.upper())
    contract = load_spec(config.spec_path)
    app = Flask("mockserver.proxy")
    store = open_store(config.state_file, prefix="kore-proxy-", journal_size=config.journal_size)
    service = ProxyService(config, contract, store)
    app.config["PROXY_SERVICE"] = service
    started_at = time.time()

    @app.before_request
    def proxy() -> Response | None:
        # Runs before URL routing is acted on, so every path and method (`//x`, `BREW`) is forwarded;
        # only the proxy's own admin endpoints fall through to their routes.
        if request.method in _ADMIN_METHODS.get(request.path, ()):
            return None
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return service.preflight()
        return service.handle()

    @app.errorhandler(Exception)
    def proxy_bug(exc: Exception) -> Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        # Whatever escapes the guarded steps above is the proxy's own fault: say so in the envelope.
        service.report_bug(f"answering ({type(exc).__name__})")
        bug = Violation(
            Kind.PROXY_BUG,
            f"the proxy failed ({type(exc).__name__}); this is a bug in the proxy, not in your request",
            detail="Please report it with the request and the proxy's log.",
        )
        return json_response(service.envelopes.envelope([bug]), bug.status)

    @app.get(HEALTH_PATH)
    def health() -> Response:
        info = contract.resolved.get("info", {})
        return json_response(
            {
                "status": "ok",
                "upstream": config.upstream,
                "strict": config.strict,
                "timeoutSeconds": config.timeout,
                "bodyLimitBytes": config.body_limit,
                "spec": {"title": info.get("title"), "version": info.get("version")},
                "uptimeSeconds": round(time.time() - started_at, 3),
                "proxyBugs": service.proxy_bugs,
            }
        )

    add_journal_routes(app, store)

    return app


# -- what crosses the proxy ------------------------------------------------------------------------


def _hop_by_hop(name: str, named: frozenset[str]) -> bool:
    lowered = name.lower()
    return lowered in _HOP_BY_HOP or lowered.startswith("proxy-") or lowered in named


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Headers a `Connection` header names, which are hop-by-hop too."""
    return frozenset(
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    )


def _outgoing_headers(
    headers: Iterable[tuple[str, str]], body: bytes, had_length: bool
) -> list[tuple[bytes, bytes]]:
    """The client's headers for the upstream: hop-by-hop, Host and Content-Length left to httpx."""
    pairs = list(headers)
    named = _connection_tokens(pairs)
    # WSGI hands header values over as latin-1 text; encoding them back gives the bytes sent.
    # Surrounding whitespace is not part of a field value (RFC 9110 5.5), and h11 refuses it.
    out = [
        (name.encode("latin-1"), value.strip(" \t").encode("latin-1"))
        for name, value in pairs
        if not _hop_by_hop(name, named) and name.lower() not in ("host", "content-length")
    ]
    if body or had_length:
        out.append((b"Content-Length", str(len(body)).encode()))
    return out


def _passed_back(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream's headers for the client: hop-by-hop and Date (the server writes its own) left out."""
    named = _connection_tokens(headers)
    return [(k, v) for k, v in headers if not _hop_by_hop(k, named) and k.lower() != "date"]


def _raw_target(environ: Mapping[str, Any]) -> bytes:
    """The request target as the client sent it (percent-escapes and query untouched)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if raw.startswith(("http://", "https://")):  # absolute-form: keep only path and query
            parts = urlsplit(raw)
            raw = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return str(raw).encode("latin-1")
    path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/;=,:@!$&'()*+~")
    query = environ.get("QUERY_STRING", "")
    return (path + (f"?{query}" if query else "")).encode("latin-1")


def decode_body(raw: bytes, encoding: str | None) -> tuple[bytes | None, str | None]:
    """The answer's body with its Content-Encoding undone, to judge it; None when the proxy cannot, with
    the reason when the body does not decode as its encoding says (None for a coding it does not know)."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    data = raw
    for coding in reversed(codings):  # applied in order, so undone in reverse
        try:
            if coding in ("gzip", "x-gzip"):
                data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:  # some servers send raw deflate without the zlib wrapper
                    data = zlib.decompress(data, -zlib.MAX_WBITS)
            elif coding != "identity":
                log.warning(
                    "the answer's Content-Encoding %r cannot be decoded by the proxy; body not judged",
                    coding,
                )
                return None, None
        except zlib.error as exc:
            return (
                None,
                f"the answer's body ({len(raw)} bytes) does not decode as its Content-Encoding {encoding!r} says ({exc})",
            )
    return data, None


def _journal_answer(answer: bytes) -> bytes:
    """The answer as the journal keeps it: clipped, and marked as text when it is JSON nested deeper
    than the journal endpoint could write back (the store gives back any JSON it can parse)."""
    text = journal_body(answer)
    if text.count("[") + text.count("{") > _JOURNAL_DEPTH:
        try:
            orjson.dumps(orjson.loads(text))
        except orjson.JSONEncodeError:
            text += f" [nested more than {_JOURNAL_DEPTH} levels deep: journaled as text]"
        except orjson.JSONDecodeError:
            pass  # not JSON: the journal keeps it as text already
    return text.encode()


def _suggested_limit(length: int | None, limit: int) -> str:
    """A --body-limit that lets this body through: its size rounded up to MiB, or twice the limit."""
    wanted = length if length is not None else 2 * limit
    return f"{-(-wanted // MIB)}MiB"


# -- serving ---------------------------------------------------------------------------------------


def _gunicorn_options(config: ProxyConfig) -> dict[str, Any]:
    """The mock's worker model (idle clients hold no thread); the proxy mostly waits on the upstream,
    each thread holding one request."""
    return {
        **worker_options(config),
        # A worker busy waiting for a slow upstream must not be taken for a hung one.
        "timeout": max(60, int(config.timeout) + 30),
    }


PROXY_SERVER = Server(
    name="kore-proxy",
    create=create_proxy_app,
    worker_options=_gunicorn_options,
    rejected="The proxy's HTTP server rejected the request before reading it "
    "(malformed HTTP or an invalid header); it was not forwarded.",
)
