"""The listings' filters, answered in memory: which stored objects each filter value holds, per scope.

A listing's total is how many objects every filter keeps. Counted in SQL it touches every kept
object (at 100,000 tasks, a filter keeping most of them costs ~100 ms); here each filter value names
its objects as a bitset (bit `p` for the object at position `p` of its scope, kept in a bytearray
that writes change in place, read as a Python integer), so a listing's kept set is a few big-integer
ANDs and its total a `bit_count()`: a few microseconds per 100,000 objects.

- Values of a filter are kept as `spec.FilterRule.values_of` gives them and tested by
  `spec.Condition`'s kinds (`any-of`, `none-of`, `contains`, `at-least`, `at-most`, `equal`), so
  this module decides nothing about what a filter means. Filters with the same stored pointers and
  the same form of value share their values (`startDate` and `endDate` both read `/createdAt`).
- A value held by few objects keeps their positions; one held by many, a bitset. Instants (the
  date filters) are kept sorted, with the bitset of every prefix of a multiple of CHECKPOINT
  values (at most PREFIXES of them), so a date range is two prefixes, not one bit per object in it.
- Every process keeps its own index, brought up to date from the shared file at each listing: the
  objects whose `rev` is past the one it has seen (`sync`), inside the listing's transaction, so
  it sees exactly what the listing's SQL sees. A write from any worker is in the next listing.
- An update gives the object a new position and marks its old one dead (its old values are not
  kept, so they cannot be taken out); a scope with more dead positions than live ones is rebuilt
  from the file at its next listing. `POST /__admin/reset` and `PUT /__admin/state` replace the
  objects and change the store's generation: every process then indexes anew.

The order of a page is SQLite's (the `sortkeys` indexes of mockserver/_index.py); this module only
says which objects are kept. `tests/mockserver/test_index.py` checks both against `Listing.expected`.
"""

from __future__ import annotations

import sqlite3
import uuid
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from spec import Condition, FilterRule, Listing

# A value held by this many objects of a scope keeps them as a bitset; fewer, as a list of positions.
BITSET_FROM = 32
# The instants facet keeps the bitset of its first k * every values (sorted) for every k, where `every`
# is CHECKPOINT, doubled for as long as that would make more than PREFIXES of them: a date range is then
# two prefixes and at most 2 * every positions set one by one, and the prefixes cost at most PREFIXES
# bits per object (they would grow with the square of the scope's size at a fixed spacing).
CHECKPOINT = 1024
PREFIXES = 128
# Objects read from the file per fetch while indexing (a 100,000-object world is not loaded at once).
_FETCH = 512


def bits_of(positions: Iterable[int], size: int) -> int:
    """The bitset of `positions` (each below `size`)."""
    buffer = bytearray((size >> 3) + 1)
    _set_bits(buffer, positions)
    return int.from_bytes(buffer, "little")


def _set_bits(buffer: bytearray, positions: Iterable[int]) -> None:
    """Set the bit of each of `positions` in `buffer` (long enough for every one)."""
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)


def positions_of(bits: int) -> list[int]:
    """The positions set in `bits`, ascending."""
    text = bin(bits)[:1:-1]  # least significant bit first, without the "0b"
    found: list[int] = []
    position = text.find("1")
    while position != -1:
        found.append(position)
        position = text.find("1", position + 1)
    return found


class Bitset:
    """A set of positions that grows, as a bytearray changed in place. (A Python int would be copied
    whole by every add: at 100,000 objects, 12 KB per write per value, which fragments the heap.)"""

    __slots__ = ("buffer",)

    def __init__(self, positions: Sequence[int] = ()) -> None:
        self.buffer = bytearray()
        self.add_all(positions)

    def add(self, position: int) -> None:
        at = position >> 3
        if at >= len(self.buffer):
            self.buffer.extend(bytes(at + 1 - len(self.buffer)))  # bytearray over-allocates: amortised
        self.buffer[at] |= 1 << (position & 7)

    def add_all(self, positions: Sequence[int]) -> None:
        if positions:
            self.add(max(positions))
            _set_bits(self.buffer, positions)

    def bits(self) -> int:
        return int.from_bytes(self.buffer, "little")

    def copy(self) -> Bitset:
        copied = Bitset()
        copied.buffer = bytearray(self.buffer)
        return copied


