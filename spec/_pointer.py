"""JSON pointers (RFC 6901): escaping one token, and the value a pointer names in a document."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Missing()


def escape_token(token: str) -> str:
    """A key as a JSON pointer token: `~` as `~0`, `/` as `~1`."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    """The key a JSON pointer token names."""
    return token.replace("~1", "/").replace("~0", "~")


@functools.lru_cache(maxsize=1024)
def _tokens(pointer: str) -> tuple[str, ...]:
    return tuple(unescape_token(raw) for raw in pointer.lstrip("/").split("/"))


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901), or MISSING."""
    node = document
    if not pointer:
        return node
    for token in _tokens(pointer):
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node
