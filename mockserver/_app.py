"""`create_app(config)`: the Flask app, and the pipeline every request to an operation goes through.

Order of checks, as the platform orders them:

1. transport - header section over --header-limit (431), body over --body-limit (413): the request
   cannot be read, so nothing else is looked at;
2. route - `ContractSpec.match`: unknown path (404), known path with another method (405, `Allow:`
   the spec's methods there and OPTIONS);
3. content type - not `application/json` (415);
4. control - `Prefer` / `__*` query parameters; a bad one is 400, and an error code or error
   example of the operation asked for is answered here, verbatim from the spec, without auth or
   validation;
5. authenticate (operations whose security asks for a token) - the platform authenticates first, so
   a bad token AND a bad body answer 401;
6. rate limit (429), then validation of the operation's parameters and body by openapi-core (400,
   every violation);
7. injected faults (the 500/503 the operation documents), then the answer: a documented example, or
   the operation's producer, chosen from the spec at start-up by the operation's role in
   `x-contract-sequences` (`Sequences.role`), over the objects kept in the shared SQLite file
   (`ObjectStore`, mockserver/_store.py): a create answers what the producer of its success schema
   makes (`build_task` for a task) and stores it (a task joins its case, `joins-parent`); a listing
   answers the page `Listing.expected` implies over the account's and stream's objects; an update
   merges the body (`Sequences.merged`) into the stored object, or answers 404 for an id the account
   and stream do not hold (the decision on the path id's parameter); an operation of no collection
   answers its first success example with its relations applied and fresh values for its `unique`
   relations. Every write is committed before the answer is sent;
8. self-check of the answer by the one judge (`spec.ContractJudge`), journal, one log line.

A request routed to an operation is answered only statuses that operation documents: a failure whose
status it does not document answers the generic status of its class (400, 500) when it documents
that one (`Envelopes.status_of`).
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
import mimetypes
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import orjson
from flask import Flask, Request, Response, g, redirect, request
from flask_cors import CORS
from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter, Rule

from generators import (
    OPTION_FIELDS,
    Caller,
    Clock,
    FrozenClock,
    SeededIds,
    account_option,
    build_case,
    build_task,
    build_world,
    system_clock,
)
from mockserver._admin import HEALTH_PATH, add_journal_routes, journal_entry, json_response
from mockserver._auth import (
    AUTH_HEADER,
    DEVELOPMENT_SECRET,
    SAMPLE_APP_ID,
    Authenticator,
    Identity,
    derived_account_id,
    mint_token,
)
from mockserver._config import MockConfig
from mockserver._control import Canned, Control, Controls
from mockserver._errors import Envelopes, Kind, Violation
from mockserver._faults import Faults
from mockserver._gunicorn import JSON_CONTENT_TYPE, UNREADABLE_BODY, unreadable_body
from mockserver._state import (
    CLOCK_COUNTER,
    INTERNAL_COUNTER,
    REDACTED_HEADERS,
    StateStore,
    open_store,
    printable,
)
from mockserver._store import (
    ACCOUNT_POINTER,
    STREAM_POINTER,
    ObjectStore,
    StateFileError,
    WorldError,
    scope_of,
    world_problems,
)
from mockserver._validation import ContractValidator, content_type_violation
from spec import (
    MISSING,
    ContractJudge,
    ContractSpec,
    Expect,
    Expectation,
    ExpectedPage,
    Operation,
    ReceivedAnswer,
    Relation,
    RequestFacts,
    RouteMatch,
    SchemaCheck,
    SentRequest,
    Sequences,
    apply_relations,
    error_pointer,
    instant_ms,  # the one reading of an instant (ISO text or epoch ms)
    load_spec,
    resolve_pointer,
    unescape_token,
)

log = logging.getLogger("mockserver")

# The header naming the account a request is made for (the rate limit counts per account).
ACCOUNT_HEADER = "accountId"
# The name of the spec's example that is the seed page's sample exchange.
SEED_EXAMPLE = "seed-sample"
SELF_CHECK_MARK = "SELF-CHECK FAILED"
MOCK_BUG_MARK = "MOCK BUG"
_DRAIN_MAX = 64 * 1024 * 1024
_NO_QUERY: Mapping[str, str] = {}
_NO_COOKIES: Mapping[str, str] = ImmutableMultiDict()
_IDS_REMEMBERED = 4096
_CALLERS_REMEMBERED = 1024
_JSON_HEADERS: Mapping[str, str] = {"Content-Type": JSON_CONTENT_TYPE}
_SUCCESS_EXPECTED = Expectation(Expect.VALID)
# How many answers of each operation the self-check judges whole (relations included) before it
# samples, and then one in how many (see MockService.self_check).
FULL_JUDGEMENT_FIRST = 256
FULL_JUDGEMENT_EVERY = 256
# Who calls an operation that asks for no token: the app of the mock's own sample tokens.
_ANONYMOUS = Identity(app_id=SAMPLE_APP_ID, claims={})
_STATUS_KINDS = {
    404: Kind.NOT_FOUND,
    405: Kind.METHOD_NOT_ALLOWED,
    413: Kind.BODY_TOO_LARGE,
    415: Kind.UNSUPPORTED_MEDIA_TYPE,
    431: Kind.HEADERS_TOO_LARGE,
}


# The producers of new objects, by the component schema of the answer they make (a method of
# MockService), for the operations that create (or belong to no collection of x-contract-sequences);
# an operation whose success answer is none of these answers its first example, with its relations
# applied and fresh values for its `unique` ones (`MockService._example`).
# The `refId` counter of cases, beside each account's task counter (/__admin/counters shows both).
CASE_COUNTER = "cases"
# Each builder of generators and the counter its references are numbered from (None: the accounts' task
# counter): cases are numbered apart from tasks (`CS000001` and `TS000001` in one account).
PRODUCERS: Mapping[str, tuple[Callable[..., dict[str, Any]], str | None]] = {
    "Task": (build_task, None),
    "Case": (build_case, CASE_COUNTER),
}
# The page envelope of a listing (the spec's page schemas; spec/_sequences.py reads the same names).
PAGE_RESULTS = "results"
# A fresh value in the form of an example's: a reference (`CS000131`: letters, then a zero-padded
# number; the pages mask some digits, `CS00xxxx`) or a Kore id (`ci-...`: a prefix, then hex groups).
_REFERENCE = re.compile(r"\A([A-Z]*)([0-9][0-9x]*)\Z")
_ID_PREFIX = re.compile(r"\A([a-z]+)-")
_REDRAWN_AT_LEAST = 8
# The seeded start world: this many cases, each with this many tasks (`generators.build_world`), over
# two accounts and two streams. They become the accounts and streams a first call names: the spec's
# documented examples of the account header and the stream (what the docs' "Try it out" sends),
# the account the mock's own sample token gets without an account header, and the README's stream.
WORLD_CASES = 6
WORLD_TASKS_PER_CASE = 3
README_STREAM = "st-1"
# The spec's component schema of a world document (`GET`/`PUT /__admin/state`, --world).
WORLD_SCHEMA = "World"
STATE_PATH = "/__admin/state"
# What an update moves besides the fields sent (the relations `not-earlier` and read-only-fields:
# `updatedAt` never goes back; the update is the caller's).
UPDATED_AT = "updatedAt"
UPDATED_BY = "updatedBy"


@dataclass
class Answer:
    """What the mock sends: status, JSON body (None for no body), headers, and why."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    note: str = ""
    # A documented example sent verbatim (Prefer): it cannot keep the relations to this request.
    canned: bool = False


