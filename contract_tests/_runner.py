"""A run: send the generators' requests to every operation, ask the judge about every answer, shrink what fails.

The engine is Hypothesis itself: each scenario of each operation is a `@given` run seeded with
`@seed(N)` (no example database), so the same seed sends the same requests, and a failing check is
shrunk to the smallest request that still breaks it. Each check raises its own exception type,
because Hypothesis tells distinct bugs apart by the type they raise and then shrinks each one on its own.

Everything an operation is sent is read from its `Operation` and drawn by the generators: its
named examples, valid bodies in every valid media-type variant, each kind of invalid request the
spec allows, hostile path and header values, and bad tokens. Whether an answer keeps the contract
is decided by the one judge (`spec.ContractJudge`, through `_checks`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import random
import secrets
import time
import unittest
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable

from contract_tests._auth import AuthCase, Tokens
from contract_tests._checks import Checks, check_names, check_of, requires_optional
from contract_tests._client import (
    ContractClient,
    Exchange,
    Interrupted,
    PreparedRequest,
    TargetGone,
    Unsendable,
)
from contract_tests._config import ContractConfig
from contract_tests._curl import to_curl
from contract_tests._errors import NothingJudged, TargetUnreachable
from contract_tests._interrupt import StopOnSigint
from contract_tests._optional import (
    DecidedOptional,
    decided_optional,
    filled,
    left_out,
    opening_decisions,
    without_unknown_properties,
)
from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket
from contract_tests._recorder import Recorder, Tally, group_key
from contract_tests._report import (
    FAILURE,
    CheckSummary,
    ContractReport,
    Coverage,
    Created,
    Failure,
    Progress,
    SilentProgress,
)
from spec import ContractSpec, Expect, Expectation, Finding, Judgement, Operation, load_spec
from spec._judge import POSITIVE_DATA_ACCEPTANCE, SETUP_STATUSES

if TYPE_CHECKING:
    from generators import InvalidRequest, RequestParameters

T = TypeVar("T")

# The path parameter `--stream-id` fills, and the header `--account-id` sends, wherever an operation has them.
STREAM_PARAMETER = "streamId"
ACCOUNT_HEADER = "accountId"
JSON_MEDIA_TYPE = "application/json"
# The header of the token when the spec names no API-key scheme.
DEFAULT_AUTH_HEADER = "auth"
# Refusals that say nothing about the body: the run's token, scope, rate or URL.
NOT_ABOUT_THE_BODY = SETUP_STATUSES | {404}
# Once a Hypothesis run has found a failure, it sends at most this many further requests per example
# it was asked for (at least SHRINK_MIN): shrinking finds most of the reduction early, and every
# request it sends is one more write on the target.
SHRINK_FACTOR = 3
SHRINK_MIN = 25
# ...and spends at most this long on it: many candidates the shrinker tries are refused by the
# generators' own filters before any request, and drawing them costs time all the same.
SHRINK_SECONDS = 3.0
# Hypothesis runs per scenario at most, when failures cut generation short.
MAX_ROUNDS = 4
# Shares of the time budget per scenario of each operation, so that a slow (paced) target still
# reaches every scenario of every operation.
SHARES = {"examples": 0.05, "valid": 0.35, "invalid": 0.35, "parameters": 0.1, "auth": 0.15}
# Hostile-parameter requests per operation, as a share of --max-examples.
PARAMETER_SHARE = 0.5
# Why a run stopped when Ctrl-C (SIGINT) ended it.
INTERRUPTED = "interrupted (Ctrl-C, SIGINT)"
# The share of --max-time kept for the stateful phase while the single-call scenarios run (it gets
# whatever they leave, and at least this).
STATEFUL_SHARE = 0.3


class HeaderSet:
    """A call's headers, one per name whatever its case; putting None leaves the header out."""

    def __init__(self) -> None:
        self._headers: dict[str, tuple[str, str]] = {}

    def put(self, name: str, value: str | None) -> None:
        if value is None:
            self._headers.pop(name.lower(), None)
        else:
            self._headers[name.lower()] = (name, value)

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers.values())


class _StopRun(unittest.SkipTest):
    """Ends a Hypothesis run at once (budget spent, shrinking capped, target gone).

    Hypothesis re-raises a test runner's skip exception without trying another example, which is
    the one way to stop its shrinker early; every other exception would be shrunk as a new bug.
    """

    def __init__(self) -> None:
        super().__init__("the contract run stops this Hypothesis run")


