"""A run: send the generators' requests to the target, judge every answer, shrink what fails, report.

The engine is Hypothesis itself: each scenario is a `@given` run seeded with `@seed(N)` (no example
database), so the same seed sends the same requests, and a failing check is shrunk to the smallest
request that still breaks it. Each check raises its own exception type, because Hypothesis tells
distinct bugs apart by the type they raise and then shrinks each one on its own.
"""

from __future__ import annotations

import functools
import json
import math
import random
import secrets
import time
import unittest
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from contract_tests._auth import AuthCase, Tokens
from contract_tests._checks import (
    CREATED,
    POSITIVE_DATA_ACCEPTANCE,
    SETUP_STATUSES,
    UNAUTHORIZED,
    Judge,
    Verdict,
    check_names,
)
from contract_tests._client import ContractClient, Exchange, PreparedRequest, TargetGone, operation_path
from contract_tests._config import ContractConfig
from contract_tests._curl import to_curl
from contract_tests._errors import NothingJudged, TargetUnreachable
from contract_tests._optional import DecidedOptional, decided_optional, filled, left_out
from contract_tests._pacing import Budget, BudgetExhausted, TokenBucket
from contract_tests._report import (
    FAILURE,
    WARNING,
    CheckSummary,
    ContractReport,
    Failure,
    Progress,
    SilentProgress,
)
from spec import ContractSpec, load_spec

if TYPE_CHECKING:
    from generators import InvalidRequest

T = TypeVar("T")

# The generators' kinds of invalid request (their `invalid_requests(kinds=...)` names). One
# Hypothesis run per kind, so that even a small budget sends every kind at least once.
INVALID_KINDS = (
    "missing-required",
    "wrong-type",
    "empty-string",
    "no-contact",
    "bad-format",
    "malformed-json",
    "wrong-content-type",
    "no-body",
    "non-object-body",
)
# The schema keyword naming the decision that opens an object to properties it does not list.
OPEN_BY_DECISION = "x-open-by-decision"
# Once a Hypothesis run has found a failure, it sends at most this many further requests per example
# it was asked for (at least SHRINK_MIN): shrinking finds most of the reduction early, and every
# request it sends is one more task created on the target.
SHRINK_FACTOR = 3
SHRINK_MIN = 25
# ...and spends at most this long on it: many candidates the shrinker tries are refused by the
# generators' own filters before any request, and drawing them costs time all the same.
SHRINK_SECONDS = 3.0
# Hypothesis runs per scenario at most, when failures cut generation short.
MAX_ROUNDS = 4
# Shares of the time budget, so that a slow (paced) target still reaches every scenario.
SHARES = {"examples": 0.05, "valid": 0.4, "invalid": 0.4, "auth": 0.15}


class _StopRun(unittest.SkipTest):
    """Ends a Hypothesis run at once (budget spent, shrinking capped, target gone).

    Hypothesis re-raises a test runner's skip exception without trying another example, which is
    the one way to stop its shrinker early; every other exception would be shrunk as a new bug.
    """

    def __init__(self) -> None:
        super().__init__("the contract run stops this Hypothesis run")


class CheckFailed(Exception):
    """Raised inside a Hypothesis run when an answer fails a check, so that Hypothesis shrinks it."""

    def __init__(self, verdict: Verdict, exchange: Exchange) -> None:
        super().__init__(str(verdict))
        self.verdict = verdict
        self.exchange = exchange


_FAILURE_TYPES: dict[str, type[CheckFailed]] = {}


def _failure_type(key: str) -> type[CheckFailed]:
    """One exception type per check key: Hypothesis shrinks each distinct type as a distinct bug."""
    if key not in _FAILURE_TYPES:
        _FAILURE_TYPES[key] = type(f"CheckFailed[{key}]", (CheckFailed,), {})
    return _FAILURE_TYPES[key]


@dataclass
class _Group:
    """All failing answers of one check key: counts and the request that reproduces it."""

    verdict: Verdict
    severity: str
    first: Exchange
    latest: Exchange
    count: int = 1
    # The Hypothesis run that shrinks this key (None: not shrunk); its failing requests only get smaller.
    explore: str | None = None
    shrunk: Exchange | None = None
    shrunk_verdict: Verdict | None = None


