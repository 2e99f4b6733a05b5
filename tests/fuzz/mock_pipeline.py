"""Fuzz target: the mock's request pipeline, from the raw bytes of an HTTP/1.1 request, in process.

A request's bytes go through what serves them in production: gunicorn's request parser (the mock's
line and field limits) and its WSGI environ, then the mock's Flask app, with no socket. A request
gunicorn itself refuses (malformed HTTP, over its limits) never reaches the mock and is not judged
here. Anything else must be answered (`check_answer`):

- no exception escapes the app, and none is turned into the mock's own 500 (`mockBugs`);
- no 5xx (the app is built with no injected faults), but one the request asked for with a Prism-style
  control (`Prefer: code=500`, `?__code=500`, an example of a 5xx by name);
- an error status (4xx) carries the platform's error envelope, as the spec's error schema says;
- a JSON answer is JSON, and no answer holds a Python traceback;
- the mock's self-check (the one judge, on every answer of an operation) found nothing.

`requests()` draws raw requests: every route of the app (the six operations with stored and made-up
ids, `/__admin/*`, `/docs`, the bundles) and its methods, percent-encoded and non-UTF-8 path bytes,
query controls, headers the spec and HTTP care about with awkward values, Content-Length right,
wrong or repeated, chunked bodies whole or cut short, JSON bodies from the spec's examples, mutated,
nested deep, or plain bytes.
"""

from __future__ import annotations

import functools
import gzip
import json
import tempfile
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import jwt
from flask import Flask
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Request

from mockserver import MockConfig, create_app
from mockserver._control import Control, Controls
from mockserver._serve import GUNICORN_FIELD_COUNT, GUNICORN_FIELD_LIMIT, GUNICORN_LINE_LIMIT
from spec import SchemaCheck, error_pointer, load_spec

CRLF = b"\r\n"
# The text of a Python traceback: no answer may show one, whatever went wrong.
TRACEBACK_MARKS = (b"Traceback (most recent call last)", b'File "/')
HTTP_ONLY_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Content-Encoding",
    "Accept",
    "Accept-Encoding",
    "Prefer",
    "Cookie",
    "Origin",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
    "Expect",
    "Connection",
    "Host",
    "If-None-Match",
    "Range",
)
SINGLE_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "host"})
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PROPFIND")
TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class Outcome:
    """What the app answered one request: status, headers and the whole body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    method: str
    path: str
    request_headers: Headers = field(default_factory=Headers)
    query: MultiDict[str, str] = field(default_factory=MultiDict)
    problems: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


class Target:
    """The mock built once (seeded, a temporary state file), and what the strategies draw from it."""

    def __init__(self) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="kore-fuzz-")
        self.app: Flask = create_app(
            MockConfig(seed=15, state_file=Path(self.directory.name) / "state.sqlite3")
        )
        self.service = self.app.config["MOCK_SERVICE"]
        self.contract = load_spec()
        self.envelope = SchemaCheck(self.contract.error_schema)
        # A 5xx the request asked for by a Prism-style control is an answer, not a fault: the mock's own
        # reading of controls says which (tests/mockserver test that reading on its own).
        self.controls = Controls(self.contract)
        self.cfg = gunicorn_config()
        world = self.app.test_client().get("/__admin/state").get_json()
        self.ids = sorted(
            {
                value
                for objects in world.values()
                if isinstance(objects, list)
                for item in objects
                for key, value in item.items()
                if isinstance(value, str) and (key.endswith("Id") or key == "_id")
            }
        )
        self.static_paths = sorted(
            rule.rule.replace("<path:name>", "index.html").replace("<path:filename>", "x.css")
            for rule in self.app.url_map.iter_rules()
            if "anypath" not in rule.rule
        )

    def serve(self, raw: bytes) -> Outcome | None:
        """Answer one raw request as gunicorn would hand it to the app; None when gunicorn refuses it."""
        bugs = self.service.mock_bugs
        self_checks = self.service.self_check_failures
        outcome = answer_raw(self.app, raw, self.cfg)
        if outcome is None:
            return None
        if self.service.mock_bugs != bugs:
            outcome.problems.append("the mock counted a bug of its own (mockBugs grew)")
        if self.service.self_check_failures != self_checks:
            outcome.problems.append("the mock's self-check failed (X-Mock-Self-Check)")
        return outcome

    def asked_status(self, outcome: Outcome) -> int | None:
        """The documented status the request asked the mock for (`Prefer: code=503`, `?__code=500`)."""
        route = self.contract.match(outcome.method, outcome.path)
        if route is None:
            return None
        control = self.controls.parse(route.operation, outcome.request_headers, outcome.query)
        return control.code if isinstance(control, Control) else None

    def check_answer(self, outcome: Outcome) -> list[str]:
        """What is wrong with an answer, by the oracle of this module's docstring."""
        problems = list(outcome.problems)
        if outcome.status >= 500 and outcome.status != self.asked_status(outcome):
            problems.append(f"answered {outcome.status}")
        if any(mark in outcome.body for mark in TRACEBACK_MARKS):
            problems.append("the body holds a traceback")
        media = (outcome.header("Content-Type") or "").split(";")[0].strip().lower()
        document: Any = None
        if media == "application/json" and outcome.body:
            try:
                document = json.loads(outcome.body)
            except ValueError as exc:
                problems.append(f"a JSON answer that is not JSON ({exc})")
        if outcome.status >= 400 and outcome.method != "HEAD":
            if media != "application/json":
                problems.append(f"an error answered as {media or 'no media type'}, not the error envelope")
            else:
                problems += [
                    f"not the error envelope: {error_pointer('', e) or '/'}: {e.message}"
                    for e in self.envelope.errors(document)
                ]
        return problems