class CheckFailed(Exception):
    """Raised inside a Hypothesis run when an answer fails a check, so that Hypothesis shrinks it."""

    def __init__(self, finding: Finding, exchange: Exchange) -> None:
        super().__init__(str(finding))
        self.finding = finding
        self.exchange = exchange


_FAILURE_TYPES: dict[str, type[CheckFailed]] = {}


def _failure_type(key: str) -> type[CheckFailed]:
    """One exception type per check key: Hypothesis shrinks each distinct type as a distinct bug."""
    if key not in _FAILURE_TYPES:
        _FAILURE_TYPES[key] = type(f"CheckFailed[{key}]", (CheckFailed,), {})
    return _FAILURE_TYPES[key]


@dataclass(frozen=True)
class Draw:
    """One drawn call of an operation: its body (None: the operation takes none), the body's media
    type, and its path and header parameters."""

    body: Any
    content_type: str | None
    parameters: RequestParameters | None


_NO_OVERLAY: Mapping[str, str | None] = {}


class _Run:
    """One run against one target."""

    def __init__(
        self,
        config: ContractConfig,
        contract: ContractSpec,
        operations: Sequence[Operation],
        progress: Progress,
        seed: int,
    ) -> None:
        self.config = config
        self.contract = contract
        self.operations = tuple(operations)
        self.progress = progress
        self.seed = seed
        self.budget = Budget(config.max_time_s)
        self.tokens = Tokens(
            jwt_token=config.jwt,
            client_id=config.client_id,
            client_secret=config.client_secret,
            seed=seed,
            lifetime_s=config.max_time_s + 600,
        )
        self.client = ContractClient(
            config.base_url,
            bucket=TokenBucket(config.rate),
            budget=self.budget,
            timeout=max(config.request_timeout_s, config.max_response_time_ms / 1000.0 * 2),
            max_response_time_s=config.max_response_time_ms / 1000.0,
        )
        self.checks = Checks(contract, max_response_time_ms=config.max_response_time_ms)
        self.sequences = self.checks.judge.sequences
        self.recorder = Recorder(check_names(self.operations, self.sequences, stateful=True), config.strict)
        self.decided_optional = {op.id: decided_optional(op.request_schema) for op in self.operations}
        self.auth_header = next(iter(contract.auth_headers.values()), DEFAULT_AUTH_HEADER)
        self.stopped = ""
        self.scenario_deadline = math.inf
        # Scenario after scenario, each over every operation: a short --max-time still sends every
        # operation its examples and valid requests before any operation goes deeper.
        self._steps = [(op.id, name) for name in SHARES for op in self.operations]
        self._account_turn = 0
        # 24 hex digits like the platform's account ids, fixed by the seed so runs replay.
        self._made_up_account = f"{random.Random(seed).getrandbits(96):024x}"
        self.notes: list[str] = []
        # Per operation, the statuses it was answered (coverage); the objects the single calls created.
        self.answered: dict[str, set[int]] = {}
        self.created: list[Created] = []
        from contract_tests._stateful import StatefulPhase

        self.stateful = StatefulPhase(self)
        self.in_sequences = False
        self.stateful_reserve = config.max_time_s * STATEFUL_SHARE if config.sequence_count else 0.0

    def interrupt(self) -> None:
        """Ctrl-C: cut off the request in flight; the run stops at its next check (`stopped`)."""
        self.stopped = INTERRUPTED
        self.client.interrupt()

    # -- requests ------------------------------------------------------------------------

    def path_params(self, operation: Operation, draw: Draw, *, hostile: bool = False) -> dict[str, str]:
        """The call's path parameters: the drawn ones, with the run's stream id unless hostile ones are tried."""
        drawn = dict(draw.parameters.path) if draw.parameters is not None else {}
        values = (
            {STREAM_PARAMETER: self.config.stream_id} if STREAM_PARAMETER in operation.path_parameters else {}
        )
        if hostile:
            return {**values, **drawn}
        return {**drawn, **values}

    def headers(
        self,
        operation: Operation,
        token: str | None,
        draw: Draw,
        *,
        content_type: str | None,
        overlay: Mapping[str, str | None] = _NO_OVERLAY,
        run_account: bool = True,
    ) -> list[tuple[str, str]]:
        """A call's headers: the token, the content type, the drawn header parameters, the run's account,
        then `overlay` (None: leave the header out)."""
        headers = HeaderSet()
        headers.put("Accept", JSON_MEDIA_TYPE)
        headers.put(self.auth_header, token)
        headers.put("Content-Type", content_type)
        for name, drawn in (draw.parameters.headers if draw.parameters is not None else {}).items():
            headers.put(name, drawn)
        if run_account:
            self._put_account(operation, headers.put)
        for name, value in overlay.items():
            headers.put(name, value)
        return headers.items()

    def _put_account(self, operation: Operation, put: Callable[[str, str | None], None]) -> None:
        """The account header, where the operation documents one: --account-id, else on loopback a made-up
        account every other call (so that both the header and its absence are checked)."""
        documented = {str(p.get("name", "")).lower(): p for p in operation.parameters_in("header")}
        parameter = documented.get(ACCOUNT_HEADER.lower())
        if parameter is None:
            return
        required = bool(parameter.get("required", False))
        if self.config.account_id is not None:
            put(ACCOUNT_HEADER, self.config.account_id)
        elif self.config.loopback:
            # A mock or a local build, never the platform.
            self._account_turn += 1
            put(ACCOUNT_HEADER, self._made_up_account if required or self._account_turn % 2 == 0 else None)
        elif not required:
            put(ACCOUNT_HEADER, None)  # the calling app's own account

    @staticmethod
    def query(draw: Draw, overlay: Mapping[str, str | None] = _NO_OVERLAY) -> dict[str, str]:
        """A call's query parameters: the drawn ones, then `overlay` (None: leave the parameter out)."""
        values = dict(draw.parameters.query) if draw.parameters is not None else {}
        for name, value in overlay.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return values

    def send(self, request: PreparedRequest) -> Exchange:
        """Send within the scenario's share of the budget."""
        if time.monotonic() > self.scenario_deadline:
            raise BudgetExhausted
        exchange = self.client.send(request)
        self.progress.update(self.client.stats.sent, self.recorder.failure_count, self.budget.remaining)
        if exchange.status is not None:
            self.answered.setdefault(request.operation, set()).add(exchange.status)
            self._note_created(exchange)
        return exchange

    def _note_created(self, exchange: Exchange) -> None:
        """Remember what a single call created (the stateful phase keeps its own, with their scopes)."""
        found = self.sequences.role(exchange.request.operation)
        if found is None or found[1] != "create" or self.in_sequences:
            return
        answer = exchange.json()
        status = exchange.status or 0
        if 200 <= status < 300 and isinstance(answer, Mapping) and isinstance(answer.get("_id"), str):
            name = answer.get("name")
            self.created.append(
                Created(
                    found[0].name,
                    answer["_id"],
                    str(answer.get("accountId", "")),
                    str(answer.get("iId", "")),
                    name if isinstance(name, str) else "",
                )
            )

    def valid_request(self, operation: Operation, draw: Draw, body: Any = None) -> PreparedRequest:
        """A call valid by the spec, with the run's token (`body` instead of the drawn one when given)."""
        sent = draw.body if body is None else body
        return self.client.prepare(
            operation,
            self.path_params(operation, draw),
            _encode(sent) if sent is not None else None,
            self.headers(operation, self.tokens.token, draw, content_type=draw.content_type),
            query=self.query(draw),
            secrets=self.tokens.secrets(),
        )

    # -- the examiners: one request, judged --------------------------------------------------

    def examine_valid(self, operation: Operation, draw: Draw) -> tuple[Exchange, Judgement]:
        """A valid call must be accepted as documented."""
        exchange = self.send(self.valid_request(operation, draw))
        # The ids a path names are drawn, not made by the run: an update may meet an unknown one.
        expectation = self.sequences.unknown_ids_expectation(
            operation.id, Expectation.valid(decisions=self.relied_on(operation, draw.body))
        )
        judgement = self.checks.exchange(operation, exchange, expectation)
        required, accepted_with = self.required_by_target(operation, draw, exchange)
        if required and accepted_with is not None:
            judgement = requires_optional(judgement, exchange, draw.body, required, accepted_with)
        return exchange, judgement

    def required_by_target(
        self, operation: Operation, draw: Draw, exchange: Exchange
    ) -> tuple[tuple[DecidedOptional, ...], Exchange | None]:
        """Which left-out properties that a decision makes optional the target requires, and its answer once sent.

        An implementation written from the seed page's table may require them. A valid request refused
        with a 4xx (other than a setup problem) that leaves some out (or blank) is sent again with each
        filled in alone, then with all; the first accepted tells which. Nothing accepted: a real refusal.
        Only the retry's status is judged: bodies that carry these properties are judged in full anyway.
        """
        status = exchange.status
        if status is None or not 400 <= status < 500 or status in NOT_ABOUT_THE_BODY:
            return (), None
        missing = left_out(draw.body, self.decided_optional[operation.id])
        if not missing:
            return (), None
        attempts: list[tuple[DecidedOptional, ...]] = (
            [(prop,) for prop in missing] if len(missing) > 1 else []
        )
        attempts.append(missing)
        for attempt in attempts:
            retry = self.send(self.valid_request(operation, draw, filled(draw.body, attempt)))
            if retry.status == operation.success_status:
                return attempt, retry
        return (), None

    def unambiguous(self, operation: Operation, body: Any) -> Any:
        """A valid body every reading of the seed page accepts: no unknown properties, decided-optional ones filled.

        The auth check judges the token: the body's refusal by a target that validates the body first
        must not pass for (or hide) the token's.
        """
        if body is None:
            return None
        known = without_unknown_properties(operation.request_schema, body)
        return filled(known, left_out(known, self.decided_optional[operation.id]))

    def examine_invalid(
        self, operation: Operation, drawn: tuple[InvalidRequest, RequestParameters]
    ) -> tuple[Exchange, Judgement]:
        """A call that breaks one rule must be refused with a documented 4xx."""
        invalid, parameters = drawn
        draw = Draw(None, invalid.content_type, parameters)
        path_params = {**self.path_params(operation, draw), **(invalid.path_params or {})}
        headers = self.headers(
            operation,
            self.tokens.token,
            draw,
            content_type=invalid.content_type,
            overlay=invalid.headers or _NO_OVERLAY,
        )
        request = self.client.prepare(
            operation,
            path_params,
            invalid.body,
            headers,
            query=self.query(draw, invalid.query),
            secrets=self.tokens.secrets(),
        )
        exchange = self.send(request)
        expectation = self.sequences.unknown_ids_expectation(operation.id, invalid.expectation())
        return exchange, self.checks.exchange(operation, exchange, expectation, relations=False)

    def examine_parameters(self, operation: Operation, draw: Draw) -> tuple[Exchange, Judgement]:
        """A valid body with hostile (schema-valid) path and header values: any documented answer will do."""
        request = self.client.prepare(
            operation,
            self.path_params(operation, draw, hostile=True),
            _encode(draw.body) if draw.body is not None else None,
            self.headers(
                operation, self.tokens.token, draw, content_type=draw.content_type, run_account=False
            ),
            query=self.query(draw),
            secrets=self.tokens.secrets(),
        )
        exchange = self.send(request)
        judgement = self.checks.exchange(operation, exchange, Expectation(Expect.DOCUMENTED))
        return exchange, judgement

    def examine_auth(self, operation: Operation, case: AuthCase, draw: Draw) -> tuple[Exchange, Judgement]:
        """A valid call with a bad token must be refused with 401."""
        secrets_ = self.tokens.secrets() + (
            ((case.token, case.placeholder),) if case.token and case.placeholder else ()
        )
        body = self.unambiguous(operation, draw.body)
        request = self.client.prepare(
            operation,
            self.path_params(operation, draw),
            _encode(body) if body is not None else None,
            self.headers(operation, case.token, draw, content_type=draw.content_type),
            query=self.query(draw),
            secrets=secrets_,
        )
        exchange = self.send(request)
        expectation = Expectation(Expect.UNAUTHORIZED, rule=case.name, description=case.description)
        return exchange, self.checks.exchange(operation, exchange, expectation, relations=False)

    def relied_on(self, operation: Operation, body: Any) -> frozenset[str]:
        """Decisions that make `body` valid: those of the objects (`x-open-by-decision`) where it has
        properties the schema does not list. The page says nothing of such properties, so a target
        refusing them breaks a decision, not the page."""
        return frozenset(opening_decisions(operation.request_schema, body))

    # -- scenarios ---------------------------------------------------------------------------

    @contextmanager
    def scenario(self, operation: Operation, name: str, description: str) -> Iterator[None]:
        """Give a scenario of an operation its share of what is left of the budget; say when it starts and ends."""
        index = self._steps.index((operation.id, name))
        remaining_shares = sum(SHARES[step] for _, step in self._steps[index:])
        available = max(0.0, self.budget.remaining - self.stateful_reserve)
        self.scenario_deadline = time.monotonic() + available * SHARES[name] / remaining_shares
        sent, failing = self.client.stats.sent, self.recorder.failure_count
        self.progress.phase(f"{operation.id}: {description}...")
        started = time.monotonic()
        yield
        self.progress.phase(
            f"{operation.id}: {description}: {self.client.stats.sent - sent} requests, "
            f"{self.recorder.failure_count - failing} new failing check(s), {time.monotonic() - started:.1f} s"
        )

    def run(self) -> None:
        """Every scenario of every operation in turn, as far as the budget goes."""
        for scenario in SHARES if self.config.single_calls else ():
            for operation in self.operations:
                if self.stopped:
                    break
                self.run_operation(operation, scenario)
        if not self.stopped and self.config.sequence_count:
            self.run_sequences()
        if not self.tokens.can_mint and any(_secured(self.contract, op) for op in self.operations):
            self.notes.append(
                "not run: expired and claim-less tokens (ignored_auth[expired-token], "
                "ignored_auth[no-appId-claim]) need --client-id/--client-secret"
            )

    def run_sequences(self) -> None:
        """The stateful phase, with what is left of the budget."""
        self.scenario_deadline = math.inf
        self.in_sequences = True
        sent, failing = self.client.stats.sent, len(self.stateful.groups)
        count, length = self.config.sequence_count, self.config.sequence_length
        self.progress.phase(
            f"sequences: up to {count} of up to {length} calls, objects named {self.stateful.marker}..."
        )
        started = time.monotonic()
        self.stateful.execute()
        self.progress.phase(
            f"sequences: {self.stateful.counter} run (shrinking and replays included), "
            f"{self.client.stats.sent - sent} requests, "
            f"{len(self.stateful.groups) - failing} failing check(s), {time.monotonic() - started:.1f} s"
        )

    def coverage(self) -> Coverage:
        """What the run exercised: operations, documented statuses and relations, by name."""
        ids = {op.id for op in self.operations}
        relations = [r.id for op in self.operations for r in op.relations]
        relations += [r.id for r in self.sequences.relations if ids & set(r.operations)]
        judged = {name for name, tally in self.recorder.tallies.items() if tally.judged}
        return Coverage(
            operations=tuple((op.id, bool(self.answered.get(op.id))) for op in self.operations),
            statuses=tuple(
                (op.id, status, status in self.answered.get(op.id, set()))
                for op in self.operations
                for status in sorted(op.documented_statuses)
            ),
            relations=tuple(
                (rid, rid in self.stateful.checked or f"relation:{rid}" in judged)
                for rid in dict.fromkeys(relations)
            ),
            isolation=self.stateful.isolation(),
        )

    def run_operation(self, operation: Operation, only: str | None = None) -> None:
        """The scenarios of one operation (`only`: the one of SHARES named)."""
        # Imported here: the generators load Hypothesis's Unicode tables, which a pytest plugin or
        # conftest must not do at import time (HypothesisSideeffectWarning).
        from generators import invalid_kinds, invalid_requests, request_parameters

        spec, op = self.contract, operation
        n = self.config.max_examples
        parameters = request_parameters(spec=spec, operation=op, hostile=False)
        valid = st.builds(Draw, self._bodies(op), self._media_types(op), parameters)

        def examine_valid(draw: Draw) -> tuple[Exchange, Judgement]:
            return self.examine_valid(op, draw)

        examples = op.request_examples if only in (None, "examples") else {}
        if examples:
            with self.scenario(op, "examples", f"the spec's named request examples ({len(examples)})"):
                plain = JSON_MEDIA_TYPE if JSON_MEDIA_TYPE in op.request_media_types else None
                for name, body in examples.items():
                    example = st.builds(Draw, st.just(body), st.just(plain), parameters)
                    self.explore(f"{op.id}:example:{name}", example, examine_valid, 1)
                    if self.stopped:
                        return
        if only in (None, "valid"):
            with self.scenario(op, "valid", f"valid requests (up to {n})"):
                self.explore(f"{op.id}:valid", valid, examine_valid, n)
        if self.stopped:
            return
        kinds = tuple(invalid_kinds(spec=spec, operation=op)) if only in (None, "invalid") else ()
        if kinds:
            per_kind = max(1, math.ceil(n / len(kinds)))
            with self.scenario(op, "invalid", f"invalid requests ({per_kind} per kind, {len(kinds)} kinds)"):
                for kind in kinds:
                    try:
                        strategy = invalid_requests(spec=spec, operation=op, kinds={kind})
                    except ValueError:
                        continue  # The spec has no rule of this kind here.
                    self.explore(
                        f"{op.id}:invalid:{kind}",
                        st.tuples(strategy, parameters),
                        functools.partial(self.examine_invalid, op),
                        per_kind,
                    )
                    if self.stopped:
                        return
        if only in (None, "parameters") and (op.parameters_in("path") or op.parameters_in("header")):
            count = max(1, int(n * PARAMETER_SHARE))
            with self.scenario(op, "parameters", f"hostile path and header values (up to {count})"):
                hostile = st.builds(
                    Draw,
                    self._bodies(op),
                    self._media_types(op),
                    request_parameters(spec=spec, operation=op, hostile=True),
                )
                self.explore(
                    f"{op.id}:parameters", hostile, functools.partial(self.examine_parameters, op), count
                )
            if self.stopped:
                return
        if only in (None, "auth") and _secured(spec, op):
            cases = self.tokens.cases()
            per_case = max(1, n // 20)
            plain = JSON_MEDIA_TYPE if JSON_MEDIA_TYPE in op.request_media_types else None
            draws = st.builds(Draw, self._bodies(op), st.just(plain), parameters)
            with self.scenario(op, "auth", f"bad tokens ({per_case} per case, {len(cases)} cases)"):
                for case in cases:
                    examine = functools.partial(self.examine_auth, op, case)
                    self.explore(f"{op.id}:auth:{case.name}", draws, examine, per_case)
                    if self.stopped:
                        return

    def _bodies(self, operation: Operation) -> st.SearchStrategy[Any]:
        """Valid bodies of the operation (None when it takes none)."""
        if operation.request_body is None:
            return st.none()
        from generators import valid_requests

        return valid_requests(spec=self.contract, operation=operation, realistic=True)

    def _media_types(self, operation: Operation) -> st.SearchStrategy[str | None]:
        """Every valid spelling of the operation's body media types (a charset, any letter case...)."""
        if operation.request_body is None:
            return st.none()
        from generators import media_types

        variants = media_types(spec=self.contract, operation=operation)
        if isinstance(variants, st.SearchStrategy):
            return variants
        return st.sampled_from(tuple(variants))

    def explore(
        self,
        name: str,
        strategy: st.SearchStrategy[T],
        examine: Callable[[T], tuple[Exchange, Judgement]],
        max_examples: int,
    ) -> None:
        """Seeded Hypothesis runs of `examine` over `strategy` until `max_examples` were generated.

        Hypothesis stops generating soon after it finds a bug; a failure found early would leave the
        rest of the scenario untried, so a further run (its own seed, the shrunk keys only counted)
        covers what is left.
        """
        remaining = max_examples
        for round_ in range(1, MAX_ROUNDS + 1):
            covered = self._explore_once(
                name if round_ == 1 else f"{name}#{round_}", strategy, examine, remaining
            )
            if covered is None or self.stopped:
                return
            remaining -= covered
            if remaining <= 0:
                return

    def _explore_once(
        self,
        name: str,
        strategy: st.SearchStrategy[T],
        examine: Callable[[T], tuple[Exchange, Judgement]],
        max_examples: int,
    ) -> int | None:
        """One Hypothesis run; failures are shrunk, then recorded.

        Returns about how many examples it generated when it found a failure, None when it ran out
        of examples or of time without one.
        """
        limit = max(SHRINK_MIN, SHRINK_FACTOR * max_examples)
        state = {"requests_after_failure": 0, "failed_at": 0.0, "calls_before_failure": 0, "out": 0}

        def test(value: T) -> None:
            if self.stopped:
                raise _StopRun()
            if not state["failed_at"]:
                state["calls_before_failure"] += 1
            else:
                state["requests_after_failure"] += 1
                spent = time.monotonic() - state["failed_at"]
                if state["requests_after_failure"] > limit or spent > SHRINK_SECONDS:
                    raise _StopRun()
            try:
                exchange, judgement = examine(value)
            except Unsendable:
                reject()  # HTTP cannot carry this draw: not the target's fault, not a request.
            except BudgetExhausted:
                state["out"] = 1
                self._stop_for_budget(name)
                raise _StopRun() from None
            except TargetGone as exc:
                self.stopped = f"the target stopped answering ({exc})"
                raise _StopRun() from None
            except Interrupted:
                self.stopped = INTERRUPTED
                raise _StopRun() from None
            failing = [
                f
                for f in self.recorder.record(exchange, judgement, explore=name)
                if f.replayable and self.recorder.groups[group_key(f)].explore in (None, name)
            ]
            if failing:
                # A key already shrunk by an earlier run is only counted: shrinking it again would
                # cost requests and find the same thing.
                state["failed_at"] = state["failed_at"] or time.monotonic()
                order = self.recorder.checks
                first = min(failing, key=lambda f: order.index(f.check) if f.check in order else len(order))
                self.recorder.groups[group_key(first)].explore = name
                raise _failure_type(f"{first.operation}:{first.key}")(first, exchange)

        runner = settings(
            max_examples=max_examples,
            database=None,
            derandomize=False,
            deadline=None,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            print_blob=False,
            verbosity=Verbosity.quiet,
        )(hypothesis_seed(_scenario_seed(self.seed, name))(given(value=strategy)(test)))
        try:
            runner()
        except (Flaky, _StopRun, Unsatisfiable):
            # Shrinking was cut short, a check did not fail again on replay, or no draw could be sent:
            # each key keeps the last (smallest so far) request that failed it.
            pass
        except (CheckFailed, ExceptionGroup) as exc:
            for leaf in shrunk_failures(exc):
                group = self.recorder.groups.get(group_key(leaf.finding))
                if group is not None:
                    group.shrunk, group.shrunk_finding = leaf.exchange, leaf.finding
        if state["out"] or not state["failed_at"]:
            return None
        # After its last bug Hypothesis generates about as many examples again before it shrinks.
        return int(min(max_examples, 2 * state["calls_before_failure"]))

    def _stop_for_budget(self, name: str) -> None:
        if self.budget.exhausted:
            self.stopped = f"the --max-time budget of {self.config.max_time_s:.0f} s ran out"
        else:
            operation, _, scenario = name.partition(":")
            note = (
                f"cut short: {operation} {scenario.split(':')[0]} requests used up their share of --max-time"
            )
            if note not in self.notes:
                self.notes.append(note)

    # -- the report -------------------------------------------------------------------------

    def report(self, duration_s: float) -> ContractReport:
        """The run's findings as a ContractReport."""
        failures: list[Failure] = []
        warnings: list[Failure] = []
        for group in self.recorder.groups.values():
            exchange = group.shrunk or (group.latest if group.explore else group.first)
            finding = group.shrunk_finding or group.finding
            note = ""
            if group.explore and group.shrunk is None:
                note = "shrinking stopped before Hypothesis replayed the minimal request (budget, or a flaky answer)"
            if not finding.replayable:
                note = "this check depends on timing or on earlier answers: the request alone may not show it"
            found = Failure.from_finding(
                finding,
                severity=group.severity,
                curl=to_curl(exchange.request, show_secrets=self.config.show_secrets),
                seed=self.seed,
                occurrences=group.count,
                shrunk=group.shrunk is not None
                or (group.explore is not None and exchange is not group.first),
                note=note,
            )
            (failures if group.severity == FAILURE else warnings).append(found)
        order = self.recorder.checks

        def report_order(found: Failure) -> tuple[int, str, str]:
            return (
                order.index(found.check) if found.check in order else len(order),
                found.operation,
                found.finding.subject,
            )

        for found in self.stateful.failures(self.config.repro_dir):
            (failures if found.severity == FAILURE else warnings).append(found)
        failures.sort(key=report_order)
        warnings.sort(key=report_order)
        summaries = []
        for name in order:
            tally = self.recorder.tallies.get(name, Tally())
            skipped = "" if tally.judged else "no answer called for it"
            summaries.append(
                CheckSummary(name, tally.judged, tally.passed, tally.warnings, tally.failures, skipped)
            )
        accepted = self.recorder.tallies[POSITIVE_DATA_ACCEPTANCE]
        refused = next(
            (g for (_, key), g in self.recorder.groups.items() if check_of(key) == POSITIVE_DATA_ACCEPTANCE),
            None,
        )
        if not accepted.passed and refused is not None:
            # Every valid request refused the same way is more likely a wrong option than a fault.
            status = refused.first.status or 0
            hint = _SETUP_HINTS.get(status)
            if 300 <= status < 400:
                # Redirects are not followed: a POST's body and headers do not survive every kind.
                hint = (
                    f"the target redirects ({status}) to {refused.first.header('location') or 'an unnamed place'}; "
                    "use that scheme, host and path prefix as --base-url"
                )
            if hint:
                self.notes.append(f"no valid request was accepted: {hint}")
        return ContractReport(
            base_url=self.config.base_url,
            seed=self.seed,
            checks=tuple(summaries),
            failures=tuple(failures),
            warnings=tuple(warnings),
            requests_sent=self.client.stats.sent,
            rate_limited=self.client.stats.rate_limited,
            duration_s=duration_s,
            stopped=self.stopped,
            notes=tuple(self.notes),
            operations=tuple(op.id for op in self.operations),
            coverage=self.coverage(),
            created=(*self.created, *self.stateful.created),
            marker=self.stateful.marker if self.stateful.created else "",
        )


def selected_operations(config: ContractConfig, contract: ContractSpec) -> tuple[Operation, ...]:
    """The operations a run tests: `config.operations` (ConfigError naming the spec's for an unknown one) or all."""
    return tuple(contract.operations[name] for name in config.selected(tuple(contract.operations)))


def run_contract(config: ContractConfig, *, progress: Progress | None = None) -> ContractReport:
    """Test the target in `config` against the contract; raises ContractTestError when it cannot be judged.

    Example:
        >>> report = run_contract(ContractConfig(base_url="http://127.0.0.1:4010", stream_id="st-1", jwt=token))  # doctest: +SKIP
        >>> report.exit_code, print(report.render())  # doctest: +SKIP
    """
    contract = load_spec(config.spec_path)
    operations = selected_operations(config, contract)
    seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
    shown = progress if progress is not None else SilentProgress()
    started = time.monotonic()
    run = _Run(config, contract, operations, shown, seed)
    try:
        # Ctrl-C (SIGINT): the report so far, never a traceback; an unfinished run does not pass.
        with StopOnSigint(run.interrupt):
            try:
                run.client.probe("/")
            except httpx.TransportError as exc:
                if not run.client.interrupted:
                    raise TargetUnreachable(config.base_url, f"{exc.__class__.__name__}: {exc}") from None
            run.run()
    except BaseException as exc:
        # A KeyboardInterrupt outside the main thread's handler, or a second Ctrl-C, maybe wrapped by
        # Hypothesis in an error of its own.
        if not _caused_by_interrupt(exc):
            raise
        run.client.interrupted = True
    finally:
        shown.done()
        run.client.close()
    if run.client.interrupted:
        run.stopped = INTERRUPTED  # whatever else ended the run meanwhile (the budget...)
    report = dataclasses.replace(run.report(time.monotonic() - started), interrupted=run.client.interrupted)
    if not any(c.judged for c in report.checks):
        raise NothingJudged(report.stopped or "every request was answered 429 until the budget ran out")
    return report


_SETUP_HINTS = {
    401: (
        "the target refused the run's own token (401); check --jwt, or --client-id/--client-secret, "
        "against the secret the target verifies with"
    ),
    403: "the target forbids the run's own token (403); check the app's API scope (Case Management)",
    404: "the target has no operation at the URL (404); check --base-url, including any path prefix",
}


def _secured(contract: ContractSpec, operation: Operation) -> bool:
    """Whether the operation requires a token (its own `security`, else the document's)."""
    security = operation.definition.get("security", contract.resolved.get("security", []))
    return any(requirement for requirement in security)


def _encode(body: Any) -> bytes:
    """A JSON body as UTF-8 bytes, non-ASCII kept as is (the bytes a typical client sends)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _scenario_seed(seed: int, name: str) -> int:
    """A seed per scenario, stable across processes (no `hash()`, which is salted per process)."""
    return (seed + zlib.crc32(name.encode())) % 2**32


def shrunk_failures(exc: BaseException) -> list[CheckFailed]:
    """The check failures Hypothesis reports (several bugs come as an exception group).

    The run's own stop signal and Hypothesis's Flaky can be among them when the budget ran out or an
    answer changed while Hypothesis replayed another bug: those end the run quietly, as when they come
    alone. Anything else is a bug of the contract tests themselves, and is raised.
    """
    failures = []
    for leaf in _leaves(exc):
        if isinstance(leaf, CheckFailed):
            failures.append(leaf)
        elif not isinstance(leaf, (Flaky, _StopRun)):
            raise leaf from exc
    return failures


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether `exc` is a KeyboardInterrupt, or was raised while one was handled.

    Hypothesis can meet the interrupt in its own bookkeeping and raise another error from it (an
    AssertionError whose context is the KeyboardInterrupt): that is the interrupt too.
    """
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt):
            return True
        pending.extend(_leaves(current) if isinstance(current, BaseExceptionGroup) else ())
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