@dataclass
class _Tally:
    judged: int = 0
    passed: int = 0
    warnings: int = 0
    failures: int = 0


@dataclass
class _Recorder:
    """Counts verdicts per check and keeps, per failing key, the request to show."""

    checks: list[str]
    strict: bool
    tallies: dict[str, _Tally] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tallies = {name: _Tally() for name in self.checks}

    def severity(self, verdict: Verdict) -> str:
        """Failure, or a warning for a rule the spec decided beyond the seed page (unless --strict)."""
        return WARNING if verdict.basis == "decision" and not self.strict else FAILURE

    def record(
        self, exchange: Exchange, verdicts: list[Verdict], *, explore: str | None = None
    ) -> list[Verdict]:
        """Count the verdicts; the failures (not warnings) among them."""
        failing = []
        for verdict in verdicts:
            tally = self.tallies.setdefault(verdict.check, _Tally())
            tally.judged += 1
            if verdict.passed:
                tally.passed += 1
                continue
            severity = self.severity(verdict)
            if severity == WARNING:
                tally.warnings += 1
            else:
                tally.failures += 1
                failing.append(verdict)
            group = self.groups.get(verdict.key)
            if group is None:
                self.groups[verdict.key] = _Group(verdict, severity, exchange, exchange)
            elif severity == FAILURE and group.severity == WARNING:
                # A key that so far only warned now fails: report (and shrink) the failing answer.
                self.groups[verdict.key] = _Group(
                    verdict, severity, exchange, exchange, count=group.count + 1
                )
            else:
                group.count += 1
                if explore is not None and group.explore == explore:
                    # While Hypothesis shrinks, each failing request is smaller than the one before.
                    group.latest, group.verdict = exchange, verdict
        return failing

    @property
    def failure_count(self) -> int:
        """Failing keys so far."""
        return sum(1 for g in self.groups.values() if g.severity == FAILURE)


