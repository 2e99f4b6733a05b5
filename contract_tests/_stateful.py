"""The stateful phase: sequences of calls judged against a model of what the implementation holds.

A Hypothesis state machine drives the collections of the spec's `x-contract-sequences` (creates,
for existing and unknown parents; listings with drawn filters, sorts and page sizes; walks over all
pages; updates with valid and invalid bodies; updates of unknown and foreign ids) over a few scopes
(account, stream). Its model is a `spec.Store`; `spec.Sequences.observe` and `check_pages` say
which relation each answer breaks, and the one judge judges every call as the single-call phase
does. Nothing here restates a relation.

Each sequence starts from a model that knows the whole of its scopes: on loopback every sequence
gets fresh accounts (the `accountId` header scopes objects), so it also replays alone; against a
real server each scope is first listed, and a scope that does not fit on one page is judged only on
the objects the run made (`Store(complete=False)`), as the proxy does.

A failing check raises its own exception type, so Hypothesis shrinks each bug to the shortest
sequence that still shows it; that sequence is reported as numbered curl commands (`_repro`). On
one answer, the first sequence relation it breaks (in the spec's order; a walk's own relation
first) is the failure; the others it breaks on the same answer are its consequences, counted and
named under it. The steps each rule takes are in `_sequence_steps.py`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from collections.abc import Sequence as Sequence_
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from contract_tests._client import Exchange, Interrupted, TargetGone
from contract_tests._pacing import BudgetExhausted
from contract_tests._report import EXERCISED, FAILURE, Created, Failure
from contract_tests._repro import Call, shell_script, step_texts, write_script
from contract_tests._sequence_steps import HAS_MORE, JSON, Sequence, SequenceSteps, Slot, kind_of
from spec import (
    Collection,
    Expectation,
    Finding,
    Judgement,
    Operation,
)
from spec import Exchange as ModelExchange
from spec._judge import RELATION_PREFIX

if TYPE_CHECKING:
    from contract_tests._runner import _Run

# Hypothesis runs of the machine at most, when failures cut generation short (as the single-call phase).
MAX_ROUNDS = 3
# Relation kinds reported before the others an answer breaks (see StatefulPhase._rank).
READ_FIRST = ("last-page", "joins-parent")
# Once a round has found a failure, it shrinks for at most SHRINK_SECONDS, and stops sooner when no
# failing sequence got shorter for STALL_SECONDS: the shortest sequence of calls is what a reader
# needs; Hypothesis would go on simplifying the bodies, request after request.
SHRINK_SECONDS = 10.0
STALL_SECONDS = 3.0


@dataclass
class SequenceGroup:
    """All failing answers of one operation's check key in the stateful phase, and the shortest sequence."""

    finding: Finding
    severity: str
    calls: tuple[Call, ...]
    owner: str
    count: int = 1
    shrunk: bool = False
    consequences: set[str] = field(default_factory=set)


