"""Kore-style identifiers: the prefix table, their two visible forms, and seeded id sources."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

# The platform shows two forms of uuid-like ids (seed page samples). Ids of the first group carry a
# full 8-hex first group and look like uuid5 values (`st-084d3c5e-376a-559f-...`); the others drop
# one hex digit of the first group and look like uuid4 values (`ti-73acd32-0123-4114-9891-...`).
# The value is (length of the first group, uuid version nibble).
ID_FORMS: dict[str, tuple[int, str]] = {
    "st": (8, "5"),
    "u": (8, "5"),
    "o": (8, "5"),
    "cs": (8, "5"),
    "ci": (7, "4"),
    "ti": (7, "4"),
    "ttm": (7, "4"),
    "sts": (7, "4"),
    "fd": (7, "4"),
    "pr": (7, "4"),
    "ctm": (7, "4"),
    "a": (7, "4"),
}
_VARIANT_NIBBLES = "89ab"
HEX_DIGITS = "0123456789abcdef"


def normalize_prefix(prefix: str) -> str:
    """The bare prefix (`ti` for `ti` or `ti-`); a ValueError names the known prefixes otherwise."""
    bare = prefix[:-1] if prefix.endswith("-") else prefix
    if bare not in ID_FORMS:
        raise ValueError(f"unknown Kore id prefix {prefix!r}; known prefixes: {', '.join(sorted(ID_FORMS))}")
    return bare


def format_id(prefix: str, nibbles: Sequence[int]) -> str:
    """An id of `prefix`'s form from random nibbles (0-15): version and variant set like a uuid."""
    bare = normalize_prefix(prefix)
    first, version = ID_FORMS[bare]
    needed = first + 4 + 3 + 1 + 3 + 12
    if len(nibbles) < needed:
        raise ValueError(f"{bare} ids need {needed} random nibbles, got {len(nibbles)}")
    hexes = "".join(HEX_DIGITS[n & 0xF] for n in nibbles[:needed])
    a, b, c = hexes[:first], hexes[first : first + 4], hexes[first + 4 : first + 7]
    variant = _VARIANT_NIBBLES[nibbles[first + 7] & 0x3]
    d, e = hexes[first + 8 : first + 11], hexes[first + 11 : needed]
    return f"{bare}-{a}-{b}-{version}{c}-{variant}{d}-{e}"


def nibble_count(prefix: str) -> int:
    """How many random nibbles an id of `prefix` takes."""
    return ID_FORMS[normalize_prefix(prefix)][0] + 23


def id_from_number(prefix: str, number: int) -> str:
    """The id of `prefix`'s form whose random nibbles are `number` in hex (0 is the all-zero id)."""
    count = nibble_count(prefix)
    return format_id(prefix, [(number >> (4 * (count - 1 - i))) & 0xF for i in range(count)])


def id_regex(prefix: str) -> str:
    """A full-match regex of the ids this package mints for `prefix`."""
    bare = normalize_prefix(prefix)
    first, version = ID_FORMS[bare]
    return (
        rf"\A{bare}-[0-9a-f]{{{first}}}-[0-9a-f]{{4}}-{version}[0-9a-f]{{3}}-[{_VARIANT_NIBBLES}][0-9a-f]{{3}}"
        rf"-[0-9a-f]{{12}}\Z"
    )


# Account ids are MongoDB ObjectIds: 24 lowercase hex digits (`6639f7bd58c97ffac03bxxxx`).
ACCOUNT_ID_REGEX = r"\A[0-9a-f]{24}\Z"
# Creation times (epoch seconds) of the ObjectIds minted: 2023-01-01 to 2026-01-01.
OBJECT_ID_EPOCHS = (1_672_531_200, 1_767_225_600)


def account_id(seconds: int, rest: int) -> str:
    """An account id: the creation time in 8 hex digits, then 16 hex digits of `rest`."""
    return f"{seconds:08x}{rest % 16**16:016x}"


def case_ref_id(number: int) -> str:
    """The case reference `CS` + the zero-padded sequence number (`CS000131`)."""
    if number < 1:
        raise ValueError(f"case reference numbers start at 1, got {number}")
    return f"CS{number:06d}"


def task_ref_id(number: int) -> str:
    """The task reference `TS` + the zero-padded sequence number (`TS000102`)."""
    if number < 1:
        raise ValueError(f"task reference numbers start at 1, got {number}")
    return f"TS{number:06d}"


@runtime_checkable
class IdSource(Protocol):
    """Where build_task gets its reference numbers and ids from."""

    def next_ref_number(self, account_id: str) -> int:
        """The next task reference number of `account_id` (1-based)."""
        ...

    def new_id(self, prefix: str, *, key: str) -> str:
        """A deterministic id of `prefix`'s form for (seed, prefix, key)."""
        ...


class SeededIds:
    """In-memory IdSource: hash-based ids from (seed, prefix, key), one counter per account.

    Example:
        >>> ids = SeededIds(7)
        >>> ids.new_id("ti", key="acct/1") == SeededIds(7).new_id("ti", key="acct/1")
        True
        >>> ids.next_ref_number("acct"), ids.next_ref_number("acct")
        (1, 2)
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SeededIds(seed={self.seed})"

    def next_ref_number(self, account_id: str) -> int:
        """The next task reference number of `account_id` (1-based)."""
        with self._lock:
            number = self._counters.get(account_id, 0) + 1
            self._counters[account_id] = number
            return number

    def new_id(self, prefix: str, *, key: str) -> str:
        """A deterministic id of `prefix`'s form for (seed, prefix, key)."""
        bare = normalize_prefix(prefix)
        return format_id(bare, hashed_nibbles(self.seed, bare, key))


def hashed_nibbles(seed: int, *parts: str) -> list[int]:
    """64 nibbles of SHA-256 over the seed and `parts` (stable across processes and platforms)."""
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode("utf-8")).digest()
    return [n for byte in digest for n in (byte >> 4, byte & 0xF)]
