"""The task the platform answers to a valid Create a task request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from generators._ids import IdSource, SeededIds, hashed_nibbles, task_ref_id
from generators._people import DEFAULT_LOCALES, LOCALES, Person
from generators._schema import PER_SPEC
from spec import ContractSpec, Operation, Sequences, load_spec

Clock = Callable[[], datetime]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def system_clock() -> Clock:
    """A Clock that reads the system time, timezone-aware UTC.

    Example:
        >>> clock = system_clock()
        >>> clock().tzinfo is UTC
        True
    """
    return _now_utc


def _now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FrozenClock:
    """A Clock that always answers `instant`.

    Example:
        >>> clock = FrozenClock(datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC))
        >>> clock().isoformat()
        '2025-06-04T10:18:00.725000+00:00'
    """

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None or self.instant.utcoffset() is None:
            raise ValueError(
                f"FrozenClock needs a timezone-aware datetime, got the naive {self.instant.isoformat()}"
            )

    def __call__(self) -> datetime:
        return self.instant.astimezone(UTC)


@dataclass(frozen=True)
class Caller:
    """The user (or app user) a request is made as: the task's createdBy and updatedBy."""

    user_id: str
    name: str
    prof_image: str = "no-avatar"

    @classmethod
    def for_app(cls, app_id: str, *, seed: int = 0) -> Caller:
        """A stable, realistic caller for an app's client id (the JWT `appId` claim).

        Example:
            >>> Caller.for_app("cs-1234") == Caller.for_app("cs-1234")
            True
        """
        nibbles = hashed_nibbles(seed, "caller", app_id)
        locale = DEFAULT_LOCALES[_pick(nibbles[0:4], len(DEFAULT_LOCALES))]
        table = LOCALES[locale]
        person = Person(
            locale,
            table.given_names[_pick(nibbles[4:8], len(table.given_names))],
            table.family_names[_pick(nibbles[8:12], len(table.family_names))],
        )
        return cls(SeededIds(seed).new_id("u", key=f"app/{app_id}"), person.name)

    def actor(self) -> dict[str, str]:
        """The task's `createdBy` / `updatedBy` object, keys in the seed sample's order."""
        return {"name": self.name, "_id": self.user_id, "profImage": self.prof_image}


def _pick(nibbles: list[int], size: int) -> int:
    number = 0
    for n in nibbles:
        number = number * 16 + n
    return number % size


def _instant(clock: Clock) -> tuple[str, int]:
    """clock() as the platform prints it (ISO 8601 UTC, milliseconds, `Z`) and in epoch ms."""
    now = clock()
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise TypeError(
            f"clock() must return a timezone-aware datetime, got {now!r}; "
            "pass a Clock such as system_clock() or FrozenClock(instant)"
        )
    utc = now.astimezone(UTC)
    utc = utc.replace(microsecond=utc.microsecond - utc.microsecond % 1000)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z", (utc - _EPOCH) // _ONE_MS


# The component schema of the answer `build_task` produces: the operation it serves is the one whose
# success answer is this schema, so the producer is keyed on what the spec says, not on a route.
TASK_SCHEMA = "Task"
# The name of the success example that is the seed page's sample answer.
SEED_EXAMPLE = "seed-sample"


def creating_operations(spec: ContractSpec, schema_name: str) -> tuple[Operation, ...]:
    """The operations whose success answer is the component schema `schema_name` and that create it.

    An operation that `x-contract-sequences` names as a collection's update or listing answers what
    is stored, not something new, so it is not one of them.
    """

    def make() -> tuple[Operation, ...]:
        schema = spec.resolved.get("components", {}).get("schemas", {}).get(schema_name)
        if schema is None:
            return ()
        sequences = Sequences(spec)
        return tuple(
            op
            for op in spec.operations.values()
            if op.response_schema() == schema and _role_name(sequences, op.id) in (None, "create")
        )

    return PER_SPEC.get(spec, ("creating-operations", schema_name), make)  # type: ignore[no-any-return]


def _role_name(sequences: Sequences, operation_id: str) -> str | None:
    found = sequences.role(operation_id)
    return found[1] if found is not None else None


def task_operations(spec: ContractSpec) -> tuple[Operation, ...]:
    """The operations that create what the task schema describes (what `build_task` produces)."""
    return creating_operations(spec, TASK_SCHEMA)


def served_operation(
    spec: ContractSpec, operation: Operation | None, schema_name: str, producer: str
) -> Operation:
    """The operation `producer` answers: `operation` when given (it must create `schema_name`), else the one."""
    if operation is not None:
        if operation.id not in PER_SPEC.get(
            spec,
            ("creating-operation-ids", schema_name),
            lambda: {op.id for op in creating_operations(spec, schema_name)},
        ):
            raise ValueError(
                f"{producer} produces the `{schema_name}` schema of a new object; "
                f"{operation.id}'s success answer is not it"
            )
        return operation
    found = creating_operations(spec, schema_name)
    if len(found) != 1:
        names = ", ".join(op.id for op in found) or "none"
        raise ValueError(
            f"{producer} needs the one operation that creates the `{schema_name}` schema; "
            f"the spec has {names} (pass operation=)"
        )
    return found[0]


