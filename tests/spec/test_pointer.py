"""JSON pointer tokens (RFC 6901), shared by the loader, the relations and the generators."""

from __future__ import annotations

import pytest

from spec import escape_token, resolve_pointer, unescape_token


@pytest.mark.parametrize(
    ("key", "token"),
    [("a/b", "a~1b"), ("c~d", "c~0d"), ("~1", "~01"), ("/~", "~1~0"), ("plain", "plain"), ("", "")],
)
def test_tokens_escape_and_unescape(key: str, token: str) -> None:
    assert escape_token(key) == token
    assert unescape_token(token) == key


def test_an_escaped_key_resolves() -> None:
    key = "/caseManagement/api/{streamId}~x"
    assert resolve_pointer({key: {"post": 1}}, f"/{escape_token(key)}/post") == 1
