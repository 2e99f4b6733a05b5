"""The mock's shortcuts give what the long way gives: journal headers, remembered ids and callers."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import EnvironBuilder

from generators import Caller, SeededIds
from mockserver._app import StoredIds, _caller, _journal_headers
from mockserver._state import REDACTED_HEADERS, StateStore

header_names = st.text(st.sampled_from("abcXYZ-_09"), min_size=1, max_size=12) | st.sampled_from(
    ["auth", "Authorization", "Cookie", "Content-Type", "Content-Length", "accountId", "X-Timezone-Offset"]
)


@given(
    headers=st.dictionaries(
        header_names, st.text(st.characters(min_codepoint=32, max_codepoint=126)), max_size=8
    )
)
def test_journal_headers_are_werkzeugs_with_credentials_redacted(headers: dict[str, str]) -> None:
    environ = EnvironBuilder(
        path="/p", method="POST", headers=list(headers.items()), data=b"{}"
    ).get_environ()
    expected = {
        k: ("<redacted>" if k.lower() in REDACTED_HEADERS else v) for k, v in EnvironHeaders(environ).items()
    }
    assert _journal_headers(environ) == expected


def test_remembered_ids_are_the_seeded_ids(tmp_path: Path) -> None:
    ids = StoredIds(StateStore(tmp_path / "s.sqlite3"), seed=11)
    seeded = SeededIds(11)
    for prefix, key in [("o", "acct"), ("ti", "acct/1"), ("o", "acct"), ("fd", "acct/x"), ("ti", "acct/2")]:
        assert ids.new_id(prefix, key=key) == seeded.new_id(prefix, key=key)


def test_remembered_callers_are_the_callers() -> None:
    for app_id, seed in [("cs-1", 0), ("cs-1", 7), ("cs-2", 7), ("cs-1", 0)]:
        assert _caller(app_id, seed) == Caller.for_app(app_id, seed=seed)
