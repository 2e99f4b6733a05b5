"""An account's options (statuses and priorities): what an update's reference to one stores.

An option is the same object wherever the account shows it: a new task's or case's (the seed
sample's default, `Open` and `Medium`, its id keyed by the account alone, as `build_task` and
`build_case` make it) or one an agent set (the other names of `STATUSES` and `PRIORITIES`, keyed
by account and name, as `build_world` sets them). `account_option` finds the option an update names
by `_id` or by `name` (decision `option-references`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generators._casework import PRIORITIES, STATUSES
from generators._ids import IdSource

# The fields that hold an option, with the prefix of the option's id and the options.
OPTION_FIELDS: Mapping[str, tuple[str, tuple[Mapping[str, Any], ...]]] = {
    "status": ("sts", STATUSES),
    "priority": ("pr", tuple(PRIORITIES.values())),
}


def option_id(field: str, name: str, account_id: str, ids: IdSource, *, default: str | None = None) -> str:
    """The id of the account's option `name` of `field` (`default`: the name of a new object's option)."""
    prefix = OPTION_FIELDS[field][0]
    return ids.new_id(prefix, key=account_id if name == default else f"{account_id}/{name}")


def account_option(
    field: str, sent: Any, account_id: str, ids: IdSource, *, default: str | None = None
) -> dict[str, Any] | None:
    """The whole option of `field` that `sent` names by `_id` or by its exact `name`: the account's
    option with what `sent` says over it (an answer shows what was sent); None when `sent` names
    none (or `field` holds no options).

    Example:
        >>> from generators import SeededIds
        >>> account_option("priority", {"name": "High"}, "6639f7bd58c97ffac03b1234", SeededIds(1))["color"]
        '#EA580C'
    """
    if field not in OPTION_FIELDS or not isinstance(sent, Mapping):
        return None
    by_id = sent.get("_id")
    by_name = sent.get("name")
    named = None
    for option in OPTION_FIELDS[field][1]:
        oid = option_id(field, option["name"], account_id, ids, default=default)
        if isinstance(by_id, str) and by_id == oid:
            return {"_id": oid, **option, **sent}
        if named is None and by_name == option["name"]:
            named = {"_id": oid, **option, **sent}
    return named