def gunicorn_config() -> Config:
    """gunicorn's settings as the mock runs with them: its request line and header limits."""
    cfg = Config()
    cfg.set("limit_request_line", GUNICORN_LINE_LIMIT)
    cfg.set("limit_request_fields", GUNICORN_FIELD_COUNT)
    cfg.set("limit_request_field_size", GUNICORN_FIELD_LIMIT)
    return cfg


def answer_raw(app: Any, raw: bytes, cfg: Config | None = None) -> Outcome | None:
    """What a WSGI `app` answers the raw request, parsed by gunicorn; None when gunicorn refuses it."""
    cfg = cfg or gunicorn_config()
    try:
        parser = RequestParser(cfg, iter([raw]), ("127.0.0.1", 40000))
        request = next(parser)
        _, environ = wsgi.create(request, _Sink(), ("127.0.0.1", 40000), ("127.0.0.1", "8080"), cfg)
    except Exception:  # gunicorn's own refusal (it answers 400/431/...): not the app's concern
        return None
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    try:
        chunks = app(environ, start_response)
        try:
            body = b"".join(_iterate(chunks))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    except Exception:
        raise AssertionError(
            f"{method} {path!r}: an exception escaped the app\n{traceback.format_exc()}"
        ) from None
    asked = Request(environ)  # what the request asked for: its headers and query, its body already read
    return Outcome(
        int(started[0].split()[0]),
        list(started[1]),
        body,
        method,
        path,
        request_headers=asked.headers,
        query=asked.args,
    )


class _Sink:
    """The socket gunicorn writes `100 Continue` to."""

    def send(self, data: bytes) -> int:
        return len(data)

    def sendall(self, data: bytes) -> None:
        pass


def _iterate(chunks: Iterable[bytes]) -> Iterable[bytes]:
    yield from chunks


@functools.cache
def target() -> Target:
    """The one app every example is sent to (built on first use)."""
    return Target()


def check(raw: bytes) -> None:
    """Send `raw` to the mock in process; AssertionError naming every problem of its answer."""
    app = target()
    outcome = app.serve(raw)
    if outcome is None:
        return
    problems = app.check_answer(outcome)
    assert not problems, (
        f"{outcome.method} {outcome.path!r} answered {outcome.status}: {'; '.join(problems)}\n"
        f"request: {raw[:2000]!r}\nanswer body: {outcome.body[:2000]!r}"
    )


# -- strategies ---------------------------------------------------------------------------------------


def _token() -> str:
    return jwt.encode(
        {"appId": "cs-5f7e1b0a-9c3d-5e2f-8a4b-1c2d3e4f5a6b", "sub": "u-fuzz"}, "fuzz-secret-" * 4
    )


def _encode_path(raw: bytes) -> bytes:
    """A path's bytes as a request line carries them: percent-encoded where HTTP wants it."""
    return quote_from_bytes(raw, safe="/;=,:@!$&'()*+-._~").encode("ascii")


junk_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
junk_bytes = st.binary(max_size=40)
segments = st.one_of(
    st.sampled_from(["", ".", "..", "%", "%00", "%0A", "%FF", "%C0%AF", "a%2Fb", " ", "\x7f"]).map(
        str.encode
    ),
    junk_text.map(lambda text: _encode_path(text.encode())),
    junk_bytes.map(_encode_path),
    st.integers(1, 3000).map(lambda n: b"x" * n),
)


