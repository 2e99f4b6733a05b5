"""The meaning of a listing operation's `x-filter`, `x-sort` and `x-page`: what a page must hold.

Given the stored objects of one account and stream and a listing's body, `Listing.expected` says
which objects the page lists, in which order, and the numbers of its envelope. The grammar is
documented in spec/openapi.yaml above `x-contract-sequences`; this module is its one interpreter
(the stateful mock, the mock's tests and the stateful contract tests all ask it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spec._pointer import MISSING, resolve_pointer
from spec._relations import instant_ms

FILTER_MATCHES = frozenset({"contains", "any-of", "on-or-after", "on-or-before", "same-instant", "flag"})
DIRECTIONS = ("asc", "desc")


class ListingError(ValueError):
    """An `x-filter`, `x-sort` or `x-page` that breaks the grammar; `pointer` is relative to the operation."""

    def __init__(self, pointer: str, problem: str) -> None:
        super().__init__(f"{pointer}: {problem}")
        self.pointer = pointer
        self.problem = problem


@dataclass(frozen=True)
class Condition:
    """What one filter asks of an object's `FilterRule.values_of`, as a body sends it.

    `kind` is one of: `any-of` (some value is in `operands`), `none-of` (no value is), `contains`
    (some value has `operands[0]` as a substring), `at-least` / `at-most` / `equal` (some value is
    >= / <= / == `operands[0]`), `nothing` (no object passes). A filter the body does not send is no
    condition (None). Code that evaluates listings elsewhere (the mock's SQL) reads these kinds.
    """

    kind: str
    operands: tuple[Any, ...]

    def holds(self, values: Sequence[Any]) -> bool:
        """Whether an object whose filter values are `values` passes."""
        if self.kind == "any-of":
            return any(v in self.operands for v in values)
        if self.kind == "none-of":
            return not any(v in self.operands for v in values)
        if self.kind == "contains":
            return any(self.operands[0] in v for v in values)
        if self.kind == "at-least":
            return any(v >= self.operands[0] for v in values)
        if self.kind == "at-most":
            return any(v <= self.operands[0] for v in values)
        if self.kind == "equal":
            return any(v == self.operands[0] for v in values)
        return False  # nothing


@dataclass(frozen=True)
class FilterRule:
    """One entry of `x-filter`: the body field, the stored pointers it looks at and how it matches."""

    field: str
    stored: tuple[str, ...]
    match: str
    keeps: Any = None

    @property
    def form(self) -> str:
        """The form `values_of` gives values in: `text` (strings case-folded), `instant` (epoch ms),
        `as-stored` (the caller's id, strings as they are) or `folded` (anything, as case-folded text).
        Filters with the same `stored` pointers and form have the same values."""
        if self.match == "contains":
            return "text"
        if self.match in ("on-or-after", "on-or-before", "same-instant"):
            return "instant"
        if self.match == "flag" and self.keeps == "caller":
            return "as-stored"
        return "folded"

    def values_of(self, item: Any) -> tuple[Any, ...]:
        """The values of a stored `item` this filter compares, in its `form`: strings case-folded (the
        caller's id as is), instants as epoch milliseconds."""
        values = [v for pointer in self.stored for v in _values(resolve_pointer(item, pointer))]
        form = self.form
        if form == "text":
            return tuple(v.casefold() for v in values if isinstance(v, str))
        if form == "instant":
            return tuple(i for i in (instant_ms(v) for v in values) if i is not None)
        if form == "as-stored":
            return tuple(v for v in values if isinstance(v, str))
        return tuple(_fold(v) for v in values)

    def condition(self, body: Any, caller: str | None = None) -> Condition | None:
        """What this filter asks of `values_of` as `body` sends it; None when it keeps every object."""
        sent = resolve_pointer(body, self.field)
        if sent is MISSING or sent is None:
            return None
        if self.match == "contains":
            if not isinstance(sent, str) or not sent:
                return None
            return Condition("contains", (sent.casefold(),))
        if self.match == "any-of":
            if not isinstance(sent, list) or not sent:
                return None
            return Condition("any-of", tuple(sorted({_fold(s) for s in sent})))
        if self.match == "flag":
            if sent is not True:
                return None
            if self.keeps == "caller":
                return Condition("any-of", (caller,)) if caller is not None else Condition("nothing", ())
            if isinstance(self.keeps, Mapping) and "in" in self.keeps:
                return Condition("any-of", tuple(sorted({_fold(k) for k in self.keeps["in"]})))
            if isinstance(self.keeps, Mapping) and "not-in" in self.keeps:
                return Condition("none-of", tuple(sorted({_fold(k) for k in self.keeps["not-in"]})))
            return None
        bound = instant_ms(sent)
        if bound is None:
            return None
        kind = {"on-or-after": "at-least", "on-or-before": "at-most"}.get(self.match, "equal")
        return Condition(kind, (bound,))

    def keeps_item(self, item: Any, body: Any, caller: str | None = None) -> bool:
        """Whether the stored `item` passes this filter as `body` sends it (a filter not sent keeps all)."""
        condition = self.condition(body, caller)
        return condition is None or condition.holds(self.values_of(item))


@dataclass(frozen=True)
class SortRule:
    """`x-sort`: the sort keys and the stored pointers they read, the default order and the tie-break."""

    field: str
    keys: Mapping[str, tuple[str, ...]]
    string_direction: str
    default_key: str
    default_direction: str
    tie_break: str

    def order_of(self, body: Any) -> tuple[tuple[str, ...], str]:
        """The stored pointers and direction `body` asks for (the default for a key `keys` lacks)."""
        sent = resolve_pointer(body, self.field)
        key, direction = self.default_key, self.default_direction
        if isinstance(sent, str) and sent in self.keys:
            key, direction = sent, self.string_direction
        elif isinstance(sent, Mapping) and len(sent) == 1:
            (asked, asked_direction), *_ = sent.items()
            if asked in self.keys and asked_direction in DIRECTIONS:
                key, direction = asked, asked_direction
        return self.keys[key], direction

    def sort(self, items: Iterable[Any], body: Any) -> list[Any]:
        """The items in the order `body` asks for: missing keys last, ties by the tie-break ascending."""
        pointers, direction = self.order_of(body)
        sign = -1 if direction == "desc" else 1

        def compare(a: Any, b: Any) -> int:
            ka, kb = sort_value(a, pointers), sort_value(b, pointers)
            # Items missing the key sort last in either direction.
            by_key = (ka is None) - (kb is None) if ka is None or kb is None else sign * _cmp(ka, kb)
            if by_key:
                return by_key
            return _cmp(self.tie_value(a), self.tie_value(b))

        return sorted(items, key=functools.cmp_to_key(compare))

    def tie_value(self, item: Any) -> tuple[int, Any]:
        """The tie-break's comparable form for `item` (ascending in either direction)."""
        return sort_value(item, (self.tie_break,)) or (3, "")


@dataclass(frozen=True)
class PageRule:
    """`x-page`: the body pointers of page, skip and limit, the default and the largest page size."""

    page: str | None
    skip: str | None
    limit: str | None
    default_limit: int
    maximum_limit: int

    def asked_limit(self, body: Any) -> int:
        """The page size `body` asks for, capped at the maximum (the default when not sent)."""
        sent = resolve_pointer(body, self.limit) if self.limit else MISSING
        asked = sent if _is_int(sent) and sent >= 1 else self.default_limit
        return min(asked, self.maximum_limit)

    def window(self, body: Any, limit: int) -> tuple[int, int]:
        """(index of the first item, 1-based page number) of the page `body` asks for, `limit` a page."""
        skip = resolve_pointer(body, self.skip) if self.skip else MISSING
        if _is_int(skip) and skip >= 0:
            return skip, skip // limit + 1
        page = resolve_pointer(body, self.page) if self.page else MISSING
        number = page if _is_int(page) and page >= 1 else 1
        return (number - 1) * limit, number


@dataclass(frozen=True)
class ExpectedPage:
    """What one page of a listing must be: its items, in order, and its envelope's numbers."""

    results: tuple[Any, ...]
    page: int
    limit: int
    has_more: bool
    total_pages: int
    total_results: int
    # Every item the filters keep, sorted: the whole listing the pages partition.
    kept: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Listing:
    """A listing operation's filters, sort order and paging, read from its `x-filter`, `x-sort`, `x-page`."""

    filters: tuple[FilterRule, ...]
    sort: SortRule | None
    paging: PageRule | None

    @classmethod
    def parse(cls, definition: Mapping[str, Any]) -> Listing | None:
        """The listing an operation object declares, None when it declares none; ListingError when malformed."""
        if not any(k in definition for k in ("x-filter", "x-sort", "x-page")):
            return None
        return cls(
            filters=tuple(_parse_filter(i, e) for i, e in enumerate(definition.get("x-filter", []))),
            sort=_parse_sort(definition["x-sort"]) if "x-sort" in definition else None,
            paging=_parse_page(definition["x-page"]) if "x-page" in definition else None,
        )

    def keeps(self, item: Any, body: Any, caller: str | None = None) -> bool:
        """Whether the stored `item` passes every filter `body` sends (AND across filters)."""
        return all(rule.keeps_item(item, body, caller) for rule in self.filters)

    def expected(
        self,
        items: Iterable[Any],
        body: Any,
        *,
        caller: str | None = None,
        answered_limit: int | None = None,
    ) -> ExpectedPage:
        """The page `body` asks for over the stored `items`.

        `answered_limit` is the page size an answer applied; it is used when it is no more than
        the size asked (decision `pagination`: a server may serve smaller pages).

        Example:
            >>> from spec import load_spec
            >>> listing = Listing.parse(load_spec().operation("getTasks").definition)
            >>> items = [{"_id": f"t{i}", "name": f"task {i}", "createdAt": f"2025-01-0{i}T00:00:00Z"} for i in (1, 2, 3)]
            >>> page = listing.expected(items, {"searchText": "TASK", "page": 2, "limit": 2})
            >>> [t["_id"] for t in page.results], page.has_more, page.total_pages
            (['t1'], False, 2)
        """
        kept = [item for item in items if self.keeps(item, body, caller)]
        ordered = self.sort.sort(kept, body) if self.sort else kept
        start, limit, page = self.window(body, len(ordered), answered_limit=answered_limit)
        return self.envelope(ordered[start : start + limit], start, limit, page, len(ordered), kept=ordered)

    def window(
        self, body: Any, total: int | None = None, *, answered_limit: int | None = None
    ) -> tuple[int, int, int]:
        """(index of the first item, page size, 1-based page number) of the page `body` asks for.

        `total` is the number of kept items, needed only by a listing without `x-page` (one page of
        everything); `answered_limit` as in `expected`."""
        paging = self.paging or PageRule(None, None, None, max(total or 0, 1), max(total or 0, 1))
        limit = paging.asked_limit(body)
        if answered_limit is not None and 1 <= answered_limit <= limit:
            limit = answered_limit
        start, page = paging.window(body, limit)
        return start, limit, page

    @staticmethod
    def envelope(
        results: Sequence[Any], start: int, limit: int, page: int, total: int, *, kept: Sequence[Any] = ()
    ) -> ExpectedPage:
        """The page of `results` at `window` out of `total` kept items, with its envelope's numbers."""
        return ExpectedPage(
            results=tuple(results),
            page=page,
            limit=limit,
            has_more=start + limit < total,
            total_pages=math.ceil(total / limit),
            total_results=total,
            kept=tuple(kept),
        )


def _values(value: Any) -> list[Any]:
    """The comparable values at a stored pointer: an array's elements, an object's `name`."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, list):
        return [v for element in value for v in _values(element)]
    if isinstance(value, Mapping):
        return _values(value.get("name"))
    return [value]


def _fold(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sort_value(item: Any, pointers: Sequence[str]) -> tuple[int, Any] | None:
    """A sort key's comparable form: (rank, value) of the first present value of `pointers` (rank 1:
    instants as epoch ms and numbers, 2: other strings case-folded, 3: anything else as its repr);
    None when every pointer is missing, null or empty (such items sort last)."""
    for pointer in pointers:
        value = resolve_pointer(item, pointer)
        if value is MISSING or value is None or value == "":
            continue
        if isinstance(value, bool):
            return (1, int(value))
        if isinstance(value, int | float):
            return (1, float(value))
        if isinstance(value, str):
            instant = instant_ms(value)
            return (1, instant) if instant is not None else (2, value.casefold())
        return (3, repr(value))
    return None


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _parse_filter(index: int, entry: Any) -> FilterRule:
    where = f"/x-filter/{index}"
    if not isinstance(entry, Mapping):
        raise ListingError(where, "a filter is an object with field, stored and match")
    field, stored, match = entry.get("field"), entry.get("stored"), entry.get("match")
    if not isinstance(field, str) or not field.startswith("/"):
        raise ListingError(f"{where}/field", f"field {field!r} must be a body pointer such as /priority")
    if (
        not isinstance(stored, list)
        or not stored
        or not all(isinstance(p, str) and p.startswith("/") for p in stored)
    ):
        raise ListingError(
            f"{where}/stored", "stored must be a non-empty list of pointers such as [/priority/name]"
        )
    if match not in FILTER_MATCHES:
        raise ListingError(f"{where}/match", f"match {match!r} is not one of {sorted(FILTER_MATCHES)}")
    keeps = entry.get("keeps")
    if match == "flag" and not (
        keeps == "caller" or (isinstance(keeps, Mapping) and set(keeps) in ({"in"}, {"not-in"}))
    ):
        raise ListingError(f"{where}/keeps", "a flag keeps `caller`, {in: [...]} or {not-in: [...]}")
    return FilterRule(field=field, stored=tuple(stored), match=match, keeps=keeps)


def _parse_sort(entry: Any) -> SortRule:
    if not isinstance(entry, Mapping):
        raise ListingError("/x-sort", "x-sort is an object")
    keys = entry.get("keys")
    if not isinstance(keys, Mapping) or not keys:
        raise ListingError("/x-sort/keys", "keys maps each sort key to a list of stored pointers")
    parsed = {str(k): tuple(v) if isinstance(v, list) else (str(v),) for k, v in keys.items()}
    default = entry.get("default", {})
    key, direction = default.get("key"), default.get("direction", "asc")
    if key not in parsed:
        raise ListingError(
            "/x-sort/default/key", f"default key {key!r} is not one of the keys {sorted(parsed)}"
        )
    string_direction = entry.get("string-direction", "asc")
    for pointer, value in (
        ("/x-sort/default/direction", direction),
        ("/x-sort/string-direction", string_direction),
    ):
        if value not in DIRECTIONS:
            raise ListingError(pointer, f"direction {value!r} is not one of {DIRECTIONS}")
    return SortRule(
        field=str(entry.get("field", "/sortBy")),
        keys=parsed,
        string_direction=string_direction,
        default_key=key,
        default_direction=direction,
        tie_break=str(entry.get("tie-break", "/_id")),
    )


def _parse_page(entry: Any) -> PageRule:
    if not isinstance(entry, Mapping):
        raise ListingError("/x-page", "x-page is an object")
    default, maximum = entry.get("default-limit"), entry.get("maximum-limit")
    if not (isinstance(default, int) and isinstance(maximum, int) and 1 <= default <= maximum):
        raise ListingError("/x-page", "default-limit and maximum-limit are integers, 1 <= default <= maximum")
    return PageRule(
        page=entry.get("page"),
        skip=entry.get("skip"),
        limit=entry.get("limit"),
        default_limit=default,
        maximum_limit=maximum,
    )