class StatefulPhase(SequenceSteps):
    """The stateful phase of one run: shares its client, judge, recorder, pacing and budget."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.config = run.config
        self.sequences = run.sequences
        self.operations = {op.id: op for op in run.operations}
        self.collections = tuple(self.sequences.collections)
        self.order = [RELATION_PREFIX + r.id for r in self.sequences.relations]
        self.kinds = {RELATION_PREFIX + r.id: r.kind for r in self.sequences.relations}
        self.run_id = hashlib.sha256(f"{run.seed}:{time.time_ns()}".encode()).hexdigest()[:8]
        self.marker = f"[kct-{self.run_id}]"
        self.caller = _subject(run.tokens.token)
        self.checked: set[str] = set()
        self.isolated: set[str] = set()
        self.groups: dict[tuple[str, str], SequenceGroup] = {}
        self.created: list[Created] = []
        self.counter = 0
        self.round = ""
        self.failed_at = 0.0
        self.improved_at = 0.0
        self.learned_account: str | None = None
        self.ran = False
        self._property_checks: dict[tuple[str, str], Any] = {}
        self._strategies: dict[tuple[str, str], st.SearchStrategy[Any]] = {}
        self._kinds: dict[str, tuple[str, ...]] = {}
        loopback = self.config.loopback
        self.second_stream = self.config.second_stream_id or (
            _made_up("st", self.run_id, "stream") if loopback else None
        )

    # -- scopes ------------------------------------------------------------------------------

    def slots(self, number: int) -> tuple[Slot, ...]:
        """The scopes of a sequence: on loopback fresh accounts each time; elsewhere the given ones."""
        stream = self.config.stream_id
        if self.config.loopback:
            own = _made_up("", self.run_id, f"{number}:own", hex_only=True)
            other = _made_up("", self.run_id, f"{number}:other", hex_only=True)
            assert self.second_stream is not None
            return (
                Slot("own", own, stream),
                Slot("second account", other, stream),
                Slot("second stream", own, self.second_stream),
            )
        found = [Slot("own", self.config.account_id, stream)]
        if self.config.second_account_id:
            found.append(Slot("second account", self.config.second_account_id, stream))
        if self.second_stream:
            found.append(Slot("second stream", self.config.account_id, self.second_stream))
        return tuple(found)

    def account_of(self, slot: Slot) -> str | None:
        """The account a scope's objects belong to (without a header: the one the answers named)."""
        return slot.account if slot.account is not None else self.learned_account

    def scope(self, slot: Slot) -> tuple[str, str]:
        return self.account_of(slot) or "", slot.stream

    def isolation(self) -> tuple[tuple[str, str], ...]:
        """Per kind, whether isolation was exercised, or why not (never "holds" when it was not checked)."""
        labels = {s.label for s in self.slots(0)} if self.ran else set()
        result = []
        for kind, label, option in (
            ("accounts", "second account", "--second-account-id"),
            ("streams", "second stream", "--second-stream-id"),
        ):
            if kind in self.isolated:
                result.append((kind, EXERCISED))
            elif not self.ran:
                result.append((kind, "not run: the stateful phase did not run"))
            elif label not in labels:
                result.append((kind, f"not run: no {option} (the run has one scope of this kind)"))
            else:
                result.append((kind, "not run: no sequence listed or updated beside another scope's objects"))
        return tuple(result)

    # -- operations ----------------------------------------------------------------------------

    # -- one call ------------------------------------------------------------------------------

    def call(
        self,
        seq: Sequence,
        operation: Operation,
        slot: Slot,
        body: Any,
        expectation: Expectation,
        *,
        path: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str | None = JSON,
        header_overlay: Mapping[str, str | None] | None = None,
        query: Mapping[str, str | None] | None = None,
        relations: bool = True,
        title: str = "",
    ) -> tuple[Exchange, list[Finding]]:
        """Send one call in a scope, judge it by the one judge; its exchange and findings."""
        from contract_tests._runner import (
            ACCOUNT_HEADER,
            INTERRUPTED,
            STREAM_PARAMETER,
            HeaderSet,
            _encode,
            _StopRun,
        )

        now = time.monotonic()
        if self.failed_at and (
            now - self.failed_at > SHRINK_SECONDS or now - self.improved_at > STALL_SECONDS
        ):
            raise _StopRun()
        params = {STREAM_PARAMETER: slot.stream} if STREAM_PARAMETER in operation.path_parameters else {}
        params.update(path or {})
        headers = HeaderSet()
        headers.put("Accept", JSON)
        headers.put(self.run.auth_header, self.run.tokens.token)
        headers.put("Content-Type", content_type)
        documented = {str(p.get("name", "")).lower() for p in operation.parameters_in("header")}
        if slot.account is not None and ACCOUNT_HEADER.lower() in documented:
            headers.put(ACCOUNT_HEADER, slot.account)
        for name, value in (header_overlay or {}).items():
            headers.put(name, value)
        sent = raw if raw is not None else (_encode(body) if body is not None else None)
        request = self.run.client.prepare(
            operation,
            params,
            sent,
            headers.items(),
            query={k: v for k, v in (query or {}).items() if v is not None},
            secrets=self.run.tokens.secrets(),
        )
        if self.run.stopped:  # Ctrl-C, or the target gone: no further step
            raise _StopRun()
        try:
            exchange = self.run.send(request)
        except BudgetExhausted:
            self.run._stop_for_budget("stateful:sequences")
            raise _StopRun() from None
        except TargetGone as exc:
            self.run.stopped = f"the target stopped answering ({exc})"
            raise _StopRun() from None
        except Interrupted:
            self.run.stopped = INTERRUPTED
            raise _StopRun() from None
        seq.calls.append(Call(title or f"{operation.id} in the {slot.label} scope", exchange))
        judgement = self.run.checks.exchange(operation, exchange, expectation, relations=relations)
        self.run.recorder.record(exchange, judgement, grouped=False)
        return exchange, list(judgement.findings)

    def observe(
        self,
        seq: Sequence,
        collection: Collection,
        slot: Slot,
        exchange: Exchange,
        body: Any,
        path: Any = None,
    ) -> list[Finding]:
        """The sequence relations the answer breaks, given the model (which then records it)."""
        answer = exchange.json()
        if exchange.status is None or not isinstance(answer, Mapping):
            return []
        operation = exchange.request.operation
        role = self.sequences.role(operation)
        if role is not None and role[1] == "create" and 200 <= exchange.status < 300:
            self._created(seq, collection, slot, answer)
        if role is not None and role[1] == "list" and 200 <= exchange.status < 300:
            self._isolation_seen(seq, collection, slot)
        seq.store.complete = seq.complete.get((collection.name, slot.label), True)
        checked: set[str] = set()
        findings = self.sequences.observe(
            seq.store,
            ModelExchange(
                operation,
                self.account_of(slot),
                slot.stream,
                body,
                exchange.status,
                answer,
                dict(path or {}),
                self.caller,
            ),
            checked=checked,
        )
        self._tally(exchange, checked, findings)
        return sorted(findings, key=self._rank)

    def _tally(self, exchange: Exchange, checked: set[str], findings: list[Finding]) -> None:
        self.checked |= checked
        keys = tuple(
            dict.fromkeys([*(RELATION_PREFIX + c for c in sorted(checked)), *(f.key for f in findings)])
        )
        self.run.recorder.record(exchange, Judgement(keys, tuple(findings)), grouped=False)

    def _rank(self, finding: Finding) -> tuple[int, int]:
        """The spec's order, but kinds another kind's check reads first: `total-counts` reads `hasMore`
        (a wrong flag fails both, a wrong total only the counts), and `listed-after-create` compares
        every field, a parent's `taskIds` too (a task not joined fails both)."""
        kind = self.kinds.get(finding.check, "")
        index = self.order.index(finding.check) if finding.check in self.order else len(self.order)
        return (0 if kind in READ_FIRST else 1, index)

    def _created(self, seq: Sequence, collection: Collection, slot: Slot, answer: Mapping[str, Any]) -> None:
        object_id = answer.get("_id")
        if not isinstance(object_id, str):
            return
        seq.own.add(object_id)
        account = answer.get("accountId")
        if slot.account is None and isinstance(account, str) and account:
            self.learned_account = self.learned_account or account
        name = answer.get("name")
        self.created.append(
            Created(
                collection.name,
                object_id,
                str(account or slot.account or ""),
                slot.stream,
                name if isinstance(name, str) else "",
            )
        )

    def _isolation_seen(self, seq: Sequence, collection: Collection, slot: Slot) -> None:
        """A listing beside another scope's objects of the same collection exercises isolation."""
        for other in seq.slots:
            if other == slot or not seq.store.items(collection.name, self.scope(other)):
                continue
            self.isolated.add(kind_of(slot, other))

    # -- the failures of one step ------------------------------------------------------------

    def conclude(self, seq: Sequence, findings: list[Finding], first: Sequence_[Finding] = ()) -> None:
        """Record a step's findings; raise the first one this round owns, so that Hypothesis shrinks it.

        When the step breaks a relation across calls, the first it breaks (`first`, a walk's own,
        then by `_rank`) is the step's failure, and everything else the step broke is named under
        it as a consequence (a lost update also fails the answer's own relations, a missing item
        the listing's counts); otherwise each finding is reported, as in the single-call phase.
        """
        from contract_tests._runner import _failure_type

        across = [*first, *sorted((f for f in findings if f.check in self.order), key=self._rank)]
        if across:
            reported = across[:1]
            consequences = {f.check for f in [*across, *findings]} - {across[0].check}
        else:
            # An answer's own relations to its request: the first, the rest restate it.
            own = [f for f in findings if f.check.startswith(RELATION_PREFIX)]
            reported = [f for f in findings if not f.check.startswith(RELATION_PREFIX)] + own[:1]
            consequences = {f.check for f in own[1:]} - {f.check for f in own[:1]}
        lead = across[:1] or [f for f in findings if f.check.startswith(RELATION_PREFIX)][:1]
        raise_on: Finding | None = None
        for finding in {(f.operation, f.key): f for f in reversed(reported)}.values():
            key = (finding.operation, finding.key)
            calls = tuple(seq.calls)
            group = self.groups.get(key)
            if group is None:
                group = SequenceGroup(finding, self.run.recorder.severity(finding), calls, self.round)
                self.groups[key] = group
                self.improved_at = time.monotonic()
            else:
                group.count += 1
                if group.owner == self.round and len(calls) <= len(group.calls):
                    if len(calls) < len(group.calls):
                        self.improved_at = time.monotonic()
                    group.finding, group.calls = finding, calls
            if finding in lead:
                group.consequences |= consequences
            # Warnings are counted, not shrunk (as in the single-call phase): shrinking costs requests.
            if (
                group.owner == self.round
                and group.severity == FAILURE
                and (raise_on is None or self._rank(finding) < self._rank(raise_on))
            ):
                raise_on = finding
        if raise_on is not None:
            self.failed_at = self.failed_at or time.monotonic()
            raise _failure_type(f"stateful:{raise_on.operation}:{raise_on.key}")(
                raise_on, seq.calls[-1].exchange
            )

    # -- the rules -------------------------------------------------------------------------------

    def start(self) -> Sequence:
        """A new sequence: fresh scopes on loopback; elsewhere each scope's listing read first."""
        self.counter += 1
        seq = Sequence(self.counter, self.slots(self.counter))
        if not self.config.loopback:
            for slot in seq.slots:
                for collection in self.having("list"):
                    seq.complete[(collection.name, slot.label)] = self._preload(seq, collection, slot)
        return seq

    def _preload(self, seq: Sequence, collection: Collection, slot: Slot) -> bool:
        """One page of the largest size: when it holds the whole scope, the model starts from it."""
        operation = self.op(collection, "list")
        assert operation is not None
        body = self.largest_page(operation)
        exchange, findings = self.call(
            seq, operation, slot, body, Expectation.valid(), title=f"{operation.id} (what the scope holds)"
        )
        self.conclude(seq, findings)
        answer = exchange.json()
        if exchange.status != operation.success_status or not isinstance(answer, Mapping):
            return False
        items = [
            i for i in answer.get("results", []) if isinstance(i, Mapping) and isinstance(i.get("_id"), str)
        ]
        for item in items:
            account = item.get("accountId")
            if slot.account is None and isinstance(account, str):
                self.learned_account = self.learned_account or account
            seq.store.bucket(collection.name, self.scope(slot))[item["_id"]] = dict(item)
        return answer.get(HAS_MORE) is False

    # -- running -------------------------------------------------------------------------------

    def machine(self) -> type[RuleBasedStateMachine]:
        """The state machine class whose rules are this phase's (one instance per sequence)."""
        phase = self

        class ContractSequences(RuleBasedStateMachine):
            def __init__(self) -> None:
                super().__init__()
                self.seq = phase.start()

            # One rule drawing its action: Hypothesis turns whole rules off in many sequences (swarm
            # testing), which would leave most sequences listing scopes nothing was created in.
            @rule(data=st.data())
            def step(self, data: st.DataObject) -> None:
                actions = [phase.create] * 3 * bool(phase.having("create"))
                actions += [phase.list_or_walk] * 2 * bool(phase.having("list"))
                actions += [phase.any_update] * 2 * bool(phase.having("update"))
                if actions:
                    data.draw(st.sampled_from(actions), label="action")(self.seq, data)

        return ContractSequences

    def execute(self) -> None:
        """Seeded runs of the machine until the sequences asked for ran, the budget is spent, or the run stops."""
        from contract_tests._runner import CheckFailed, _scenario_seed, _StopRun, shrunk_failures

        remaining = self.config.sequence_count
        if remaining <= 0 or (not self.having("create") and not self.having("list")):
            return
        self.ran = True
        for round_ in range(1, MAX_ROUNDS + 1):
            self.round, self.failed_at = f"stateful#{round_}", 0.0
            started = self.counter
            machine = hypothesis_seed(_scenario_seed(self.run.seed, self.round))(self.machine())
            options = settings(
                max_examples=remaining,
                stateful_step_count=self.config.sequence_length,
                database=None,
                derandomize=False,
                deadline=None,
                phases=(Phase.generate, Phase.shrink),
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=True,
                print_blob=False,
                verbosity=Verbosity.quiet,
            )
            try:
                run_state_machine_as_test(machine, settings=options)
            except (Flaky, _StopRun, Unsatisfiable):
                pass
            except (CheckFailed, ExceptionGroup) as exc:
                for leaf in shrunk_failures(exc):
                    group = self.groups.get((leaf.finding.operation, leaf.finding.key))
                    if group is not None and group.owner == self.round:
                        group.shrunk = True
            if self.run.stopped or not self.failed_at:
                return
            # Sequences generated before the first failure, about half of those this round ran.
            remaining -= max(1, (self.counter - started) // 2)
            if remaining <= 0:
                return

    def failures(self, repro_dir: Path | None) -> list[Failure]:
        """The phase's failing keys, each with its shortest sequence (and script in `repro_dir`)."""
        found = []
        placeholders = [p for _, p in self.run.tokens.secrets()]
        for number, group in enumerate(self.groups.values(), 1):
            calls = group.calls
            show = self.config.show_secrets
            script = ""
            if repro_dir is not None:
                text = shell_script(
                    calls, group.finding, seed=self.run.seed, show_secrets=show, placeholders=placeholders
                )
                script = str(write_script(repro_dir, number, group.finding, text))
            notes = []
            if group.consequences:
                notes.append(f"the same answer also breaks {', '.join(sorted(group.consequences))}")
            if not group.shrunk:
                notes.append(
                    "the shortest sequence found before shrinking stopped (no shorter one for "
                    f"{STALL_SECONDS:.0f} s, or the budget); its bodies may simplify further"
                )
            steps = step_texts(calls, show_secrets=show)
            found.append(
                Failure(
                    group.finding,
                    group.severity,
                    steps[-1].split("\n", 1)[1] if steps else "",
                    self.run.seed,
                    group.count,
                    group.shrunk,
                    "; ".join(notes),
                    steps=steps,
                    script=script,
                    also=tuple(sorted(group.consequences)),
                )
            )
        return found


def _subject(token: str) -> str | None:
    """The caller's user id (`sub`) for `mycase`/`mytask` filters, read from the run's token unverified."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None


def _made_up(prefix: str, run_id: str, what: str, *, hex_only: bool = False) -> str:
    """An id for a scope the run makes up on loopback: 24 hex digits (an account) or a Kore stream id."""
    digest = hashlib.sha256(f"kore-contract-tests:{run_id}:{what}".encode()).hexdigest()
    if hex_only:
        return digest[:24]
    return f"{prefix}-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