def new_generation(conn: sqlite3.Connection) -> None:
    """Say that the objects were replaced (not written one by one): every process indexes them anew."""
    conn.execute(
        "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('generation', ?)", (uuid.uuid4().hex,)
    )


class _Values:
    """One facet's values: value -> the positions holding it (a list, or a bitset once many do)."""

    __slots__ = ("big", "small")

    def __init__(self) -> None:
        self.small: dict[Any, array[int]] = {}
        self.big: dict[Any, Bitset] = {}

    def add(self, value: Any, position: int, *, replaces: int | None = None) -> None:
        """Hold `value` at `position` (`replaces`, the object's position before an update, stays among
        the value's positions: dead, so no listing keeps it)."""
        big = self.big.get(value)
        if big is not None:
            big.add(position)
            return
        held = self.small.get(value)
        if held is None:
            held = self.small[value] = array("q")
        held.append(position)
        if len(held) >= BITSET_FROM:
            self.big[value] = Bitset(held)
            del self.small[value]

    def bits(self, values: Iterable[Any], size: int) -> int:
        """The positions holding any of `values`."""
        found = 0
        loose: list[int] = []
        for value in values:
            big = self.big.get(value)
            if big is not None:
                found |= big.bits()
            else:
                loose += self.small.get(value, ())
        return found | bits_of(loose, size) if loose else found

    def values(self) -> Iterator[Any]:
        yield from self.big
        yield from self.small