# A producer returns the success answer's body, or the Violation the operation answers instead.
Producer = Callable[["RouteMatch", Any, Headers, str, "Identity", "Control"], Any]


@dataclass(frozen=True)
class _Update:
    """What an update operation looks up: its collection and the path parameter naming the object."""

    collection: str
    path_id: str
    decision: str | None


@dataclass(frozen=True)
class _Create:
    """What a create operation stores: its collection, and the parents its object joins
    (`joins-parent`: the pointer naming the parent, the parent's collection and list field)."""

    collection: str
    joins: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class _Fresh:
    """A `unique` relation of a generic producer: where its value goes, the example's value, its scope."""

    relation: Relation
    example: Any


class StoredIds:
    """The `IdSource` of the mock: `refId` numbers from the shared SQLite counters, ids from the seed."""

    def __init__(self, store: StateStore, seed: int, *, counter: str = "") -> None:
        self._store = store
        self._ids = SeededIds(seed)
        # The `refId` counters: the account's own (tasks, as ever), or `<account>|<counter>`.
        self._counter = f"|{counter}" if counter else ""
        # An id is a pure function of (seed, prefix, key), and most keys of a task are its account's
        # (org, status, priority, fields): those are hashed once. Least recently used keys go first,
        # so the task ids, new every time, never push the account's out.
        self._new_id = functools.lru_cache(maxsize=_IDS_REMEMBERED)(self._hashed_id)

    def next_ref_number(self, account_id: str) -> int:
        """The next `refId` number of an account, shared by all workers and kept across restarts."""
        return self._store.next_ref_number(account_id + self._counter)

    def new_id(self, prefix: str, *, key: str) -> str:
        """A deterministic id for (seed, prefix, key)."""
        return self._new_id(prefix, key)  # positional: a cheaper cache key than keywords

    def _hashed_id(self, prefix: str, key: str) -> str:
        return self._ids.new_id(prefix, key=key)


@functools.lru_cache(maxsize=_CALLERS_REMEMBERED)
def _caller(app_id: str, seed: int) -> Caller:
    """The caller of an app: a pure function of (app, seed), made once per app."""
    return Caller.for_app(app_id, seed=seed)


class SequenceClock:
    """The clock of a seeded mock without --freeze-time: one second per created task from `start` (the
    instant of the seed page's sample task, the spec's seed-sample answer).

    A wall clock would make two runs with the same seed differ in every timestamp; this one makes the
    same sequence of requests get byte-identical answers across restarts, and still moves forward so
    tasks sort by creation. The tick counter lives in the shared state, so all workers agree.
    """

    def __init__(self, store: StateStore, start: datetime) -> None:
        self.store = store
        self.start = start

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.store.next_ref_number(CLOCK_COUNTER) - 1)