def task_operation(spec: ContractSpec, operation: Operation | None = None) -> Operation:
    """The operation a task answers: `operation` when given (it must create a task), else the spec's one."""
    return served_operation(spec, operation, TASK_SCHEMA, "build_task")


def seed_sample_task(spec: ContractSpec, operation: Operation | None = None) -> Mapping[str, Any]:
    """The seed page's sample answer of the task operation (`operation`, or the spec's one)."""
    return _template(task_operation(spec, operation))


def _template(operation: Operation) -> Mapping[str, Any]:
    """The seed page's sample answer: key order and the fixed defaults of a new task."""
    return operation.response_examples()[SEED_EXAMPLE]  # type: ignore[no-any-return]


def _template_defaults(spec: ContractSpec, operation: Operation) -> bytes:
    """The template's parts every task gets a fresh copy of, serialised once per spec.

    Parsing these bytes (a few microseconds) gives a task its own copies of the template's nested
    values, about ten times faster than copy.deepcopy of the same values on every task (timed ad hoc
    with timeit).
    """

    def make() -> bytes:
        template = _template(operation)
        return orjson.dumps({key: value for key, value in template.items() if key not in ("name", "lname")})

    return PER_SPEC.get(spec, ("template-defaults", operation.id), make)  # type: ignore[no-any-return]


def _echoed(spec: ContractSpec, operation: Operation) -> tuple[str, ...]:
    """Top-level request fields a task echoes, read from the `equals` relations `/body/<f>` -> `/<f>`."""

    def make() -> tuple[str, ...]:
        names = []
        for relation in operation.relations:
            if relation.kind != "equals" or not relation.request or not relation.response:
                continue
            field = relation.request.removeprefix("/body")
            if relation.request.startswith("/body/") and field == relation.response and field.count("/") == 1:
                names.append(field[1:])
        return tuple(names)

    return PER_SPEC.get(spec, ("echoed", operation.id), make)  # type: ignore[no-any-return]


def _user_info(sent: Mapping[str, Any]) -> dict[str, Any]:
    # The seed sample keeps only `_id` and `name` when `_id` is sent (its `emailId` is dropped).
    if "_id" in sent:
        return {"_id": sent["_id"], "name": sent["name"]}
    return {"name": sent["name"], **{key: sent[key] for key in ("emailId", "phoneNumber") if key in sent}}


def build_task(
    request: Mapping[str, Any],
    *,
    stream_id: str,
    account_id: str,
    caller: Caller,
    clock: Clock,
    ids: IdSource,
    spec: ContractSpec | None = None,
    operation: Operation | None = None,
) -> dict[str, Any]:
    """The task the platform answers to a validated request, with its defaults and new ids.

    Example:
        >>> from spec import load_spec
        >>> task = build_task(
        ...     load_spec().operation("createTask").request_examples["seed-sample"],
        ...     stream_id="st-084d3c5e-376a-559f-9987-a012bb2b0c1d",
        ...     account_id="6639f7bd58c97ffac03b1a2c",
        ...     caller=Caller.for_app("cs-5e3b1a4f-0c2d-5e6f-8a9b-0c1d2e3f4a5b"),
        ...     clock=FrozenClock(datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC)),
        ...     ids=SeededIds(1),
        ... )
        >>> task["refId"], task["lname"], task["createdAt"], task["timestampValue"]
        ('TS000001', 'this is demo task', '2025-06-04T10:18:00.725Z', 1749032280725)
    """
    contract = spec if spec is not None else load_spec()
    served = task_operation(contract, operation)
    schema = served.request_schema or {}
    missing = [name for name in schema.get("required", ()) if name not in request]
    if missing:
        raise ValueError(f"build_task needs a request valid against the spec; it lacks {missing}")
    template = _template(served)
    defaults: dict[str, Any] = orjson.loads(_template_defaults(contract, served))
    created_at, timestamp = _instant(clock)
    number = ids.next_ref_number(account_id)
    task_key = f"{account_id}/{number}"
    actor = caller.actor()
    computed: dict[str, Any] = {
        **{name: request[name] for name in _echoed(contract, served) if name in request},
        "userInfo": _user_info(request["userInfo"]),
        "accountId": account_id,
        "iId": stream_id,
        # Per-account ids: the same account always shows the same org, status, priority and fields.
        "orgId": ids.new_id("o", key=account_id),
        "status": {**defaults["status"], "_id": ids.new_id("sts", key=account_id)},
        "priority": {**defaults["priority"], "_id": ids.new_id("pr", key=account_id)},
        "fields": [
            {**field, "_id": ids.new_id("fd", key=f"{account_id}/{field['metaData']['name']}")}
            for field in defaults["fields"]
        ],
        "refId": task_ref_id(number),
        "_id": ids.new_id("ti", key=task_key),
        "createdBy": actor,
        "updatedBy": dict(actor),
        "timestampValue": timestamp,
        "createdAt": created_at,
        "updatedAt": created_at,
    }
    if "name" in request:
        computed["lname"] = request["name"].lower()
    task: dict[str, Any] = {}
    for key in template:
        if key in computed:
            task[key] = computed.pop(key)
        elif key in defaults:
            task[key] = defaults[key]
    # Echoed fields the sample does not show (`desc`) come last, as in the spec's examples.
    task.update(computed)
    return task