class _Instants:
    """One facet of instants: (value, position) sorted by value, and the bitsets of its prefixes."""

    __slots__ = ("every", "positions", "prefixes", "sorted_values")

    def __init__(self) -> None:
        self.sorted_values = array("d")
        self.positions = array("q")
        # prefixes[k]: the bitset of the first k * every positions (those after an insert go stale).
        # Dead positions may stay in them: a listing keeps only live ones.
        self.every = CHECKPOINT
        self.prefixes: list[Bitset] = [Bitset()]

    def add(self, value: float, position: int, *, replaces: int | None = None) -> None:
        """Hold `value` at `position`. `replaces`: the position the object had before an update. If it
        held the same value (an update rarely changes `createdAt`), its entry moves to the new position
        where it is, and the prefixes that hold it gain the new position; inserted instead, the entry
        would make every later prefix stale, and the next date range would build them all again (at
        100,000 objects, some 10 ms after each update of an old object)."""
        values = self.sorted_values
        if replaces is not None:
            for at in range(bisect_left(values, value), bisect_right(values, value)):
                if self.positions[at] == replaces:
                    self.positions[at] = position
                    for prefix in self.prefixes[at // self.every + 1 :]:
                        prefix.add(position)
                    return
        at = bisect_right(values, value)
        values.insert(at, value)
        self.positions.insert(at, position)
        del self.prefixes[at // self.every + 1 :]
        if len(values) > self.every * PREFIXES:  # twice as far apart, half as many
            self.every *= 2
            del self.prefixes[1:]

    def _prefix(self, end: int, size: int) -> int:
        """The bitset of the first `end` positions."""
        every = self.every
        whole = end // every
        while len(self.prefixes) <= whole:
            k = len(self.prefixes)
            prefix = self.prefixes[-1].copy()
            prefix.add_all(self.positions[(k - 1) * every : k * every])
            self.prefixes.append(prefix)
        return self.prefixes[whole].bits() | bits_of(self.positions[whole * every : end], size)

    def between_values(self, values: Iterable[float], size: int) -> int:
        """The positions holding any of `values`."""
        found = 0
        for value in values:
            found |= self.between(value, value, size)
        return found

    def between(self, low: float | None, high: float | None, size: int) -> int:
        """The positions of the values from `low` to `high`, both included (None: unbounded)."""
        start = 0 if low is None else bisect_left(self.sorted_values, low)
        end = len(self.sorted_values) if high is None else bisect_right(self.sorted_values, high)
        if end <= start:
            return 0
        if end - start <= self.every:
            return bits_of(self.positions[start:end], size)
        return self._prefix(end, size) & ~self._prefix(start, size)


class SeqPositions:
    """seq -> position, as two arrays sorted by seq (no Python object per entry: a 100,000-object
    scope is 1.6 MB, and building it leaves no small objects among the garbage of the parsed
    documents, which would keep the heap's arenas from being returned)."""

    __slots__ = ("positions", "seqs")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.positions = array("q")

    def __len__(self) -> int:
        return len(self.seqs)

    def get(self, seq: int) -> int | None:
        at = bisect_left(self.seqs, seq)
        return self.positions[at] if at < len(self.seqs) and self.seqs[at] == seq else None

    def put(self, seq: int, position: int) -> int | None:
        """Give `seq` its new `position`; the one it had, or None."""
        at = bisect_left(self.seqs, seq)
        if at < len(self.seqs) and self.seqs[at] == seq:
            old = self.positions[at]
            self.positions[at] = position
            return old
        self.seqs.insert(at, seq)  # new objects have the highest seq: an append
        self.positions.insert(at, position)
        return None


@dataclass(frozen=True, eq=False)  # by identity: a rule's `keeps` may be a dict
class _Facet:
    """Filters reading the same stored pointers in the same form (`FilterRule.form`) share one facet."""

    rule: FilterRule  # the first of them: its `values_of` gives the values

    @property
    def instants(self) -> bool:
        return self.rule.form == "instant"


class _Scope:
    """The index of one scope (collection, account, stream)."""

    __slots__ = ("dead", "facets", "position", "seqs")

    def __init__(self, facets: Iterable[_Facet]) -> None:
        self.position = SeqPositions()  # seq -> its live position
        self.seqs = array("q")  # position -> seq (dead positions included)
        self.dead = Bitset()
        self.facets: dict[_Facet, _Values | _Instants] = {
            f: (_Instants() if f.instants else _Values()) for f in facets
        }

    def live(self) -> int:
        return ((1 << len(self.seqs)) - 1) & ~self.dead.bits()

    def dead_count(self) -> int:
        """Positions left by updates: every position handed out but the live ones."""
        return len(self.seqs) - len(self.position)

    def put(self, seq: int, document: Any) -> None:
        position = len(self.seqs)
        old = self.position.put(seq, position)
        if old is not None:
            self.dead.add(old)
        self.seqs.append(seq)
        for facet, held in self.facets.items():
            for value in dict.fromkeys(facet.rule.values_of(document)):
                held.add(value, position, replaces=old)

    def kept(self, facet: _Facet, condition: Condition) -> int:
        """The positions `condition` keeps of `facet` (dead ones may be among them)."""
        held = self.facets[facet]
        size = len(self.seqs)
        kind, operands = condition.kind, condition.operands
        if kind == "nothing":
            return 0
        if kind == "none-of":  # no value of the object is one of them
            refused = (
                held.between_values(operands, size)
                if isinstance(held, _Instants)
                else held.bits(operands, size)
            )
            return self.live() & ~refused
        if isinstance(held, _Instants):
            bounds = {
                "at-least": (operands[0], None),
                "at-most": (None, operands[0]),
                "equal": (operands[0], operands[0]),
            }
            if kind in bounds:
                low, high = bounds[kind]
                return held.between(low, high, size)
            # Some value of the object passes: every value held is tested.
            return held.between_values(
                [v for v in dict.fromkeys(held.sorted_values) if condition.holds((v,))], size
            )
        if kind == "any-of":
            return held.bits(operands, size)
        # contains, and ranges on values that are not instants: some value passes; every one held is tested.
        return held.bits([v for v in held.values() if condition.holds((v,))], size)


class FilterIndex:
    """The filters of `listings` (collection -> Listing), in memory, for the scopes of one process."""

    def __init__(self, listings: Mapping[str, Listing]) -> None:
        # Per collection, the facet of each filter, by the filter's index in the listing.
        self._facets: dict[str, list[_Facet]] = {}
        for collection, listing in listings.items():
            shared: dict[tuple[tuple[str, ...], str], _Facet] = {}
            self._facets[collection] = [
                shared.setdefault((rule.stored, rule.form), _Facet(rule)) for rule in listing.filters
            ]
        self._scopes: dict[int, _Scope] = {}
        self._rev = 0
        self._generation: str | None = None

    def sync(self, conn: sqlite3.Connection, collection_of: Mapping[int, str]) -> None:
        """Index every object written since this process last looked (inside the caller's transaction)."""
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'generation'").fetchone()
        generation = row[0] if row is not None else ""
        if generation != self._generation:
            self._scopes.clear()
            self._rev = 0
            self._generation = generation
        touched = self._read(
            conn,
            "SELECT rev, seq, sid, document FROM objects WHERE rev > ? ORDER BY rev",
            (self._rev,),
            collection_of,
        )
        for sid in touched:
            scope = self._scopes[sid]
            if scope.dead_count() > len(scope.position):  # mostly replaced by updates: index anew
                del self._scopes[sid]
                self._read(
                    conn,
                    "SELECT rev, seq, sid, document FROM objects WHERE sid = ? ORDER BY seq",
                    (sid,),
                    collection_of,
                    keep_rev=True,
                )

    def _read(
        self,
        conn: sqlite3.Connection,
        sql: str,
        params: tuple[Any, ...],
        collection_of: Mapping[int, str],
        *,
        keep_rev: bool = False,
    ) -> set[int]:
        """Index the objects `sql` selects; the scopes it put objects in."""
        touched: set[int] = set()
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH):
            for rev, seq, sid, document in rows:
                if not keep_rev:
                    self._rev = max(self._rev, rev)
                scope = self._scope(sid, collection_of)
                if scope is not None:
                    scope.put(seq, orjson.loads(document))
                    touched.add(sid)
        return touched

    def _scope(self, sid: int, collection_of: Mapping[int, str]) -> _Scope | None:
        scope = self._scopes.get(sid)
        if scope is None:
            collection = collection_of.get(sid, "")
            if collection not in self._facets:
                return None
            scope = self._scopes[sid] = _Scope(set(self._facets[collection]))
        return scope

    def kept(self, collection: str, sid: int, conditions: Iterable[tuple[int, Condition]]) -> Kept:
        """The objects of scope `sid` that every (filter index, condition) keeps."""
        scope = self._scopes.get(sid) or _Scope(())
        facets = self._facets[collection]
        bits = scope.live()
        for index, condition in conditions:
            if not bits:
                break
            bits &= scope.kept(facets[index], condition)
        return Kept(bits.bit_count(), len(scope.position), bits, scope.seqs, scope.position)


@dataclass(frozen=True)
class Kept:
    """What a listing's filters keep of a scope: how many, and which (by `seq`)."""

    total: int
    size: int  # live objects in the scope
    bits: int
    seqs: array[int]  # position -> seq
    position: SeqPositions  # seq -> live position

    def seq_list(self) -> list[int]:
        """The kept objects' seqs (in no particular order)."""
        return [self.seqs[p] for p in positions_of(self.bits)]

    def holds(self) -> Callable[[int], bool]:
        """A test of a seq: whether the filters keep it (for walking an order of the whole scope)."""
        packed = self.bits.to_bytes((len(self.seqs) >> 3) + 1, "little")
        position = self.position

        def test(seq: int) -> bool:
            p = position.get(seq)
            return p is not None and bool(packed[p >> 3] >> (p & 7) & 1)

        return test
