"""The steps of the stateful phase's sequences: what each rule sends, and the bodies it draws.

`StatefulPhase` (`_stateful.py`) runs the machine and owns the model, the judging and the report;
the steps here draw a call (a create, for an existing or unknown parent; a listing with a few
drawn filters; a walk over every page; an update with a valid or invalid body, then read back; an
update of an unknown or a foreign id), send it through the phase, and hand what it broke to the
phase's `conclude`. Bodies come from the generators; which relations hold comes from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Sequence_
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from contract_tests._client import Exchange, Unsendable
from contract_tests._optional import opening_decisions
from contract_tests._repro import Call
from spec import (
    Basis,
    Collection,
    Expect,
    Expectation,
    Finding,
    Operation,
    Sequences,
    Store,
    escape_token,
    resolve_pointer,
)
from spec._sequences import NOT_FOUND

if TYPE_CHECKING:
    from contract_tests._runner import _Run

JSON = "application/json"
# The page envelope's flag that a listing goes on (spec/_sequences.py reads the same name).
HAS_MORE = "hasMore"
# A walk asks for small pages (1..WALK_LIMIT items), at most WALK_PAGES of them.
WALK_LIMIT = 3
WALK_PAGES = 8
# A create is in the own scope OWN_WEIGHT times as often as in each other scope.
OWN_WEIGHT = 3


@dataclass(frozen=True)
class Slot:
    """A scope the sequences act in: its name in reports, the `accountId` header sent, the stream."""

    label: str
    account: str | None
    stream: str


@dataclass
class Sequence:
    """One run of the machine: its scopes, its model, which scopes the model knows whole, its calls."""

    number: int
    slots: tuple[Slot, ...]
    store: Store = field(default_factory=Store)
    # (collection, slot label) -> whether the model holds every object of that scope.
    complete: dict[tuple[str, str], bool] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # Ids the sequence created: the only objects it updates (a real server's other objects are not ours).
    own: set[str] = field(default_factory=set)


class SequenceSteps:
    """The rules' steps; the phase that inherits them provides the model, the calls and the judging."""

    run: _Run
    sequences: Sequences
    operations: dict[str, Operation]
    marker: str
    isolated: set[str]
    _property_checks: dict[tuple[str, str], Any]
    _strategies: dict[tuple[str, str], st.SearchStrategy[Any]]
    _kinds: dict[str, tuple[str, ...]]

    def op(self, collection: Collection, role: str) -> Operation | None:
        name = getattr(collection, role)
        return self.operations.get(name) if isinstance(name, str) else None

    def having(self, role: str) -> list[Collection]:
        return [c for c in self.sequences.collections if self.op(c, role) is not None]

    def scope(self, slot: Slot) -> tuple[str, str]:
        raise NotImplementedError

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
        raise NotImplementedError

    def observe(
        self,
        seq: Sequence,
        collection: Collection,
        slot: Slot,
        exchange: Exchange,
        body: Any,
        path: Any = None,
    ) -> list[Finding]:
        raise NotImplementedError

    def conclude(self, seq: Sequence, findings: list[Finding], first: Sequence_[Finding] = ()) -> None:
        raise NotImplementedError

    def _tally(self, exchange: Exchange, checked: set[str], findings: list[Finding]) -> None:
        raise NotImplementedError

    def _rank(self, finding: Finding) -> tuple[int, int]:
        raise NotImplementedError

    def bodies(self, operation: Operation) -> st.SearchStrategy[Any]:
        """Valid bodies of the operation, by the generators (built once per operation)."""
        from generators import valid_requests

        key = (operation.id, "valid")
        if key not in self._strategies:
            self._strategies[key] = valid_requests(
                spec=self.run.contract, operation=operation, realistic=True
            )
        return self._strategies[key]

    def invalid(self, operation: Operation, data: st.DataObject) -> Any:
        """An invalid request of one kind the generators derive for the operation (each kind's
        strategy built when first drawn: building every kind's at once costs seconds)."""
        from generators import invalid_kinds, invalid_requests

        kinds = self._kinds.get(operation.id)
        if kinds is None:
            kinds = self._kinds[operation.id] = tuple(
                invalid_kinds(spec=self.run.contract, operation=operation)
            )
        if not kinds:
            return None
        kind = data.draw(st.sampled_from(kinds), label="kind")
        key = (operation.id, kind)
        if key not in self._strategies:
            try:
                self._strategies[key] = invalid_requests(
                    spec=self.run.contract, operation=operation, kinds={kind}
                )
            except ValueError:
                self._strategies[key] = st.none()
        return data.draw(self._strategies[key], label="invalid")

    def marked(self, operation: Operation, body: Any, *, add: bool = True) -> Any:
        """The body with the run's marker in front of its `name`, where the request schema has one
        (`add=False`: only when the body sends a name)."""
        properties = (operation.request_schema or {}).get("properties", {})
        if isinstance(body, dict) and isinstance(properties.get("name"), Mapping) and (add or "name" in body):
            name = body.get("name")
            body = {**body, "name": f"{self.marker} {name}" if isinstance(name, str) else self.marker}
        return body

    def answerable(self, collection: Collection, operation: Operation, body: Any) -> Any:
        """The drawn update body without the fields whose value the stored object's schemas cannot show.

        The update request accepts values that the update's answer or the stored object (the
        create's answer, as listings show it) cannot hold (a `priority` without `color`, a `fields`
        entry without `_id`): the spec decides no answer for them, so a sequence leaves them to the
        single-call phase (whose updates name unknown ids) and sends the rest. Fields an update never
        merges (read-only) are sent whatever their value: a server ignores them.
        """
        if not isinstance(body, dict):
            return body
        shown_by = [operation, self.op(collection, "create")]
        never = {p for r in self.sequences.applying("merged", operation.id) for p in r.except_}
        kept = {}
        for key, value in body.items():
            read_only = "/" + escape_token(str(key)) in never
            if read_only or all(self._shows(o, key, value) for o in shown_by if o is not None):
                kept[key] = value
        return kept

    def _shows(self, operation: Operation, key: str, value: Any) -> bool:
        """Whether the operation's success answer can show `value` as its property `key` (True when it has none)."""
        from spec import SchemaCheck

        properties = (operation.response_schema(operation.success_status) or {}).get("properties", {})
        shown = properties.get(key) if isinstance(properties, Mapping) else None
        if not isinstance(shown, Mapping):
            return True
        check = self._property_checks.get((operation.id, key))
        if check is None:
            check = self._property_checks[(operation.id, key)] = SchemaCheck(shown)
        return bool(check.accepts(value))

    def unknown(self, operation: Operation, what: str) -> Expectation | None:
        """An update naming an id its scope does not hold: 404, by the decision on the path id."""
        decision = self.sequences.unknown_ids_decision(operation.id)
        if decision is None or NOT_FOUND not in operation.documented_statuses:
            return None
        return Expectation(
            Expect.INVALID,
            rule=decision,
            description=what,
            basis=Basis.DECISION,
            decisions=(decision,),
            statuses=frozenset({NOT_FOUND}),
        )

    def create(self, seq: Sequence, data: st.DataObject) -> None:
        collection = data.draw(st.sampled_from(self.having("create")), label="collection")
        # Mostly in the own scope, so that its listings have pages to walk; now and then beside it.
        slot = seq.slots[
            max(0, data.draw(st.integers(0, OWN_WEIGHT + len(seq.slots) - 2), label="scope") - OWN_WEIGHT + 1)
        ]
        operation = self.op(collection, "create")
        assert operation is not None
        body = self.marked(operation, data.draw(self.bodies(operation), label="body"))
        for relation in self.sequences.applying("joins-parent", operation.id):
            link = relation.pointers[0]
            parents = [
                p for p in seq.store.items(relation.parent or "", self.scope(slot)) if p.get("_id") in seq.own
            ]
            if (
                parents
                and link.count("/") == 1
                and isinstance(body, dict)
                and data.draw(st.booleans(), label="join")
            ):
                body = {**body, link[1:]: data.draw(st.sampled_from(parents), label="parent")["_id"]}
        expectation = Expectation.valid(decisions=opening_decisions(operation.request_schema, body))
        exchange, findings = self.call(seq, operation, slot, body, expectation)
        self.conclude(seq, findings + self.observe(seq, collection, slot, exchange, body))

    def filters(self, operation: Operation, data: st.DataObject, items: list[dict[str, Any]]) -> Any:
        """A listing body with a few of the drawn filters, sort and paging fields (none when shrunk):
        a body with every filter keeps nothing, and an empty listing shows little. A text filter
        (`contains`) now and then holds a word of a stored object's, so that it keeps some items
        and drops others."""
        drawn = data.draw(self.bodies(operation), label="body")
        if not isinstance(drawn, dict) or not drawn:
            return drawn
        chosen = data.draw(st.sets(st.sampled_from(sorted(drawn)), max_size=2), label="fields")
        body = {k: v for k, v in drawn.items() if k in chosen}
        for keeps in self.sequences.listing(operation.id).filters:
            key = keeps.field[1:]
            if keeps.match != "contains" or "/" in key or key not in drawn:
                continue
            words = sorted(
                {
                    w
                    for i in items
                    for p in keeps.stored
                    for w in str(resolve_pointer(i, p) or "").split()
                    if w.isalpha()
                }
            )
            known: bool = bool(words) and data.draw(st.booleans(), label="known word")
            if known:
                body[key] = data.draw(st.sampled_from(words), label="word")
        return body

    def place(self, seq: Sequence, role: str, data: st.DataObject) -> tuple[Collection, Slot]:
        """A collection and scope to act in, those holding the sequence's objects first (shrinks toward them)."""
        pairs = [(c, slot) for c in self.having(role) for slot in seq.slots]
        pairs.sort(key=lambda p: -len(seq.store.items(p[0].name, self.scope(p[1]))))
        # The fullest scope twice as often: its listings have pages to walk and items to filter.
        return data.draw(st.sampled_from([pairs[0], *pairs]), label="where")

    def listing(self, seq: Sequence, data: st.DataObject) -> None:
        collection, slot = self.place(seq, "list", data)
        operation = self.op(collection, "list")
        assert operation is not None
        body = self.filters(operation, data, seq.store.items(collection.name, self.scope(slot)))
        exchange, findings = self.call(seq, operation, slot, body, Expectation.valid())
        self.conclude(seq, findings + self.observe(seq, collection, slot, exchange, body))

    def walk(self, seq: Sequence, data: st.DataObject) -> None:
        """Every page of one listing, small pages, from the first to the one that says it is the last."""
        collection, slot = self.place(seq, "list", data)
        operation = self.op(collection, "list")
        assert operation is not None
        paging = self.sequences.listing(operation.id).paging
        body = self.filters(operation, data, seq.store.items(collection.name, self.scope(slot)))
        if paging is None or not paging.limit or not isinstance(body, dict):
            return
        by_page = paging.page if paging.page and paging.page.count("/") == 1 else None
        by_skip = paging.skip if paging.skip and paging.skip.count("/") == 1 else None
        if (by_page is None and by_skip is None) or paging.limit.count("/") != 1:
            return
        size = data.draw(st.integers(1, min(WALK_LIMIT, paging.maximum_limit)), label="limit")
        base = {k: v for k, v in body.items() if "/" + k not in (paging.page, paging.skip)}
        base[paging.limit[1:]] = size
        answers: list[Any] = []
        judged: list[Finding] = []
        related: list[Finding] = []
        for number in range(1, WALK_PAGES + 1):
            page = (
                {**base, by_page[1:]: number} if by_page else {**base, str(by_skip)[1:]: (number - 1) * size}
            )
            exchange, findings = self.call(
                seq,
                operation,
                slot,
                page,
                Expectation.valid(),
                title=f"{operation.id} page {number} of a walk",
            )
            judged += findings
            answer = exchange.json()
            if exchange.status != operation.success_status or not isinstance(answer, Mapping):
                self.conclude(seq, judged + related)
                return
            related += self.observe(seq, collection, slot, exchange, page)
            answers.append(answer)
            if answer.get(HAS_MORE) is not True:
                break
        else:
            self.conclude(seq, judged + related)  # more pages than a walk follows: no partition judged
            return
        checked: set[str] = set()
        partition = sorted(self.sequences.check_pages(operation.id, answers, checked=checked), key=self._rank)
        self._tally(seq.calls[-1].exchange, checked, partition)
        self.conclude(seq, judged + related, first=partition)

    def targets(self, seq: Sequence, *, foreign: bool) -> list[tuple[Collection, Slot, Slot, str]]:
        """(collection, scope of the call, scope of the object, id) of objects the sequence may update."""
        found = []
        for collection in self.having("update"):
            for owner in seq.slots:
                for item in seq.store.items(collection.name, self.scope(owner)):
                    if item.get("_id") not in seq.own:
                        continue
                    for slot in seq.slots:
                        if (slot != owner) == foreign:
                            found.append((collection, slot, owner, str(item["_id"])))
        return found

    def list_or_walk(self, seq: Sequence, data: st.DataObject) -> None:
        """One page of a listing, or a walk over all its pages."""
        (self.walk if data.draw(st.booleans(), label="walk") else self.listing)(seq, data)

    def any_update(self, seq: Sequence, data: st.DataObject) -> None:
        """An update: valid (most often, and first when shrunk), invalid, of an unknown or a foreign id."""
        own, foreign = bool(self.targets(seq, foreign=False)), bool(self.targets(seq, foreign=True))
        variants = [self.update] * 3 * own + [self.update_invalid] * own + [self.update_unknown]
        variants += [self.update_foreign] * foreign
        data.draw(st.sampled_from(variants), label="update")(seq, data)

    def update(self, seq: Sequence, data: st.DataObject) -> None:
        collection, slot, _, object_id = data.draw(
            st.sampled_from(self.targets(seq, foreign=False)), label="target"
        )
        operation = self.op(collection, "update")
        assert operation is not None
        drawn = data.draw(self.bodies(operation), label="body")
        body = self.marked(operation, self.answerable(collection, operation, drawn), add=False)
        path = {collection.path_id: object_id}
        expectation = Expectation.valid(decisions=opening_decisions(operation.request_schema, body))
        exchange, findings = self.call(seq, operation, slot, body, expectation, path=path)
        findings += self.observe(seq, collection, slot, exchange, body, path)
        if exchange.status == operation.success_status:
            findings += self.read_back(seq, collection, slot)
        self.conclude(seq, findings)

    def read_back(self, seq: Sequence, collection: Collection, slot: Slot) -> list[Finding]:
        """After an update, the scope's listing in the largest pages: what was stored, as the model holds it."""
        operation = self.op(collection, "list")
        if operation is None:
            return []
        exchange, findings = self.call(
            seq,
            operation,
            slot,
            self.largest_page(operation),
            Expectation.valid(),
            title=f"{operation.id} (read back)",
        )
        return findings + self.observe(seq, collection, slot, exchange, self.largest_page(operation))

    def largest_page(self, operation: Operation) -> dict[str, Any]:
        """A listing body asking for nothing but the largest page the listing serves."""
        paging = self.sequences.listing(operation.id).paging
        if paging is not None and paging.limit and paging.limit.count("/") == 1:
            return {paging.limit[1:]: paging.maximum_limit}
        return {}

    def update_invalid(self, seq: Sequence, data: st.DataObject) -> None:
        collection, slot, _, object_id = data.draw(
            st.sampled_from(self.targets(seq, foreign=False)), label="target"
        )
        operation = self.op(collection, "update")
        assert operation is not None
        invalid = self.invalid(operation, data)
        if invalid is None:
            return
        path = {collection.path_id: object_id, **(invalid.path_params or {})}
        expectation = self.sequences.unknown_ids_expectation(operation.id, invalid.expectation())
        try:
            exchange, findings = self.call(
                seq,
                operation,
                slot,
                None,
                expectation,
                path=path,
                raw=invalid.body,
                content_type=invalid.content_type,
                header_overlay=invalid.headers,
                query=invalid.query,
                relations=False,
                title=f"{operation.id} in the {slot.label} scope, {invalid.rule}",
            )
        except Unsendable:
            return
        if not invalid.path_params:
            findings += self.observe(seq, collection, slot, exchange, invalid.json_body, path)
        self.conclude(seq, findings)

    def update_unknown(self, seq: Sequence, data: st.DataObject) -> None:
        collection = data.draw(st.sampled_from(self.having("update")), label="collection")
        slot = data.draw(st.sampled_from(seq.slots), label="scope")
        operation = self.op(collection, "update")
        assert operation is not None
        made_up = f"{_id_prefix(operation, collection.path_id)}{data.draw(st.uuids(), label='id')}"
        what = f"{collection.path_id} {made_up}, an id of no object of the account and stream"
        self._update_missing(seq, collection, operation, slot, made_up, what, data)

    def update_foreign(self, seq: Sequence, data: st.DataObject) -> None:
        collection, slot, owner, object_id = data.draw(
            st.sampled_from(self.targets(seq, foreign=True)), label="target"
        )
        operation = self.op(collection, "update")
        assert operation is not None
        self.isolated.add(kind_of(slot, owner))
        what = f"{collection.path_id} {object_id}, the id of an object of another {kind_of(slot, owner)[:-1]}"
        self._update_missing(seq, collection, operation, slot, object_id, what, data)

    def _update_missing(
        self,
        seq: Sequence,
        collection: Collection,
        operation: Operation,
        slot: Slot,
        object_id: str,
        what: str,
        data: st.DataObject,
    ) -> None:
        expectation = self.unknown(operation, what)
        if expectation is None:
            return
        drawn = data.draw(self.bodies(operation), label="body")
        body = self.marked(operation, self.answerable(collection, operation, drawn), add=False)
        path = {collection.path_id: object_id}
        exchange, findings = self.call(
            seq,
            operation,
            slot,
            body,
            expectation,
            path=path,
            relations=False,
            title=f"{operation.id} in the {slot.label} scope of {what}",
        )
        self.conclude(seq, findings + self.observe(seq, collection, slot, exchange, body, path))


def _id_prefix(operation: Operation, name: str) -> str:
    """The prefix of the ids the path parameter's example shows (`ti-`), so a made-up id looks like one."""
    for parameter in operation.parameters_in("path"):
        example = parameter.get("example")
        if parameter.get("name") == name and isinstance(example, str) and "-" in example:
            return example.split("-", 1)[0] + "-"
    return ""


def kind_of(slot: Slot, other: Slot) -> str:
    """What sets two scopes apart: `streams`, else `accounts` (the isolation kind they exercise)."""
    return "streams" if slot.stream != other.stream else "accounts"