@st.composite
def paths(draw: st.DrawFn) -> bytes:
    """A request target: a route of the app or an operation's template filled in, perhaps mangled."""
    app = target()
    operations = list(app.contract.operations.values())
    if draw(st.booleans()):
        operation = draw(st.sampled_from(operations))
        values = {
            name: draw(st.sampled_from(app.ids) | junk_text | st.just(""))
            for name in operation.path_parameters
        }
        path = _encode_path(operation.path(**values).encode())
    else:
        path = draw(
            st.sampled_from([*app.static_paths, "/", "/__admin", "/__admin/", "/docs/../openapi.json"])
        ).encode()
    how = draw(st.integers(0, 5))
    if how == 1:
        path += b"/" + draw(segments)
    elif how == 2:
        cut = draw(st.integers(0, len(path)))
        path = path[:cut] + draw(segments) + path[cut:]
    elif how == 3:
        path = path.upper() if draw(st.booleans()) else path.replace(b"/", b"//", 1)
    if draw(st.booleans()):
        keys = (
            st.sampled_from(["__code", "__example", "__dynamic", "__seed", "limit", "skip", "x"]) | junk_text
        )
        query_values = (
            st.sampled_from(["200", "400", "500", "503", "999", "true", "-1", "abc", ""]) | junk_text
        )
        pairs = draw(st.lists(st.tuples(keys, query_values), max_size=4))
        path += b"?" + b"&".join(
            _encode_path(k.encode()).replace(b"&", b"%26")
            + b"="
            + _encode_path(v.encode()).replace(b"&", b"%26")
            for k, v in pairs
        )
    return path


header_names = st.one_of(
    st.sampled_from(HTTP_ONLY_HEADERS),
    st.sampled_from(["auth", "accountId", "client-app", "X-Timezone-Offset", "Iid", "state", "bot-language"]),
    st.text(TCHAR, min_size=1, max_size=20),
)
header_values = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/merge-patch+json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "gzip",
            "chunked",
            "code=500",
            "example=nope, dynamic=true",
            "Bearer x",
            "",
            "-1",
            "18446744073709551616",
            "+5",
            "0x10",
        ]
    ),
    st.builds(_token),
    st.sampled_from(["6639f7bd58c97ffac03b1234", "st-084d3c5e-376a-559f-9987-a012bb2b1234"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40),
    st.integers(1, 9000).map(lambda n: "a" * n),
)


def _json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=15,
    )


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """An operation's documented request example, with some values replaced."""
    app = target()
    examples = [
        example
        for operation in app.contract.operations.values()
        for example in operation.request_examples.values()
        if isinstance(example, dict)
    ]
    document = json.loads(json.dumps(draw(st.sampled_from(examples))))
    for _ in range(draw(st.integers(0, 3))):
        if not document:
            break
        key = draw(st.sampled_from(sorted(document)))
        if draw(st.booleans()):
            del document[key]
        else:
            document[key] = draw(_json_values())
    if draw(st.booleans()):
        document[draw(st.text(max_size=10))] = draw(_json_values())
    return document


bodies = st.one_of(
    st.just(b""),
    mutated_examples().map(lambda doc: json.dumps(doc).encode()),
    _json_values().map(lambda doc: json.dumps(doc).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(1, 5000).map(lambda n: b"[" * n),
    st.sampled_from(
        [b"null", b"NaN", b"1e999", b'"\\ud800"', b"\xef\xbb\xbf{}", b"{}\x00", b'{"a":1,"a":2}']
    ),
    st.binary(max_size=200),
    mutated_examples().map(lambda doc: gzip.compress(json.dumps(doc).encode())),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """The raw bytes of one HTTP/1.1 request to the mock."""
    method = draw(st.sampled_from(METHODS) | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=12))
    target_path = draw(paths())
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]))
    fields: list[tuple[str, str]] = []
    if draw(st.booleans()):
        fields += [
            ("auth", _token()),
            ("Content-Type", "application/json"),
            ("accountId", "6639f7bd58c97ffac03b1234"),
        ]
    fields += draw(st.lists(st.tuples(header_names, header_values), max_size=6))
    body: bytes = draw(bodies)
    framing = draw(
        st.sampled_from(["length", "length", "none", "chunked", "chunked-cut", "wrong-length", "both"])
    )
    if framing in ("length", "both"):
        fields.append(("Content-Length", str(len(body))))
    if framing == "wrong-length":
        fields.append(("Content-Length", str(draw(st.integers(0, 2 * len(body) + 10)))))
    if framing in ("chunked", "chunked-cut", "both"):
        fields.append(("Transfer-Encoding", "chunked"))
        size = draw(st.integers(1, 64))
        chunked = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
                for i in range(0, len(body), size)
            )
            + b"0\r\n\r\n"
        )
        body = chunked[: draw(st.integers(0, len(chunked)))] if framing == "chunked-cut" else chunked
    if draw(st.integers(0, 9)):
        # gunicorn refuses a repeated framing header: keep each one's last value, mostly.
        kept = {name.lower(): index for index, (name, _) in enumerate(fields)}
        fields = [
            (name, value)
            for index, (name, value) in enumerate(fields)
            if name.lower() not in SINGLE_HEADERS or kept[name.lower()] == index
        ]
    head = b" ".join([method.encode(), target_path, version]) + CRLF
    head += b"".join(n.encode("latin-1") + b": " + v.encode("latin-1") + CRLF for n, v in fields)
    return head + CRLF + body


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=requests())
def fuzz_requests(raw: bytes) -> None:
    """The long run's target (`python -m tests.fuzz mock_pipeline`): any request, answered by the oracle."""
    check(raw)