class MockService:
    """The mock's behaviour, independent of Flask's routing; one per app."""

    def __init__(self, config: MockConfig, contract: ContractSpec, store: StateStore) -> None:
        self.config = config
        self.contract = contract
        self.store = store
        self.seed = config.seed if config.seed is not None else secrets.randbits(31)
        self.validator = ContractValidator(contract)
        self.judge = ContractJudge(contract)
        self._answered = {op_id: itertools.count() for op_id in contract.operations}
        self.envelope_check = SchemaCheck(contract.error_schema)
        self.auth = Authenticator(config.jwt_secret)
        self.controls = Controls(contract)
        self.envelopes = Envelopes.from_contract(contract)
        self.faults = Faults(config, store, self.seed, contract.rate_limit)
        self.sequences = Sequences(contract)
        # Tables of the role producers, built here once (see `_producers`).
        self._updates: dict[str, _Update] = {}
        self._listed: dict[str, str] = {}
        self._creates: dict[str, _Create] = {}
        # The answer schema's top-level properties, for an update that answers a reduced object.
        self._reduced: dict[str, frozenset[str]] = {}
        # The schemas an updated object is answered in (the create's, the update's).
        self._kept_valid: dict[str, tuple[SchemaCheck, ...]] = {}
        self._fresh: dict[str, tuple[_Fresh, ...]] = {}
        self._instants: dict[str, tuple[tuple[str, ...], ...]] = {}
        # The builder and counter of each create a builder of generators answers (see PRODUCERS).
        self.builders: dict[str, tuple[Callable[..., dict[str, Any]], str | None]] = {}
        self.producers = self._producers(contract)
        # The operations whose security requirements ask for a token (the document's, unless the
        # operation sets its own; an empty requirement `{}` makes the token optional).
        default_security = contract.resolved.get("security", [])
        self.secured = frozenset(
            op.id
            for op in contract.operations.values()
            if (security := op.definition.get("security", default_security)) and {} not in security
        )
        self.routes = "; ".join(f"{op.method} {op.path_template}" for op in contract.operations.values())
        self.clock: Clock
        start = self._seed_instant(contract)
        if config.freeze_time:
            self.clock = FrozenClock(config.freeze_time)
        elif config.seed is not None and start is not None:
            self.clock = SequenceClock(store, start)
        else:
            self.clock = system_clock()
        self.ids = StoredIds(store, self.seed)
        # Cases are numbered apart from tasks (`CS000001` and `TS000001` in one account).
        self.case_ids = StoredIds(store, self.seed, counter=CASE_COUNTER)
        self.objects = ObjectStore(
            store,
            [c.name for c in self.sequences.collections],
            {c.name: self.sequences.listing(c.list) for c in self.sequences.collections if c.list},
        )
        # The start world is kept in the state file, not in memory: a world of 100,000 tasks would be
        # hundreds of MB in every worker. POST /__admin/reset reads it back.
        start_world = self._start_world()
        self.objects.keep_start(start_world)
        if not self.objects.has_world():
            self.objects.load(start_world, self.world_counters(start_world))
        del start_world
        self.self_check_failures = 0
        self.mock_bugs = 0
        self._docs: dict[str, bytes] | None = None
        self._docs_error = ""
        self._docs_lock = threading.Lock()

    def _producers(self, contract: ContractSpec) -> dict[str, Producer]:
        """Each operation's producer of success answers: by its role in x-contract-sequences, then by
        the schema of its success answer (an update's answer may share a create's schema: the role
        decides first, so `build_task` only ever makes new tasks)."""
        schemas = contract.resolved.get("components", {}).get("schemas", {})
        by_schema: dict[str, Producer] = {
            name: functools.partial(self._built, builder, counter)
            for name, (builder, counter) in PRODUCERS.items()
        }
        producers: dict[str, Producer] = {}
        for operation in contract.operations.values():
            found = self.sequences.role(operation.id)
            role = found[1] if found is not None else None
            if found is not None and role == "update":
                collection = found[0]
                self._updates[operation.id] = _Update(
                    collection.name, collection.path_id, _parameter_decision(operation, collection.path_id)
                )
                created = (
                    contract.operation(collection.create).response_schema() if collection.create else None
                )
                answer_schema = operation.response_schema()
                if isinstance(answer_schema, Mapping) and answer_schema != created:
                    self._reduced[operation.id] = frozenset(_properties(answer_schema))
                self._kept_valid[operation.id] = tuple(
                    SchemaCheck(schema) for schema in (created, answer_schema) if isinstance(schema, Mapping)
                )
                producers[operation.id] = self._stored_update
                continue
            if found is not None and role == "list":
                self._listed[operation.id] = found[0].name
                producers[operation.id] = self._stored_page
                continue
            if found is not None and role == "create":
                self._creates[operation.id] = _Create(
                    found[0].name,
                    tuple(
                        (r.pointers[0], r.parent or "", r.pointers[1].lstrip("/"))
                        for r in self.sequences.applying("joins-parent", operation.id)
                        if len(r.pointers) == 2
                    ),
                )
            answer = operation.response_schema()
            producer = next(
                (p for name, p in by_schema.items() if answer is not None and schemas.get(name) == answer),
                None,
            )
            if producer is None:
                producer = self._example
                self._prepare_example(operation)
            else:
                self.builders[operation.id] = PRODUCERS[
                    next(n for n, p in by_schema.items() if p is producer)
                ]
            producers[operation.id] = producer
        return producers

    def _prepare_example(self, operation: Operation) -> None:
        """The tables `_example` needs for an operation: its `unique` and `same-instant` relations."""
        example = self.controls.documented(operation, operation.success_status)
        body = example.body if example is not None else {}
        self._fresh[operation.id] = tuple(
            _Fresh(relation, resolve_pointer(body, relation.response))
            for relation in operation.relations
            if relation.kind == "unique" and relation.response
        )
        self._instants[operation.id] = tuple(
            tuple(relation.pointers) for relation in operation.relations if relation.kind == "same-instant"
        )

    def _seed_instant(self, contract: ContractSpec) -> datetime | None:
        """When the seeded clock starts: the creation instant of the seed page's sample answer (the
        seed-sample example of an operation `build_task` answers), or None when the spec has none."""
        for operation in contract.operations.values():
            if self.builders.get(operation.id, (None, None))[0] is build_task:
                created = operation.response_examples().get(SEED_EXAMPLE, {}).get("createdAt")
                if isinstance(created, str):
                    return datetime.fromisoformat(created)
        return None

    @functools.cached_property
    def bundle_json(self) -> bytes:
        """The spec as one JSON document (made on first use, then kept)."""
        return self.contract.bundle_json().encode()

    @functools.cached_property
    def bundle_yaml(self) -> bytes:
        """The spec as one YAML document (made on first use, then kept)."""
        return self.contract.bundle_yaml().encode()

    # -- the operation -------------------------------------------------------------------------

    def handle(self) -> Answer:
        """Answer the current request (any path, any method) through the pipeline."""
        # The request itself, not Flask's context-local proxy: each attribute read through the proxy
        # costs a context lookup, and the pipeline reads a few dozen.
        request = _current_request()
        route = self.contract.match(request.method, request.path)
        g.route = route
        limit = self.config.header_limit
        size = _header_bytes(request.environ)
        if size > limit:
            return self.fail(
                Violation(
                    Kind.HEADERS_TOO_LARGE,
                    f"Request header section of {size} bytes exceeds the limit of {limit} bytes",
                    "/header",
                    "Received: an oversized header section. Documented: ordinary header sizes (the platform's "
                    "gateway limits them too). Fix: send smaller headers (--header-limit raises the mock's limit).",
                ),
                drain=True,
            )
        length = request.content_length
        if length is not None and length > self.config.body_limit:
            return self._too_large(f"{length} bytes", "as its Content-Length says", drain=True)
        if route is None:
            return self._unrouted(request)
        operation = route.operation
        delay = self.faults.delay_seconds()
        if delay:
            time.sleep(delay)
        try:
            raw = request.stream.read(self.config.body_limit + 1)
        except UNREADABLE_BODY as exc:
            return self.fail(unreadable_body(exc))
        g.raw_body = raw
        if len(raw) > self.config.body_limit:
            return self._too_large(f"more than {self.config.body_limit} bytes", "as read so far", drain=True)
        unsupported = content_type_violation(request.headers.get("Content-Type"), raw)
        if unsupported is not None:
            return self.fail(unsupported)

        headers = request.headers
        # Without a query string there is nothing to look up: werkzeug's MultiDict raises and catches
        # an exception for each missing key, four times per request.
        control = self.controls.parse(operation, headers, request.args if request.query_string else _NO_QUERY)
        if isinstance(control, Violation):
            return self.fail(control)
        canned = self.controls.canned(operation, control)
        if canned is not None and canned.status != operation.success_status:
            return self._canned(canned, control)

        identity = self.auth.authenticate(headers) if operation.id in self.secured else _ANONYMOUS
        if isinstance(identity, Violation):
            return self.fail(identity)
        account_id: str | None = headers.get(ACCOUNT_HEADER)
        if account_id is None:
            account_id = derived_account_id(identity.app_id, self.seed)
        throttled = self.faults.throttle(account_id)
        if throttled is not None:
            return self.fail(throttled.violation, headers={"Retry-After": str(throttled.retry_after)})

        parsed = self.validator.parse_body(raw, operation) if raw else None
        if parsed is not None and parsed.violation is not None:
            return self.fail(parsed.violation)
        violations = self.validator.validate(
            route,
            headers=headers,
            body=raw,
            query=request.args,
            # werkzeug reads cookies by scanning every header; without a Cookie header there are none.
            cookies=request.cookies if "HTTP_COOKIE" in request.environ else _NO_COOKIES,
        )
        if violations:
            return self.fail(*violations)

        injected = self.faults.injected(operation.documented_statuses)
        if injected is not None:
            return self.fail(injected)
        if canned is not None:
            return self._canned(canned, control)
        produce = self.producers[operation.id]
        body = parsed.value if parsed is not None else None
        g.request_body = body
        produced = produce(route, body, headers, account_id, identity, control)
        if isinstance(produced, Violation):
            return self.fail(produced)
        create = self._creates.get(operation.id)
        if create is not None and isinstance(produced, dict):
            # Committed before the answer is sent; a task joins its case's `taskIds` in the same
            # transaction (decision task-joins-case).
            joins = [
                (parent, parent_id, field)
                for link, parent, field in create.joins
                if isinstance(parent_id := resolve_pointer(produced, link), str)
            ]
            self.objects.create(create.collection, scope_of(produced), produced, joins)
        return Answer(operation.success_status, produced)

    def _unrouted(self, request: Request) -> Answer:
        """A request that names no operation: 404 on an unknown path, 405 (or OPTIONS' 204) on a known one."""
        methods = self.contract.methods_at(request.path)
        if not methods:
            return self.fail(self.not_found(), drain=True)
        allow = ", ".join([*sorted(methods), "OPTIONS"])
        if request.method == "OPTIONS":
            return Answer(204, None, {"Allow": allow})
        return self.fail(
            Violation(
                Kind.METHOD_NOT_ALLOWED,
                f"Method {request.method} is not allowed on this path; use {' or '.join(sorted(methods))}",
                "",
                f"Received: {request.method}. Documented: {allow} on {request.path}. Fix: send one of those.",
            ),
            headers={"Allow": allow},
            drain=True,
        )

    def _built(
        self,
        builder: Callable[..., dict[str, Any]],
        counter: str | None,
        route: RouteMatch,
        body: Any,
        headers: Headers,
        account_id: str,
        identity: Identity,
        control: Control,
    ) -> Any:
        """The answer of a create whose success answer a builder of generators makes (a task, a case),
        numbered from its own counter; `Prefer: seed=` numbers it from a counter of that seed."""
        seed = self.seed if control.seed is None else control.seed
        if control.seed is None:
            ids = self.case_ids if counter == CASE_COUNTER else self.ids
        else:
            ids = StoredIds(self.store, seed, counter=counter) if counter else StoredIds(self.store, seed)
        return builder(
            body,
            stream_id=_stream(route, ""),
            account_id=account_id,
            caller=_caller(identity.app_id, seed),
            clock=self.clock,
            ids=ids,
            spec=self.contract,
            operation=route.operation,
        )

    def _example(
        self,
        route: RouteMatch,
        body: Any,
        headers: Headers,
        account_id: str,
        identity: Identity,
        control: Control,
    ) -> Any:
        """The answer of an operation with no producer of its own: its first named success example,
        changed to keep the operation's relations with this request: a fresh value for each `unique`
        relation (in the example's form), the creation instant now for each `same-instant` one."""
        operation = route.operation
        example = self.controls.documented(operation, operation.success_status)
        facts = RequestFacts(
            body=body if body is not None else {},
            path=route.path_params,
            headers={**headers, ACCOUNT_HEADER: account_id},
        )
        answer = apply_relations(operation.relations, facts, example.body if example is not None else {})
        ids = self.ids if control.seed is None else StoredIds(self.store, control.seed)
        for fresh in self._fresh.get(operation.id, ()):
            relation = fresh.relation
            scope = resolve_pointer(answer, relation.within) if relation.within else ""
            key = f"{INTERNAL_COUNTER}unique|{relation.id}|{scope}"
            answer = _set_value(answer, relation.response or "", _fresh_value(fresh.example, key, ids))
        instants = self._instants.get(operation.id, ())
        if instants:
            now = self.clock()
            text = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            millis = int(now.timestamp() * 1000)
            for pointers in instants:
                for pointer in pointers:
                    value = resolve_pointer(answer, pointer)
                    if isinstance(value, str):
                        answer = _set_value(answer, pointer, text)
                    elif isinstance(value, int) and not isinstance(value, bool):
                        answer = _set_value(answer, pointer, millis)
        return answer

    def _unknown_object(
        self,
        route: RouteMatch,
        body: Any,
        headers: Headers,
        account_id: str,
        identity: Identity,
        control: Control,
    ) -> Violation:
        """The answer of an update of an id the account and stream do not hold: 404 (decision unknown-ids)."""
        update = self._updates[route.operation.id]
        object_id = route.path_params.get(update.path_id, "")
        scope = ", ".join(
            [
                f"account {account_id}",
                *(f"{k} {v}" for k, v in route.path_params.items() if k != update.path_id),
            ]
        )
        return Violation(
            Kind.NOT_FOUND,
            f"No object of {update.collection} has the id {printable(object_id, 80)} ({scope})",
            f"/path/{update.path_id}",
            f"Received: {update.path_id} {printable(object_id, 80)}. Documented: an id the create operation of "
            f"{update.collection} answered for this account and stream; an unknown or foreign id is answered 404. "
            f"Fix: use an id the create or the listing of {update.collection} answered with this accountId "
            "header and stream (GET /__admin/state shows every stored object), or `Prefer: code=200` for the "
            "documented success example.",
            decision=update.decision,
            rule="unknown-id",
        )

    def _stored_page(
        self,
        route: RouteMatch,
        body: Any,
        headers: Headers,
        account_id: str,
        identity: Identity,
        control: Control,
    ) -> Any:
        """The answer of a listing: the page the spec's x-filter/x-sort/x-page imply over the objects the
        account and stream hold (`spec.Listing`; decisions filter-matching, sort-forms, pagination)."""
        operation = route.operation
        scope = (account_id, _stream(route, ""))
        # `mycase`/`mytask` keep what is assigned to the token's user, its `sub` (decision
        # unresolved-unassigned-mine); a token without one keeps nothing under them.
        subject = identity.claims.get("sub")
        caller = subject if isinstance(subject, str) else None
        page: ExpectedPage = self.objects.page(self._listed[operation.id], scope, body, caller)
        return {
            PAGE_RESULTS: list(page.results),
            "page": page.page,
            "limit": page.limit,
            "hasMore": page.has_more,
            "totalPages": page.total_pages,
            "totalResults": page.total_results,
        }

    def _stored_update(
        self,
        route: RouteMatch,
        body: Any,
        headers: Headers,
        account_id: str,
        identity: Identity,
        control: Control,
    ) -> Any:
        """The answer of an update: the stored object merged with the body as the spec decides
        (`Sequences.merged`: read-only fields kept, `lname` recomputed), `updatedAt` moved forward to
        the mock's clock and `updatedBy` the caller, stored before the answer; 404 for an id the
        account and stream do not hold (decision unknown-ids)."""
        operation = route.operation
        update = self._updates[operation.id]
        object_id = route.path_params.get(update.path_id, "")
        scope = (account_id, _stream(route, update.path_id))
        caller = _caller(identity.app_id, self.seed if control.seed is None else control.seed)
        if self.objects.get(update.collection, scope, object_id) is None:
            return self._unknown_object(route, body, headers, account_id, identity, control)
        now = self.clock()  # outside the transaction: the seeded clock counts in the same file
        now_text = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        sent = self._options_named(update.collection, body, account_id)

        def change(stored: dict[str, Any]) -> dict[str, Any]:
            merged = self._merged_valid(operation.id, stored, sent)
            before = instant_ms(stored.get(UPDATED_AT))
            if before is None or before <= int(now.timestamp() * 1000):
                merged[UPDATED_AT] = now_text  # never backwards: a later stored instant stays
            if UPDATED_BY in stored:
                merged[UPDATED_BY] = caller.actor()
            return merged

        updated = self.objects.update(update.collection, scope, object_id, change)
        if updated is None:  # removed meanwhile (a PUT /__admin/state from another client)
            return self._unknown_object(route, body, headers, account_id, identity, control)
        reduced = self._reduced.get(operation.id)
        return updated if reduced is None else {k: v for k, v in updated.items() if k in reduced}

    def _options_named(self, collection: str, body: Any, account_id: str) -> Any:
        """The body with each option it names by `_id` or `name` (`status`, `priority`) as the
        account's whole option (decision `option-references`); other values as sent."""
        if not isinstance(body, Mapping) or not any(f in body for f in OPTION_FIELDS):
            return body
        create = next((c.create for c in self.sequences.collections if c.name == collection), None)
        template = (
            self.contract.operation(create).response_examples().get("seed-sample", {}) if create else {}
        )
        resolved = dict(body)
        for option_field in OPTION_FIELDS:
            default = resolve_pointer(template, f"/{option_field}/name")
            option = account_option(
                option_field,
                body.get(option_field),
                account_id,
                self.ids,
                default=default if isinstance(default, str) else None,
            )
            if option is not None:
                resolved[option_field] = option
        return resolved

    def _merged_valid(self, operation_id: str, stored: dict[str, Any], body: Any) -> dict[str, Any]:
        """`Sequences.merged`, but a field sent whose value would leave the object breaking the schema it
        is answered in keeps its stored value (logged).

        The update request accepts values the stored object's schema does not (a `priority` without
        `color`, an empty status): the spec decides no answer for them, and the mock never answers
        what the spec forbids; it keeps the stored field and says so in its log.
        """
        merged = self.sequences.merged(operation_id, stored, body)
        sent = set(body) if isinstance(body, Mapping) else set()
        reduced = self._reduced.get(operation_id)
        kept: set[str] = set()
        for _ in range(len(sent) + 1):
            broken: set[str] = set()
            for index, check in enumerate(self._kept_valid.get(operation_id, ())):
                shown = (
                    merged
                    if index == 0 or reduced is None
                    else {k: v for k, v in merged.items() if k in reduced}
                )
                for error in check.errors(shown):
                    path = list(error.absolute_path)
                    if path and isinstance(path[0], str) and path[0] in sent:
                        broken.add(path[0])
            broken -= kept
            if not broken:
                break
            for name in broken:
                if name in stored:
                    merged[name] = copy.deepcopy(stored[name])
                else:
                    merged.pop(name, None)
            kept |= broken
            merged = self.sequences.merged(operation_id, merged, {})  # lname follows a kept name
        if kept:
            log.warning(
                "%s: kept the stored %s: the value sent would break the answer's schema",
                operation_id,
                ", ".join(sorted(kept)),
            )
        return merged

    # -- the world -----------------------------------------------------------------------------

    def _start_world(self) -> dict[str, Any]:
        """The world the mock starts from and `POST /__admin/reset` returns to."""
        if self.config.empty_world:
            return {"version": 1, **{c.name: [] for c in self.sequences.collections}}
        if self.config.world is not None:
            source = str(self.config.world)
            try:
                world = orjson.loads(self.config.world.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise WorldError(source, (f"/: not a readable JSON document ({exc})",)) from None
            problems = self.world_problems(world)
            if problems:
                raise WorldError(source, tuple(problems))
            return cast(dict[str, Any], world)
        return self._seeded_world()

    def _seeded_world(self) -> dict[str, Any]:
        """A few cases with tasks from `generators.build_world`, moved to the accounts and streams a
        first call names (see WORLD_CASES)."""
        world = build_world(
            cases=WORLD_CASES, tasks_per_case=WORLD_TASKS_PER_CASE, seed=self.seed, spec=self.contract
        )
        account_example = next(
            (
                str(p["example"])
                for op in self.contract.operations.values()
                for p in op.parameters_in("header")
                if p.get("name") == ACCOUNT_HEADER and p.get("example")
            ),
            derived_account_id(SAMPLE_APP_ID, self.seed),
        )
        stream_example = next(
            (
                str(p["example"])
                for c in self.sequences.collections
                if c.create
                for p in self.contract.operation(c.create).parameters_in("path")[:1]
                if p.get("example")
            ),
            README_STREAM,
        )
        documents = [d for c in self.sequences.collections for d in world.get(c.name, [])]
        accounts = list(dict.fromkeys(scope_of(d)[0] for d in documents))
        streams = list(dict.fromkeys(scope_of(d)[1] for d in documents))
        new_accounts = dict(
            zip(accounts, (account_example, derived_account_id(SAMPLE_APP_ID, self.seed)), strict=False)
        )
        new_streams = dict(zip(streams, (stream_example, README_STREAM), strict=False))
        for document in documents:
            account, stream = scope_of(document)
            _set_value(document, ACCOUNT_POINTER, new_accounts.get(account, account))
            _set_value(document, STREAM_POINTER, new_streams.get(stream, stream))
        # The first object of each collection in the documented scope takes the documented example of
        # its update's path id, so the docs' "Try it out" of an update finds it.
        renamed: dict[str, str] = {}
        for collection in self.sequences.collections:
            if not collection.update:
                continue
            example = next(
                (
                    str(p["example"])
                    for p in self.contract.operation(collection.update).parameters_in("path")
                    if p.get("name") == collection.path_id and p.get("example")
                ),
                None,
            )
            first = next(
                (
                    d
                    for d in world.get(collection.name, [])
                    if scope_of(d) == (account_example, stream_example)
                ),
                None,
            )
            if example is not None and first is not None and isinstance(first.get("_id"), str):
                renamed[first["_id"]] = example
        return cast(dict[str, Any], _renamed(world, renamed))

    def world_problems(self, world: Any) -> list[str]:
        """Every problem of a world document (the spec's World schema; ids once per account and stream)."""
        schema = self.contract.resolved.get("components", {}).get("schemas", {}).get(WORLD_SCHEMA, {})
        return world_problems(world, SchemaCheck(schema).errors, [c.name for c in self.sequences.collections])

    def world_counters(self, world: Mapping[str, Any]) -> dict[str, int]:
        """The `refId` counters a world's objects have used: the next create numbers after them."""
        counters: dict[str, int] = {}
        for collection, create in (
            (c, self._creates.get(c.create or "")) for c in self.sequences.collections
        ):
            if create is None:
                continue
            counter = self.builders.get(collection.create or "", (None, None))[1]
            suffix = f"|{counter}" if counter else ""
            for document in world.get(collection.name, []):
                reference = _REFERENCE.match(str(document.get("refId", "")))
                if reference is None or not reference.group(2).isdigit():
                    continue
                key = scope_of(document)[0] + suffix
                counters[key] = max(counters.get(key, 0), int(reference.group(2)))
        return counters

    def load_world(self, world: Mapping[str, Any]) -> None:
        """Replace every stored object by a (valid) world's."""
        self.objects.load(world, self.world_counters(world))

    def _canned(self, canned: Canned, control: Control) -> Answer:
        asked = (
            f"example={canned.name}"
            if control.example
            else f"code={control.code}"
            if control.code
            else "dynamic=false"
        )
        return Answer(canned.status, canned.body, dict(canned.headers), note=f"Prefer {asked}", canned=True)

    def _too_large(self, size: str, how: str, *, drain: bool) -> Answer:
        limit = self.config.body_limit
        return self.fail(
            Violation(
                Kind.BODY_TOO_LARGE,
                f"Request body of {size} exceeds the limit of {limit} bytes",
                "/body",
                f"Received: {size}, {how}. Documented: request bodies are small JSON objects; the mock accepts up to "
                f"{limit} bytes (--body-limit). Fix: send a smaller body.",
            ),
            drain=drain,
        )

    def not_found(self) -> Violation:
        """The 404 of the current request, naming what the mock does serve."""
        return Violation(
            Kind.NOT_FOUND,
            f"No operation at path {request.path}",
            "",
            f"Received: {request.method} {request.path}. Documented: {self.routes}; the mock also serves "
            "/openapi.json, /openapi.yaml, /docs/ and /__admin/. Fix: check the path.",
        )

    def fail(
        self, *violations: Violation, headers: Mapping[str, str] | None = None, drain: bool = False
    ) -> Answer:
        """The error answer listing `violations`; `drain` reads an unread body first (see `_drain`)."""
        if drain:
            _drain(request.stream, request.content_length)
        route: RouteMatch | None = g.get("route")
        status = self.envelopes.status_of(violations, route.operation if route is not None else None)
        return Answer(status, self.envelopes.envelope(violations), dict(headers or {}), tuple(violations))

    # -- answering -----------------------------------------------------------------------------

    def respond(self, answer: Answer, started: float, *, journal: bool = True) -> Response:
        """Self-check, serialise, journal and log an answer."""
        request = _current_request()
        headers = dict(answer.headers)
        payload = b""
        if answer.body is not None:
            payload = orjson.dumps(answer.body)
            problems = self.self_check(answer.status, answer.body, payload, relations=not answer.canned)
            if problems:
                self.self_check_failures += 1
                headers["X-Mock-Self-Check"] = "failed"
                log.error(
                    "%s: %s %s answered %d, which breaks the spec: %s",
                    SELF_CHECK_MARK,
                    request.method,
                    printable(request.path),
                    answer.status,
                    "; ".join(problems),
                )
        response = Response(
            payload,
            answer.status,
            headers,
            content_type=JSON_CONTENT_TYPE if answer.body is not None else None,
        )
        ms = (time.perf_counter() - started) * 1000
        if journal:
            self._journal(answer, payload, ms)
        first = str(answer.violations[0]) if answer.violations else answer.note
        line = f"{request.method} {printable(request.path)} {answer.status} {ms:.1f}ms"
        log.info("%s%s", line, f" {printable(first)}" if first else "")
        return response

    def self_check(self, status: int, body: Any, payload: bytes, *, relations: bool = True) -> list[str]:
        """Where the mock's own answer breaks the contract (a mock bug when not empty), by the one judge.

        An answer of an operation is judged as a client would judge it (status, media type, schema,
        and, unless `relations` is False, the relations of a success to its request); an answer
        outside any operation (404, 405) must be the error envelope.

        The whole judgement costs some 200 us, most of it the relations; so every answer gets the
        judge's compiled schema check of its documented status (a few us), and the whole judgement
        is passed on the first answers of each operation, then on one answer in FULL_JUDGEMENT_EVERY,
        and on every answer the compiled check does not accept (which the judge then words).
        """
        route: RouteMatch | None = g.get("route")
        if route is None or status >= 500:
            # No operation to judge by, or a 5xx the mock answers on purpose (a fault it was asked to
            # inject, its own bug): the judge stops at `not_a_server_error`; the body is still checked.
            if route is not None and status not in route.operation.documented_statuses:
                return [f"{status} is a status {route.operation.id} does not document"]
            check = self.judge.schema_check(route.operation, status) if route is not None else None
            found = (check or self.envelope_check).errors(body)
            return [f"{error_pointer('', e) or '/'}: {e.message}" for e in found]
        operation = route.operation
        answered = next(self._answered[operation.id])
        if answered >= FULL_JUDGEMENT_FIRST and answered % FULL_JUDGEMENT_EVERY:
            check = self.judge.schema_check(operation, status)
            if check is not None and status in operation.documented_statuses and check.accepts(body):
                return []
        request = _current_request()
        expectation = (
            _SUCCESS_EXPECTED
            if 200 <= status < 300
            else Expectation(Expect.INVALID, rule="refused", statuses=frozenset({status}))
        )
        judgement = self.judge.answer(
            operation,
            SentRequest(
                route.path_params, cast(Mapping[str, str], request.headers), g.get("request_body", MISSING)
            ),
            ReceivedAnswer(status, _JSON_HEADERS, payload),
            expectation,
            relations=None if relations else (),
        )
        return [str(finding) for finding in judgement.findings]

    def _journal(self, answer: Answer, payload: bytes, ms: float) -> None:
        request = _current_request()
        self.store.record(
            journal_entry(
                request,
                status=answer.status,
                body=g.get("raw_body", b""),
                findings=[self.envelopes.entry(v) for v in answer.violations],
                answer=payload,
                ms=ms,
                headers=_journal_headers(request.environ),
            )
        )

    # -- documentation -------------------------------------------------------------------------

    def docs(self) -> dict[str, bytes] | None:
        """The documentation files, built on first use; None when building them failed (503)."""
        with self._docs_lock:
            if self._docs is None and not self._docs_error:
                try:
                    from spec.docs import build_docs  # on first use: the mock starts without it

                    # Served here, "Try it out" sends to this mock. Without --jwt-secret any
                    # well-formed token passes, so the page fills one in; with a secret, minting a
                    # valid token into a page anyone on the network may load would give it away.
                    token = (
                        None
                        if self.config.jwt_secret is not None
                        else mint_token(SAMPLE_APP_ID, DEVELOPMENT_SECRET)
                    )
                    self._docs = build_docs(self.contract, try_it_out=True, auth_token=token)
                except Exception as exc:  # a docs failure must not take the API down
                    log.exception("building the documentation failed")
                    self._docs_error = f"building the documentation failed: {exc}"
            return self._docs

    def docs_unavailable(self) -> Violation:
        """The 503 when documentation cannot be served."""
        return Violation(
            Kind.DOCS_NOT_BUILT,
            "documentation is not built",
            "",
            f"{self._docs_error}. The API itself works; /openapi.json and /openapi.yaml serve the spec.",
        )


def create_app(config: MockConfig | None = None) -> Flask:
    """Build the mock's Flask app: the contract, validators and state are made here, once.

    Example:
        >>> app = create_app(MockConfig(seed=7))
        >>> app.test_client().get("/__admin/health").status_code
        200
    """
    config = config or MockConfig.from_env()
    logging.getLogger("mockserver").setLevel(config.log_level.upper())
    contract = load_spec(config.spec_path)
    app = Flask("mockserver")
    try:
        store = open_store(config.state_file, prefix="kore-mock-", journal_size=config.journal_size)
    except (sqlite3.Error, OSError) as exc:
        raise StateFileError(config.state_file or Path("(temporary)"), f"cannot be opened ({exc})") from None
    service = MockService(config, contract, store)
    # gunicorn's master built the app; its workers open their own connections (see StateStore).
    store.close()
    app.config["MOCK_SERVICE"] = service
    # A path parameter may be anything but '/', and `//` must stay a 404, not a redirect.
    app.url_map.merge_slashes = False
    _cors(app, config, contract)
    _admin_routes(app, service)
    _document_routes(app, service)

    def operation() -> Response:
        started = time.perf_counter()
        # One transaction per request (its counters, the stored object, the journal entry), committed
        # before Flask hands the answer to the server.
        with service.store.unit():
            return service.respond(service.handle(), started)

    # methods=None: every method, including ones Flask does not know, reaches the pipeline, so that
    # the 404/405 decision and its envelope are made in one place.
    app.url_map.add(Rule("/", endpoint="operation", defaults={"_path": ""}, methods=None))
    app.url_map.converters["anypath"] = _AnyPath
    app.url_map.add(Rule("/<anypath:_path>", endpoint="operation", methods=None))
    app.view_functions["operation"] = lambda _path: operation()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        started = time.perf_counter()
        kind = _STATUS_KINDS.get(exc.code or 400, Kind.INVALID_REQUEST)
        violation = Violation(
            kind, exc.description or exc.name, "", f"Received: {request.method} {request.path}."
        )
        if kind is Kind.NOT_FOUND:
            violation = service.not_found()
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if kind is Kind.METHOD_NOT_ALLOWED and allowed else {}
        return service.respond(service.fail(violation, headers=headers), started)

    @app.errorhandler(Exception)
    def mock_bug(exc: Exception) -> Response:
        started = time.perf_counter()
        service.mock_bugs += 1
        log.exception(
            "%s: %s %s raised %s", MOCK_BUG_MARK, request.method, printable(request.path), type(exc).__name__
        )
        violation = Violation(
            Kind.MOCK_BUG,
            f"the mock failed ({type(exc).__name__}); this is a bug in the mock, not in your request",
            "",
            "Please report it with the request (GET /__admin/requests shows it).",
        )
        return service.respond(service.fail(violation), started)

    return app


def _cors(app: Flask, config: MockConfig, contract: ContractSpec) -> None:
    """CORS for browser apps: every header the platform's web client sends may cross origins."""
    spec_headers = sorted(
        {p["name"] for op in contract.operations.values() for p in op.parameters_in("header")}
    )
    auth_headers = list(contract.auth_headers.values()) or [AUTH_HEADER]
    spec_methods = {op.method for op in contract.operations.values()}
    CORS(
        app,
        resources={r"/*": {"origins": list(config.cors_origins)}},
        allow_headers=[*auth_headers, *spec_headers, "Content-Type", "Accept", "Prefer"],
        expose_headers=["Retry-After", "Allow", "X-Mock-Self-Check"],
        methods=sorted(spec_methods | {"GET", "POST", "DELETE", "OPTIONS"}),
        max_age=600,
    )


def _admin_routes(app: Flask, service: MockService) -> None:
    started_at = time.time()

    @app.get(HEALTH_PATH)
    def health() -> Response:
        info = service.contract.resolved.get("info", {})
        return json_response(
            {
                "status": "ok",
                "spec": {"title": info.get("title"), "version": info.get("version")},
                "seed": service.seed,
                "uptimeSeconds": round(time.time() - started_at, 3),
                "selfCheckFailures": service.self_check_failures,
                "mockBugs": service.mock_bugs,
            }
        )

    add_journal_routes(app, service.store)

    @app.get("/__admin/counters")
    def counters() -> Response:
        return json_response({"refCounters": service.store.counters()})

    @app.post("/__admin/reset")
    def reset() -> Response:
        service.store.reset()
        service.load_world(service.objects.start())
        return json_response({"reset": ["journal", "refCounters", "rateWindows", "world"]})

    @app.get(STATE_PATH)
    def export_state() -> Response:
        return json_response(service.objects.export())

    @app.put(STATE_PATH)
    def import_state() -> Response:
        started = time.perf_counter()
        try:
            world = orjson.loads(request.get_data())
        except orjson.JSONDecodeError as exc:
            problems = [f"/: not a JSON document ({exc})"]
        except UNREADABLE_BODY as exc:
            return service.respond(service.fail(unreadable_body(exc)), started, journal=False)
        else:
            problems = service.world_problems(world)
        if problems:
            violations = [
                Violation(
                    Kind.INVALID_REQUEST,
                    problem,
                    "/body" + problem.partition(":")[0].rstrip("/"),
                    "Received: a document that is not the spec's World. Documented: components/schemas/World "
                    "(GET /__admin/state answers one). Nothing was changed.",
                )
                for problem in problems
            ]
            return service.respond(service.fail(*violations), started, journal=False)
        service.load_world(world)
        counts = {c.name: len(world.get(c.name, [])) for c in service.sequences.collections}
        return json_response({"loaded": counts})


def _document_routes(app: Flask, service: MockService) -> None:
    def raw(payload: Callable[[], bytes], content_type: str) -> Callable[[], Response]:
        return lambda: Response(payload(), 200, content_type=content_type)

    app.add_url_rule(
        "/openapi.json", "openapi_json", raw(lambda: service.bundle_json, JSON_CONTENT_TYPE), methods=["GET"]
    )
    app.add_url_rule(
        "/openapi.yaml",
        "openapi_yaml",
        raw(lambda: service.bundle_yaml, "application/yaml; charset=utf-8"),
        methods=["GET"],
    )

    @app.get("/docs")
    def docs_root() -> Response:
        return redirect("/docs/", code=308)  # type: ignore[return-value]

    @app.get("/docs/")
    @app.get("/docs/<path:name>")
    def docs(name: str = "index.html") -> Response:
        files = service.docs()
        if files is None:
            started = time.perf_counter()
            return service.respond(service.fail(service.docs_unavailable()), started, journal=False)
        content = files.get(name)
        if content is None:
            started = time.perf_counter()
            return service.respond(service.fail(service.not_found()), started, journal=False)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        return Response(content, 200, content_type=content_type)


class _AnyPath(PathConverter):
    """werkzeug's `path` converter, newlines included: a path parameter holding `%0A` reaches the
    pipeline, which decides by the spec (werkzeug's `.` stops at a newline and answered 404)."""

    regex = "[^/][\\s\\S]*?"


def _parameter_decision(operation: Operation, name: str) -> str | None:
    """The decision a path parameter's object carries (`x-decision`), or None."""
    for parameter in operation.parameters:
        if parameter.get("in") == "path" and parameter.get("name") == name:
            decision = parameter.get("x-decision")
            return decision if isinstance(decision, str) else None
    return None


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    """`value` with every string that is a key of `names` replaced by its value (ids and references)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    return value


def _stream(route: RouteMatch, path_id: str) -> str:
    """The stream a request acts in: its first path parameter that is not the object's id."""
    return next((v for k, v in route.path_params.items() if k != path_id), "")


def _properties(schema: Mapping[str, Any]) -> set[str]:
    """The top-level properties a schema names (its own and its allOf parts')."""
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if isinstance(part, Mapping):
            names |= _properties(part)
    return names


def _fresh_value(example: Any, key: str, ids: StoredIds) -> Any:
    """A value no earlier answer had, in the example's form: the next number of a shared counter as a
    reference (`CS000001`) or an integer, a new id of the example's prefix, else the example's
    characters with its digits and hex letters redrawn from a new id (the number appended when it has
    too few of them)."""
    number = ids.next_ref_number(key)
    if isinstance(example, int) and not isinstance(example, bool):
        return number
    if not isinstance(example, str):
        return example
    reference = _REFERENCE.match(example)
    if reference is not None:
        letters, digits = reference.groups()
        return f"{letters}{number:0{len(digits)}d}"
    prefix = _ID_PREFIX.match(example)
    if prefix is not None:
        try:
            return ids.new_id(prefix.group(1), key=f"{key}|{number}")
        except ValueError:
            pass  # not a Kore prefix: keep the example's form below
    head, dash, tail = example.partition("-") if prefix is not None else ("", "", example)
    if sum(c.isdigit() or c in "abcdef" for c in tail) < _REDRAWN_AT_LEAST:
        return f"{example}-{number}"  # too few characters to redraw: the counter keeps it new
    hexes = ids.new_id("ti", key=f"{key}|{number}").split("-", 1)[1].replace("-", "")
    drawn = iter(hexes * (len(tail) // len(hexes) + 1))
    redrawn = "".join(
        (str(int(next(drawn), 16) % 10) if c.isdigit() else next(drawn) if c in "abcdef" else c) for c in tail
    )
    return f"{head}{dash}{redrawn}"


def _set_value(document: Any, pointer: str, value: Any) -> Any:
    """`document` with `value` at `pointer` when its parent object is there (changed in place)."""
    tokens = [unescape_token(t) for t in pointer.lstrip("/").split("/")] if pointer else []
    if not tokens:
        return value
    node = document
    for token in tokens[:-1]:
        node = node.get(token) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node[tokens[-1]] = value
    return document


def _current_request() -> Request:
    """The request being answered (Flask's `request` proxy resolved once)."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    return current


def _journal_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers as `request.headers.items()` names them, auth and cookies redacted."""
    headers = {}
    for key, value in environ.items():
        header = _journal_header(key)
        if header is not None and (value or key.startswith("HTTP_")):
            name, redacted = header
            headers[name] = "<redacted>" if redacted else value
    return headers


@functools.lru_cache(maxsize=512)
def _journal_header(environ_key: str) -> tuple[str, bool] | None:
    """werkzeug's name of the header an environ key holds (`HTTP_X_TIMEZONE_OFFSET` -> `X-Timezone-Offset`)
    and whether the journal redacts it; None for keys that are not headers (werkzeug skips
    `HTTP_CONTENT_TYPE` and `HTTP_CONTENT_LENGTH`, and an empty CONTENT_TYPE or CONTENT_LENGTH)."""
    if environ_key.startswith("HTTP_"):
        if environ_key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            return None
    elif environ_key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return None
    name = environ_key.removeprefix("HTTP_").replace("_", "-").title()
    return name, name.lower() in REDACTED_HEADERS


def _header_bytes(environ: Mapping[str, Any]) -> int:
    """The size of the request's header section, as sent (name: value CRLF)."""
    total = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            total += len(key) - 5 + len(value) + 4  # `Name: value\r\n`, the name without WSGI's HTTP_
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            total += len(key) + len(value) + 4
    return total


def _drain(stream: Any, length: int | None) -> None:
    """Read and drop an unread body, so the client sees our answer instead of a reset connection."""
    remaining = min(length if length is not None else _DRAIN_MAX, _DRAIN_MAX)
    try:
        while remaining > 0:
            chunk = stream.read(min(65536, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except UNREADABLE_BODY:
        pass  # the client went away, or its body's framing broke HTTP; nothing left to protect