class _Run:
    """One run against one target."""

    def __init__(self, config: ContractConfig, contract: ContractSpec, progress: Progress, seed: int) -> None:
        self.config = config
        self.contract = contract
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
            operation_path(contract.path_template, config.stream_id),
            bucket=TokenBucket(config.rate),
            budget=self.budget,
            timeout=max(config.request_timeout_s, config.max_response_time_ms / 1000.0 * 2),
        )
        self.judge = Judge(
            contract, stream_id=config.stream_id, max_response_time_ms=config.max_response_time_ms
        )
        self.recorder = _Recorder(check_names(contract), config.strict)
        self.decided_optional = decided_optional(contract.request_schema)
        self.stopped = ""
        self.scenario_deadline = math.inf
        self._account_turn = 0
        # 24 hex digits like the platform's account ids, fixed by the seed so runs replay.
        self._made_up_account = f"{random.Random(seed).getrandbits(96):024x}"
        self.notes: list[str] = []

    # -- requests ------------------------------------------------------------------------

    def headers(self, token: str | None, content_type: str | None) -> list[tuple[str, str]]:
        """The headers of a request: the token, the content type, and the account when one was given."""
        headers = [("Accept", "application/json")]
        if token is not None:
            headers.append(("auth", token))
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        account = self.config.account_id
        if account is None and self.config.loopback:
            # No account given: on loopback (a mock or a local build, never the platform) every other
            # request names a made-up account, so `account-is-header` is checked and so is its absence.
            self._account_turn += 1
            account = self._made_up_account if self._account_turn % 2 == 0 else None
        if account is not None:
            headers.append(("accountId", account))
        return headers

    def send(self, request: PreparedRequest) -> Exchange:
        """Send within the scenario's share of the budget."""
        if time.monotonic() > self.scenario_deadline:
            raise BudgetExhausted
        exchange = self.client.send(request)
        self.progress.update(self.client.stats.sent, self.recorder.failure_count, self.budget.remaining)
        return exchange

    def valid_request(self, body: dict[str, Any]) -> PreparedRequest:
        """A request valid by the spec, with the run's token."""
        return self.client.prepare(
            _encode(body), self.headers(self.tokens.token, "application/json"), secrets=self.tokens.secrets()
        )

    # -- the examiners: one request, judged --------------------------------------------------

    def examine_valid(self, body: dict[str, Any]) -> tuple[Exchange, list[Verdict]]:
        """A valid body must be accepted as documented."""
        exchange = self.send(self.valid_request(body))
        required, accepted_with = self.required_by_target(body, exchange)
        verdicts = self.judge.valid(
            exchange, body, self.relied_on(body), required=required, accepted_with=accepted_with
        )
        return exchange, verdicts

    def required_by_target(
        self, body: dict[str, Any], exchange: Exchange
    ) -> tuple[tuple[DecidedOptional, ...], Exchange | None]:
        """Which left-out properties that a decision makes optional the target requires, and its answer once sent.

        An implementation written from the seed page's table may require them. A valid request refused
        with a 4xx (other than a setup problem) that leaves some out (or blank) is sent again with each
        filled in alone, then with all; the first accepted tells which. Nothing accepted: a real refusal.
        Only the retry's status is judged: bodies that carry these properties are judged in full anyway.
        """
        if exchange.status is None or not 400 <= exchange.status < 500 or exchange.status in SETUP_STATUSES:
            return (), None
        missing = left_out(body, self.decided_optional)
        if not missing:
            return (), None
        attempts: list[tuple[DecidedOptional, ...]] = (
            [(prop,) for prop in missing] if len(missing) > 1 else []
        )
        attempts.append(missing)
        for attempt in attempts:
            retry = self.send(self.valid_request(filled(body, attempt)))
            if retry.status == CREATED:
                return attempt, retry
        return (), None

    def unambiguous(self, body: dict[str, Any]) -> dict[str, Any]:
        """A valid body every reading of the seed page accepts: no unknown properties, decided-optional ones filled.

        The auth check judges the token: the body's refusal by a target that validates the body first
        must not pass for (or hide) the token's.
        """
        known = _without_unknown_properties(self.contract.request_schema, body)
        result: dict[str, Any] = filled(known, left_out(known, self.decided_optional))
        return result

    def examine_invalid(self, invalid: InvalidRequest) -> tuple[Exchange, list[Verdict]]:
        """A request that breaks one rule must be rejected with a documented 4xx."""
        request = self.client.prepare(
            invalid.body, self.headers(self.tokens.token, invalid.content_type), secrets=self.tokens.secrets()
        )
        exchange = self.send(request)
        verdicts = self.judge.invalid(
            exchange, invalid.rule, invalid.basis, invalid.expected_statuses, invalid.description
        )
        return exchange, verdicts

    def examine_auth(self, case: AuthCase, body: dict[str, Any]) -> tuple[Exchange, list[Verdict]]:
        """A valid body with a bad token must be refused with 401."""
        secrets_ = self.tokens.secrets() + (
            ((case.token, case.placeholder),) if case.token and case.placeholder else ()
        )
        request = self.client.prepare(
            _encode(body), self.headers(case.token, "application/json"), secrets=secrets_
        )
        exchange = self.send(request)
        return exchange, self.judge.auth(exchange, case)

    def relied_on(self, body: Any) -> frozenset[str]:
        """Decisions that make `body` valid: those of the objects (`x-open-by-decision`) where it has
        properties the schema does not list. The page says nothing of such properties, so a target
        refusing them breaks a decision, not the page."""
        return frozenset(_opening_decisions(self.contract.request_schema, body))

    # -- scenarios ---------------------------------------------------------------------------

    @contextmanager
    def scenario(self, name: str, description: str) -> Iterator[None]:
        """Give a scenario its share of what is left of the budget, and say when it starts and ends."""
        remaining_shares = sum(SHARES[n] for n in SHARES if list(SHARES).index(n) >= list(SHARES).index(name))
        self.scenario_deadline = time.monotonic() + self.budget.remaining * SHARES[name] / remaining_shares
        sent, failing = self.client.stats.sent, self.recorder.failure_count
        self.progress.phase(f"{description}...")
        started = time.monotonic()
        yield
        self.progress.phase(
            f"{description}: {self.client.stats.sent - sent} requests, "
            f"{self.recorder.failure_count - failing} new failing check(s), {time.monotonic() - started:.1f} s"
        )

    def run(self) -> None:
        """Every scenario in turn, as far as the budget goes."""
        # Imported here: the generators load Hypothesis's Unicode tables, which a pytest plugin or
        # conftest must not do at import time (HypothesisSideeffectWarning).
        from generators import invalid_requests, valid_requests

        with self.scenario("examples", "the spec's named request examples"):
            for body in self.contract.request_examples.values():
                if not self.once(functools.partial(self.examine_valid, body)):
                    break
        n = self.config.max_examples
        if not self.stopped:
            with self.scenario("valid", f"valid requests (up to {n})"):
                self.explore(
                    "valid", valid_requests(spec=self.contract, realistic=True), self.examine_valid, n
                )
        if not self.stopped:
            per_kind = max(1, math.ceil(n / len(INVALID_KINDS)))
            with self.scenario(
                "invalid", f"invalid requests ({per_kind} per kind, {len(INVALID_KINDS)} kinds)"
            ):
                for kind in INVALID_KINDS:
                    try:
                        strategy = invalid_requests(spec=self.contract, kinds={kind})
                    except ValueError:
                        continue  # The spec has no rule of this kind.
                    self.explore(f"invalid:{kind}", strategy, self.examine_invalid, per_kind)
                    if self.stopped:
                        break
        if not self.stopped:
            cases = self.tokens.cases()
            per_case = max(1, n // 20)
            with self.scenario("auth", f"bad tokens ({per_case} per case, {len(cases)} cases)"):
                bodies = valid_requests(spec=self.contract, realistic=True).map(self.unambiguous)
                for case in cases:
                    examine = functools.partial(self.examine_auth, case)
                    self.explore(f"auth:{case.name}", bodies, examine, per_case)
                    if self.stopped:
                        break
            if not self.tokens.can_mint:
                self.notes.append(
                    "not run: expired and claim-less tokens (ignored_auth[expired-token], "
                    "ignored_auth[no-appId-claim]) need --client-id/--client-secret"
                )

    def once(self, examine: Callable[[], tuple[Exchange, list[Verdict]]]) -> bool:
        """One request outside Hypothesis; False when the run must stop."""
        try:
            exchange, verdicts = examine()
        except BudgetExhausted:
            self._stop_for_budget("examples")
            return not self.stopped
        except TargetGone as exc:
            self.stopped = f"the target stopped answering ({exc})"
            return False
        self.recorder.record(exchange, verdicts)
        return True

    def explore(
        self,
        name: str,
        strategy: st.SearchStrategy[T],
        examine: Callable[[T], tuple[Exchange, list[Verdict]]],
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
        examine: Callable[[T], tuple[Exchange, list[Verdict]]],
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
                exchange, verdicts = examine(value)
            except BudgetExhausted:
                state["out"] = 1
                self._stop_for_budget(name)
                raise _StopRun() from None
            except TargetGone as exc:
                self.stopped = f"the target stopped answering ({exc})"
                raise _StopRun() from None
            failing = [
                v
                for v in self.recorder.record(exchange, verdicts, explore=name)
                if v.replayable and self.recorder.groups[v.key].explore in (None, name)
            ]
            if failing:
                # A key already shrunk by an earlier run is only counted: shrinking it again would
                # cost requests and find the same thing.
                state["failed_at"] = state["failed_at"] or time.monotonic()
                order = self.recorder.checks
                first = min(failing, key=lambda v: order.index(v.check) if v.check in order else len(order))
                self.recorder.groups[first.key].explore = name
                raise _failure_type(first.key)(first, exchange)

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
        except (Flaky, _StopRun):
            # Shrinking was cut short, or a check did not fail again on replay: each key keeps the
            # last (smallest so far) request that failed it.
            pass
        except (CheckFailed, ExceptionGroup) as exc:
            for leaf in shrunk_failures(exc):
                if leaf.verdict.key in self.recorder.groups:
                    group = self.recorder.groups[leaf.verdict.key]
                    group.shrunk, group.shrunk_verdict = leaf.exchange, leaf.verdict
        if state["out"] or not state["failed_at"]:
            return None
        # After its last bug Hypothesis generates about as many examples again before it shrinks.
        return int(min(max_examples, 2 * state["calls_before_failure"]))

    def _stop_for_budget(self, name: str) -> None:
        if self.budget.exhausted:
            self.stopped = f"the --max-time budget of {self.config.max_time_s:.0f} s ran out"
        else:
            note = f"cut short: {name.split(':')[0]} requests used up their share of --max-time"
            if note not in self.notes:
                self.notes.append(note)

    # -- the report -------------------------------------------------------------------------

    def report(self, duration_s: float) -> ContractReport:
        """The run's findings as a ContractReport."""
        failures: list[Failure] = []
        warnings: list[Failure] = []
        for group in self.recorder.groups.values():
            exchange = group.shrunk or (group.latest if group.explore else group.first)
            verdict = group.shrunk_verdict or group.verdict
            note = ""
            if group.explore and group.shrunk is None:
                note = "shrinking stopped before Hypothesis replayed the minimal request (budget, or a flaky answer)"
            if not verdict.replayable:
                note = "this check depends on timing or on earlier answers: the request alone may not show it"
            found = Failure(
                check=verdict.check,
                subject=verdict.subject,
                severity=group.severity,
                basis=verdict.basis,
                received=verdict.received,
                documented=verdict.documented,
                curl=to_curl(exchange.request, show_secrets=self.config.show_secrets),
                seed=self.seed,
                occurrences=group.count,
                shrunk=group.shrunk is not None
                or (group.explore is not None and exchange is not group.first),
                note=note,
            )
            (failures if group.severity == FAILURE else warnings).append(found)
        order = self.recorder.checks

        def report_order(found: Failure) -> tuple[int, str]:
            return (order.index(found.check) if found.check in order else len(order), found.subject)

        failures.sort(key=report_order)
        warnings.sort(key=report_order)
        summaries = []
        for name in order:
            tally = self.recorder.tallies.get(name)
            assert tally is not None
            skipped = "" if tally.judged else "no answer called for it"
            summaries.append(
                CheckSummary(name, tally.judged, tally.passed, tally.warnings, tally.failures, skipped)
            )
        accepted = self.recorder.tallies[POSITIVE_DATA_ACCEPTANCE]
        refused = self.recorder.groups.get(POSITIVE_DATA_ACCEPTANCE)
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
        notes = tuple(self.notes)
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
            notes=notes,
        )


def run_contract(config: ContractConfig, *, progress: Progress | None = None) -> ContractReport:
    """Test the target in `config` against the contract; raises ContractTestError when it cannot be judged.

    Example:
        >>> report = run_contract(ContractConfig(base_url="http://127.0.0.1:4010", stream_id="st-1", jwt=token))  # doctest: +SKIP
        >>> report.exit_code, print(report.render())  # doctest: +SKIP
    """
    contract = load_spec()
    seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
    shown = progress if progress is not None else SilentProgress()
    started = time.monotonic()
    run = _Run(config, contract, shown, seed)
    try:
        try:
            run.client.probe()
        except httpx.TransportError as exc:
            raise TargetUnreachable(config.base_url, f"{exc.__class__.__name__}: {exc}") from None
        run.run()
    finally:
        shown.done()
        run.client.close()
    report = run.report(time.monotonic() - started)
    if not any(c.judged for c in report.checks):
        raise NothingJudged(report.stopped or "every request was answered 429 until the budget ran out")
    return report


_SETUP_HINTS = {
    UNAUTHORIZED: (
        "the target refused the run's own token (401); check --jwt, or --client-id/--client-secret, "
        "against the secret the target verifies with"
    ),
    403: "the target forbids the run's own token (403); check the app's API scope (Case Management)",
    404: "the target has no operation at the URL (404); check --base-url, including any path prefix",
}


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


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _opening_decisions(schema: Any, body: Any) -> Iterator[str]:
    """The `x-open-by-decision` of every object schema where the body has a property it does not list."""
    if not isinstance(schema, Mapping) or not isinstance(body, Mapping):
        return
    properties = schema.get("properties", {})
    if any(name not in properties for name in body) and isinstance(schema.get(OPEN_BY_DECISION), str):
        yield schema[OPEN_BY_DECISION]
    for name, value in body.items():
        if name in properties:
            yield from _opening_decisions(properties[name], value)


def _without_unknown_properties(schema: Any, body: Any) -> Any:
    """The body with only the properties its schema lists, at any depth."""
    if not isinstance(schema, Mapping) or not isinstance(body, Mapping):
        return body
    properties = schema.get("properties", {})
    return {
        name: _without_unknown_properties(properties[name], value)
        for name, value in body.items()
        if name in properties
    }
