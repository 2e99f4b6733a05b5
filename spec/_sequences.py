"""The meaning of `x-contract-sequences`: what an answer must be, given the calls before it.

`x-contract-relations` relates one answer to its request; the relations here relate a call to the
calls before it: a created case is listed, an update is merged into what later listings show, ids
never change, pages partition a listing. The model is a `Store` of the objects created so far, per
collection and per (account, stream). `Sequences.observe(store, exchange)` judges one exchange
against the store, with a `Finding` (check `relation:<id>`) per relation it breaks, then records
what the exchange did. The stateful mock, the mock's tests and the stateful contract tests all use
this one interpreter; `Listing` (spec/_listing.py) says what a page must hold.

Example:
    >>> from spec import load_spec
    >>> sequences = Sequences(load_spec())
    >>> store = Store()
    >>> case = load_spec().operation("createCase").response_examples()["email-inside-user"]
    >>> account, stream = case["accountId"], case["iId"]
    >>> sequences.observe(store, Exchange("createCase", account, stream, {}, 200, case))
    []
    >>> listed = {"results": [case], "page": 1, "limit": 50, "hasMore": False, "totalPages": 1, "totalResults": 1}
    >>> sequences.observe(store, Exchange("getCases", account, stream, {}, 200, listed))
    []
    >>> [f.check for f in sequences.observe(store, Exchange("getCases", "another", stream, {}, 200, listed))]
    ['relation:case-listed-after-create', 'relation:cases-listing-exact', 'relation:cases-total-counts']
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spec._judge import RELATION_PREFIX, Basis, Direction, Expect, Expectation, Finding
from spec._listing import ExpectedPage, Listing
from spec._loader import Collection, ContractSpec, SequenceRelation
from spec._pointer import MISSING, escape_token, resolve_pointer
from spec._relations import _lowercasings, instant_ms

# The owner of a stored object: (account, stream).
Scope = tuple[str, str]
ID = "/_id"
# The kinds of relation one page of a listing can break on its own, with no store (`check_page`).
PAGE_KINDS = ("listing-exact", "total-counts", "last-page", "lowercase-of")
# The status an update of an object the server does not hold is answered by the decision its path
# parameter carries (`x-decision`, `unknown-ids`): HTTP's own "not found".
NOT_FOUND = 404


@dataclass
class Store:
    """The model: per collection and scope, the stored objects by `_id`, in creation order.

    `complete` says the store holds every object of its scopes (the mock's world, a fresh account):
    a listing must then be exactly what the store implies. Against a server with objects made
    before the run, set it False: listings are then judged only on the objects the run made.
    """

    objects: dict[str, dict[Scope, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    complete: bool = True
    # Ids of objects an update touched (their listings report under the `merged` relation).
    updated: set[str] = field(default_factory=set)

    def bucket(self, collection: str, scope: Scope) -> dict[str, dict[str, Any]]:
        """The stored objects of one collection and scope, by id (created when absent)."""
        return self.objects.setdefault(collection, {}).setdefault(scope, {})

    def items(self, collection: str, scope: Scope) -> list[dict[str, Any]]:
        """The stored objects of one collection and scope, in creation order."""
        return list(self.objects.get(collection, {}).get(scope, {}).values())

    def find(self, collection: str, object_id: str) -> tuple[Scope, dict[str, Any]] | None:
        """The scope and stored object with this id in any scope, or None."""
        for scope, objects in self.objects.get(collection, {}).items():
            if object_id in objects:
                return scope, objects[object_id]
        return None


@dataclass(frozen=True)
class Exchange:
    """One call as the model sees it: operation, scope, body, path parameters and the answer."""

    operation: str
    # The `accountId` header (None when not sent: a create then belongs to the answer's account).
    account: str | None
    stream: str
    body: Any
    status: int
    answer: Any
    path_params: Mapping[str, str] = field(default_factory=dict)
    # The caller's user id (the JWT's `sub`), for `mycase`/`mytask`.
    caller: str | None = None


class Sequences:
    """The one interpreter of `x-contract-sequences` over a `Store` of created objects."""

    def __init__(self, contract: ContractSpec) -> None:
        self.contract = contract
        self.collections: tuple[Collection, ...] = contract.sequences.collections
        self.relations: tuple[SequenceRelation, ...] = contract.sequences.relations
        self._listings = {
            op_id: listing
            for op_id, op in contract.operations.items()
            if (listing := Listing.parse(op.definition)) is not None
        }

    # -- what the contract implies --------------------------------------------------------------

    def role(self, operation_id: str) -> tuple[Collection, str] | None:
        """The collection an operation acts on and its role there (`create`, `list`, `update`)."""
        for collection in self.collections:
            for role in ("create", "list", "update"):
                if getattr(collection, role) == operation_id:
                    return collection, role
        return None

    def listing(self, operation_id: str) -> Listing:
        """The filters, sort and paging of a listing operation (ValueError when it declares none)."""
        try:
            return self._listings[operation_id]
        except KeyError:
            raise ValueError(f"{operation_id} declares no x-filter, x-sort or x-page") from None

    def applying(self, kind: str, operation_id: str) -> Iterator[SequenceRelation]:
        """The relations of a kind that involve an operation."""
        return (r for r in self.relations if r.kind == kind and operation_id in r.operations)

    def merged(self, operation_id: str, stored: Mapping[str, Any], body: Any) -> dict[str, Any]:
        """What an update stores: `stored` with the body's top-level fields merged, but those never merged."""
        result = copy.deepcopy(dict(stored))
        excluded = {p for r in self.applying("merged", operation_id) for p in r.except_}
        if isinstance(body, Mapping):
            for key, value in body.items():
                if "/" + escape_token(str(key)) not in excluded:
                    result[key] = copy.deepcopy(value)
        for relation in self.applying("lowercase-of", operation_id):
            lowered, source = relation.pointers
            name = resolve_pointer(result, source)
            if isinstance(name, str) and lowered.count("/") == 1:
                result[lowered[1:]] = name.lower()
        return result

    def expected_page(self, store: Store, exchange: Exchange, scope: Scope | None = None) -> ExpectedPage:
        """The page a listing exchange must answer, given the store."""
        found = self.role(exchange.operation)
        if found is None or found[1] != "list":
            raise ValueError(f"{exchange.operation} lists no collection of x-contract-sequences")
        limit = resolve_pointer(exchange.answer, "/limit")
        return self.listing(exchange.operation).expected(
            store.items(found[0].name, scope or self.scope(exchange)),
            exchange.body,
            caller=exchange.caller,
            answered_limit=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
        )

    def unknown_ids_decision(self, operation_id: str) -> str | None:
        """The decision on objects the server does not hold, for an operation whose path names one.

        It is the `x-decision` of the path parameter a collection's `path-id` names, on the operation
        that updates the collection (`unknown-ids`); None for every other operation.
        """
        found = self.role(operation_id)
        if found is None or found[1] != "update":
            return None
        operation = self.contract.operation(operation_id)
        parameter = next(
            (p for p in operation.parameters_in("path") if p.get("name") == found[0].path_id), None
        )
        decision = parameter.get("x-decision") if parameter is not None else None
        return decision if isinstance(decision, str) else None

    def unknown_ids_expectation(
        self, operation_id: str, expectation: Expectation | None = None
    ) -> Expectation:
        """What a request deserves when the objects its path names may be unknown to the server.

        `expectation` is what it deserves were they known (default: valid). For an update
        (`role` `update`) whose path parameter carries a decision: a valid request may get the
        success status or 404 (`Expect.VALID_OR_UNKNOWN`); an invalid one may be refused with 404
        too (the server may look the id up before the body); one the proxy sees no fault in
        (`Expect.NO_FAULT_SEEN`) may get 404 as well. Every other case is unchanged.

        Example:
            >>> from spec import load_spec
            >>> sequences = Sequences(load_spec())
            >>> expected = sequences.unknown_ids_expectation("updateTask")
            >>> expected.kind.value, sorted(expected.statuses), expected.rule
            ('valid-or-unknown', [404], 'unknown-ids')
            >>> sequences.unknown_ids_expectation("getTasks").kind.value
            'valid'
        """
        given = expectation if expectation is not None else Expectation.valid()
        decision = self.unknown_ids_decision(operation_id)
        if decision is None or NOT_FOUND not in self.contract.operation(operation_id).documented_statuses:
            return given
        if given.kind is Expect.VALID:
            return Expectation(
                Expect.VALID_OR_UNKNOWN,
                rule=decision,
                description=given.description,
                basis=given.basis,
                decisions=given.decisions,
                statuses=frozenset({NOT_FOUND}),
            )
        if given.kind is Expect.NO_FAULT_SEEN and not given.statuses:
            return Expectation(Expect.NO_FAULT_SEEN, rule=decision, statuses=frozenset({NOT_FOUND}))
        if given.kind is Expect.INVALID and given.statuses:
            return Expectation(
                Expect.INVALID,
                rule=given.rule,
                description=given.description,
                basis=given.basis,
                decisions=given.decisions,
                statuses=given.statuses | {NOT_FOUND},
            )
        return given

    def page_relations(self, operation_id: str) -> tuple[SequenceRelation, ...]:
        """The relations one answered page of a listing operation can break on its own (`check_page`)."""
        if operation_id not in self._listings:
            return ()
        return tuple(r for r in self.relations if r.kind in PAGE_KINDS and operation_id in r.operations)

    def check_page(self, operation_id: str, body: Any, answer: Any) -> list[Finding]:
        """Findings on one page of a listing judged alone, knowing nothing the server holds.

        What the page's own numbers imply (decision `pagination`): `limit` no more than asked (nor
        the maximum), the page asked, at most `limit` items and exactly `limit` when more follow;
        `totalResults` agreeing with the items before and on the page; `totalPages` =
        ceil(totalResults / limit); `hasMore` exactly when items follow the page (when `page` <
        `totalPages`, for pages that start at a multiple of `limit`); and each item's
        own relations (`lname`). Which items a filter keeps needs the store: `observe` judges it.
        """
        relations = self.page_relations(operation_id)
        if not relations or not isinstance(answer, Mapping):
            return []
        paging = self.listing(operation_id).paging
        judge = _Judge(Exchange(operation_id, None, "", body, 200, answer))
        raw = answer.get("results")
        results = raw if isinstance(raw, list) else []
        total: Any = answer.get("totalResults")
        pages: Any = answer.get("totalPages")
        limit: Any = answer.get("limit")
        page: Any = answer.get("page")
        has_more: Any = answer.get("hasMore")
        asked = paging.asked_limit(body) if paging is not None else None
        size = limit if _count(limit) and limit >= 1 and (asked is None or limit <= asked) else asked
        start = paging.window(body, size)[0] if paging is not None and size is not None else None
        for relation in relations:
            if relation.kind == "listing-exact" and paging is not None and asked is not None:
                judge.unless(
                    not _count(limit) or 1 <= limit <= asked,
                    relation,
                    "/body/limit",
                    repr(limit),
                    f"at most {asked}, the page size asked (at most {paging.maximum_limit}, "
                    f"{paging.default_limit} when none is asked)",
                )
                assert size is not None
                number = paging.window(body, size)[1]
                judge.unless(
                    not _count(page) or page == number, relation, "/body/page", repr(page), repr(number)
                )
                judge.unless(
                    len(results) <= size,
                    relation,
                    "/body/results",
                    f"{len(results)} items",
                    f"at most limit {size}",
                )
                judge.unless(
                    has_more is not True or len(results) == size,
                    relation,
                    "/body/results",
                    f"{len(results)} items on a page with hasMore true",
                    f"a full page of {size} items when more follow",
                )
            elif relation.kind == "total-counts" and _count(total):
                if _count(limit) and limit > 0:
                    judge.unless(
                        pages == math.ceil(total / limit),
                        relation,
                        "/body/totalPages",
                        repr(pages),
                        f"ceil({total} / {limit})",
                    )
                if start is not None and has_more is True:
                    judge.unless(
                        total > start + len(results),
                        relation,
                        "/body/totalResults",
                        repr(total),
                        f"more than the {start + len(results)} items up to this page, as hasMore is true",
                    )
                elif start is not None and has_more is False and (results or start == 0):
                    judge.unless(
                        total == start + len(results),
                        relation,
                        "/body/totalResults",
                        f"{total} with {len(results)} items from item {start} on the last page",
                        repr(start + len(results)),
                    )
            elif relation.kind == "last-page" and start is not None and size and _count(total):
                # From where the page starts: a `skip` that is no multiple of `limit` starts a page
                # part-way, where `page` < `totalPages` would disagree with the items left.
                judge.unless(
                    has_more == (start + size < total),
                    relation,
                    "/body/hasMore",
                    repr(has_more),
                    f"{start + size < total}: items {start}-{start + size - 1} of {total}",
                )
            elif relation.kind == "last-page" and _count(page) and _count(pages):
                judge.unless(
                    has_more == (page < pages),
                    relation,
                    "/body/hasMore",
                    repr(has_more),
                    f"page {page} < totalPages {pages}",
                )
        for index, item in enumerate(results):
            if isinstance(item, Mapping):
                self._each_answer(judge.exchange, item, None, judge, f"/results/{index}")
        return judge.findings

    @staticmethod
    def scope(exchange: Exchange) -> Scope:
        """The account and stream an exchange acts in (a create without the header: the answer's account)."""
        account = exchange.account
        if account is None:
            answered = resolve_pointer(exchange.answer, "/accountId")
            account = answered if isinstance(answered, str) else ""
        return account, exchange.stream

    # -- judging, then recording ----------------------------------------------------------------

    def observe(self, store: Store, exchange: Exchange, *, checked: set[str] | None = None) -> list[Finding]:
        """The findings of one exchange given the store, after which the store records it.

        `checked` (when given) gets the id of every relation the exchange was judged on, broken or
        kept: what a run exercised (a relation never checked is not a relation that holds).
        """
        found = self.role(exchange.operation)
        if found is None or not 200 <= exchange.status < 300 or not isinstance(exchange.answer, Mapping):
            return []
        collection, role = found
        judge = _Judge(exchange, checked=checked)
        if role == "create":
            self._create(store, collection, exchange, judge)
        elif role == "update":
            self._update(store, collection, exchange, judge)
        else:
            self._list(store, collection, exchange, judge)
        return judge.findings

    def check_pages(
        self, operation_id: str, answers: Sequence[Any], *, checked: set[str] | None = None
    ) -> list[Finding]:
        """Findings on the pages of one listing walked from the first to the last, the store unchanged
        (`checked`: as for `observe`)."""
        judge = _Judge(Exchange(operation_id, None, "", None, 200, None), checked=checked)
        ids: list[Any] = [
            item.get("_id") for a in answers for item in a.get("results", []) if isinstance(item, Mapping)
        ]
        totals = {a.get("totalResults") for a in answers}
        for relation in self.applying("pages-partition", operation_id):
            repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
            judge.unless(
                not repeated, relation, "/body/results", f"ids listed twice: {repeated}", "each item once"
            )
            if len(totals) == 1 and None not in totals:
                (total,) = totals
                judge.unless(
                    len(ids) == total,
                    relation,
                    "/body/totalResults",
                    f"{len(ids)} items over {len(answers)} pages",
                    f"totalResults {total} items",
                )
        for relation in self.applying("total-counts", operation_id):
            judge.unless(
                len(totals) <= 1,
                relation,
                "/body/totalResults",
                f"totals {sorted(map(str, totals))}",
                "one total",
            )
        for relation in self.applying("last-page", operation_id):
            flags = [a.get("hasMore") for a in answers]
            judge.unless(
                flags == [True] * (len(answers) - 1) + [False],
                relation,
                "/body/hasMore",
                f"hasMore {flags}",
                "true on every page but the last",
            )
        return judge.findings

    def _create(self, store: Store, collection: Collection, exchange: Exchange, judge: _Judge) -> None:
        answer = dict(exchange.answer)
        scope = self.scope(exchange)
        self._each_answer(exchange, answer, None, judge, "")
        object_id = answer.get("_id")
        if not isinstance(object_id, str):
            return
        store.bucket(collection.name, scope)[object_id] = copy.deepcopy(answer)
        for relation in self.applying("joins-parent", exchange.operation):
            link, list_pointer = relation.pointers
            parent_id = resolve_pointer(answer, link)
            parent = (
                store.bucket(relation.parent or "", scope).get(parent_id)
                if isinstance(parent_id, str)
                else None
            )
            if parent is not None:
                members = parent.setdefault(list_pointer.lstrip("/"), [])
                if object_id not in members:
                    members.append(object_id)

    def _update(self, store: Store, collection: Collection, exchange: Exchange, judge: _Judge) -> None:
        scope = self.scope(exchange)
        object_id = exchange.path_params.get(collection.path_id)
        stored = store.bucket(collection.name, scope).get(object_id or "")
        answer = dict(exchange.answer)
        if stored is None:
            return  # made before the run (or unknown: the 404 of decision `unknown-ids` is a status check)
        expected = self.merged(exchange.operation, stored, exchange.body)
        for relation in self.applying("merged", exchange.operation):
            for key in exchange.body if isinstance(exchange.body, Mapping) else ():
                pointer = "/" + escape_token(str(key))
                if pointer in relation.except_ or key not in answer:
                    continue
                judge.unless(
                    _agree(answer[key], expected[key]),
                    relation,
                    "/body" + pointer,
                    repr(answer[key]),
                    f"{expected[key]!r}, the value sent",
                )
        self._each_answer(exchange, answer, stored, judge, "")
        # What the update did not merge (fields not sent, and those sent that are never merged, such
        # as `updatedAt`) is what the answer says.
        never = {p for r in self.applying("merged", exchange.operation) for p in r.except_}
        sent = exchange.body if isinstance(exchange.body, Mapping) else {}
        recorded = {
            **expected,
            **{k: v for k, v in answer.items() if k not in sent or "/" + escape_token(str(k)) in never},
        }
        store.bucket(collection.name, scope)[object_id or ""] = copy.deepcopy(recorded)
        store.updated.add(object_id or "")

    def _list(self, store: Store, collection: Collection, exchange: Exchange, judge: _Judge) -> None:
        answer = exchange.answer
        scope = self.scope(exchange)
        results = answer.get("results") if isinstance(answer.get("results"), list) else []
        listed = [item.get("_id") if isinstance(item, Mapping) else None for item in results]
        # Against a store that knows every object of the scope the whole page is implied; otherwise
        # only the listed items are looked up (a proxy's model of a large upstream is never loaded).
        expected = self.expected_page(store, exchange, scope) if store.complete else None
        expected_ids = [item.get("_id") for item in expected.results] if expected is not None else []
        for relation in self.applying("listed-after-create", exchange.operation):
            foreign = [
                (index, object_id)
                for index, object_id in enumerate(listed)
                if isinstance(object_id, str)
                and (where := store.find(collection.name, object_id)) is not None
                and where[0] != scope
            ]
            for index, object_id in foreign:
                judge.unless(
                    False,
                    relation,
                    f"/body/results/{index}/_id",
                    f"{object_id} of another account or stream",
                    "only this account's and stream's",
                )
            if store.complete:
                missing = [i for i in expected_ids if i not in listed]
                judge.unless(
                    not missing,
                    relation,
                    "/body/results",
                    f"not listed: {missing}",
                    "every created item the filters keep",
                )
        for relation in self.applying("listing-exact", exchange.operation):
            if expected is not None:
                judge.unless(
                    listed == expected_ids, relation, "/body/results", f"ids {listed}", f"ids {expected_ids}"
                )
                judge.unless(
                    answer.get("page") == expected.page,
                    relation,
                    "/body/page",
                    repr(answer.get("page")),
                    repr(expected.page),
                )
            else:
                listing = self.listing(exchange.operation)
                for index, item in enumerate(results):
                    item_id = item.get("_id") if isinstance(item, Mapping) else None
                    known = store.find(collection.name, item_id) if isinstance(item_id, str) else None
                    full = {**known[1], **item} if known else item
                    judge.unless(
                        listing.keeps(full, exchange.body, exchange.caller),
                        relation,
                        f"/body/results/{index}",
                        "an item the filters do not keep",
                        "only items every filter keeps",
                    )
        for relation in self.applying("total-counts", exchange.operation):
            total, pages, limit = answer.get("totalResults"), answer.get("totalPages"), answer.get("limit")
            if expected is not None:
                judge.unless(
                    total == expected.total_results,
                    relation,
                    "/body/totalResults",
                    repr(total),
                    repr(expected.total_results),
                )
            if isinstance(total, int) and isinstance(limit, int) and limit > 0:
                judge.unless(
                    pages == math.ceil(total / limit),
                    relation,
                    "/body/totalPages",
                    repr(pages),
                    f"ceil({total} / {limit})",
                )
        for relation in self.applying("last-page", exchange.operation):
            has_more, total, limit = answer.get("hasMore"), answer.get("totalResults"), answer.get("limit")
            if expected is not None:
                judge.unless(
                    has_more == expected.has_more,
                    relation,
                    "/body/hasMore",
                    repr(has_more),
                    repr(expected.has_more),
                )
            elif isinstance(total, int) and isinstance(limit, int) and limit > 0:
                start, size, _ = self.listing(exchange.operation).window(exchange.body, answered_limit=limit)
                judge.unless(
                    has_more == (start + size < total),
                    relation,
                    "/body/hasMore",
                    repr(has_more),
                    f"{start + size < total}: items {start}-{start + size - 1} of {total}",
                )
        for index, item in enumerate(results):
            if not isinstance(item, Mapping) or not isinstance(item.get("_id"), str):
                continue
            stored = store.bucket(collection.name, scope).get(item["_id"])
            self._each_answer(exchange, dict(item), stored, judge, f"/results/{index}")
            if stored is None:
                continue
            kind = "merged" if item["_id"] in store.updated else "listed-after-create"
            for relation in self.applying(kind, exchange.operation):
                for key, value in item.items():
                    if key in stored and not _agree(value, stored[key]):
                        judge.unless(
                            False,
                            relation,
                            f"/body/results/{index}/{escape_token(key)}",
                            repr(value),
                            f"{stored[key]!r}, as stored",
                        )
            for relation in self.applying("joins-parent", exchange.operation):
                _, list_pointer = relation.pointers
                members = resolve_pointer(item, list_pointer)
                wanted = resolve_pointer(stored, list_pointer)
                if isinstance(members, list) and isinstance(wanted, list):
                    absent = [m for m in wanted if m not in members]
                    judge.unless(
                        not absent,
                        relation,
                        f"/body/results/{index}{list_pointer}",
                        repr(members),
                        f"holding {absent}",
                    )

    def _each_answer(
        self,
        exchange: Exchange,
        answer: Mapping[str, Any],
        stored: Mapping[str, Any] | None,
        judge: _Judge,
        at: str,
    ) -> None:
        """The relations every answer or listed item keeps: unchanged ids, forward `updatedAt`, `lname`."""
        op = exchange.operation
        for relation in self.applying("lowercase-of", op):
            lowered, source = (resolve_pointer(answer, p) for p in relation.pointers)
            if isinstance(source, str) and lowered is not MISSING:
                judge.unless(
                    lowered in _lowercasings(source),
                    relation,
                    f"/body{at}{relation.pointers[0]}",
                    repr(lowered),
                    repr(source.lower()),
                )
        if stored is None:
            return
        for relation in self.applying("unchanged", op):
            for pointer in relation.pointers:
                now, before = resolve_pointer(answer, pointer), resolve_pointer(stored, pointer)
                if now is not MISSING and before is not MISSING:
                    judge.unless(
                        now == before, relation, f"/body{at}{pointer}", repr(now), f"{before!r}, as created"
                    )
        for relation in self.applying("not-earlier", op):
            pointer = relation.pointers[0]
            now, before = (
                instant_ms(resolve_pointer(answer, pointer)),
                instant_ms(resolve_pointer(stored, pointer)),
            )
            if now is not None and before is not None:
                judge.unless(
                    now >= before,
                    relation,
                    f"/body{at}{pointer}",
                    repr(resolve_pointer(answer, pointer)),
                    f"not before {resolve_pointer(stored, pointer)!r}",
                )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _agree(answered: Any, expected: Any) -> bool:
    """Whether an answered value shows the expected one: objects on their common keys, same instants alike."""
    if isinstance(answered, Mapping) and isinstance(expected, Mapping):
        return all(_agree(answered[k], expected[k]) for k in answered.keys() & expected.keys())
    if isinstance(answered, list) and isinstance(expected, list):
        return len(answered) == len(expected) and all(
            _agree(a, e) for a, e in zip(answered, expected, strict=True)
        )
    if answered == expected and type(answered) is type(expected):
        return True
    instants = instant_ms(answered), instant_ms(expected)
    return (
        isinstance(answered, str) != isinstance(expected, str)
        and None not in instants
        and instants[0] == instants[1]
    )


@dataclass
class _Judge:
    """Collects the findings of one exchange."""

    exchange: Exchange
    findings: list[Finding] = field(default_factory=list)
    # The ids of the relations judged, broken or kept (None: not collected).
    checked: set[str] | None = None

    def unless(
        self, ok: bool, relation: SequenceRelation, pointer: str, received: str, documented: str
    ) -> None:
        if self.checked is not None:
            self.checked.add(relation.id)
        if ok:
            return
        self.findings.append(
            Finding(
                check=RELATION_PREFIX + relation.id,
                operation=self.exchange.operation,
                direction=Direction.RESPONSE,
                pointer=pointer,
                basis=Basis(relation.basis),
                received=received,
                documented=f"{documented} - {relation.description}",
                decision=relation.decision,
                replayable=False,
            )
        )
