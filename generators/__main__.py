"""`python -m generators`: print generated requests or tasks as JSON lines (fixtures, bug reports)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from generators._builder import (
    Caller,
    FrozenClock,
    build_task,
    seed_sample_task,
    task_operation,
    task_operations,
)
from generators._ids import HEX_DIGITS, SeededIds, hashed_nibbles
from generators._invalid import InvalidRequest, invalid_requests
from generators._provider import kore_faker
from generators._schema import resolve_operation
from generators._valid import valid_requests
from spec import ContractSpec, Operation, load_spec

T = TypeVar("T")
# Tasks of `tasks` are created this far apart, from the seed page's sample instant on.
_STEP = timedelta(minutes=7, seconds=13, milliseconds=421)


def draw(strategy: st.SearchStrategy[T], *, count: int, seed_value: int) -> list[T]:
    """`count` values of `strategy`, the same ones for the same seed (Hypothesis, seeded, no database)."""
    drawn: list[T] = []
    for attempt in range(100):
        # Hypothesis may stop early on a small search space; a further run continues from a new seed.
        _run(strategy, count - len(drawn), seed_value if attempt == 0 else hash((seed_value, attempt)), drawn)
        if len(drawn) >= count:
            break
    return drawn[:count]


def _run(strategy: st.SearchStrategy[T], count: int, seed_value: int, into: list[T]) -> None:
    @seed(seed_value)
    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        into.append(value)

    collect()


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _invalid_line(bad: InvalidRequest) -> str:
    return _line(
        {
            "operation": bad.operation,
            "rule": bad.rule,
            "kind": bad.kind,
            "pointer": bad.pointer,
            "basis": bad.basis,
            "decision": bad.decision,
            "description": bad.description,
            "content_type": bad.content_type,
            "body": bad.body.decode("utf-8") if bad.body is not None else None,
            "path_params": dict(bad.path_params) if bad.path_params is not None else None,
            "headers": dict(bad.headers),
            "query": dict(bad.query),
            "expected_statuses": sorted(bad.expected_statuses),
        }
    )


def _account_id(seed_value: int) -> str:
    return "".join(HEX_DIGITS[n] for n in hashed_nibbles(seed_value, "account")[:24])


_count = click.option(
    "--count", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="How many lines."
)
_seed = click.option("--seed", "-s", type=int, default=0, show_default=True, help="Same seed, same output.")
_style = click.option(
    "--style",
    type=click.Choice(["realistic", "edge-cases"]),
    default="realistic",
    show_default=True,
    help="realistic: bodies as a client sends them (KoreProvider, for fixtures and demos). edge-cases: "
    "Hypothesis's draws of what the schema allows (zero-filled ids, odd Unicode, unknown properties), "
    "as the contract tests send them.",
)


def _operation_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--operation", "-o", "operation_id", default=None, metavar="OPERATION_ID", help=help_text
    )


_operation = _operation_option(
    "The operation (operationId) whose requests to generate; default: the spec's first operation "
    "in document order (createTask)."
)
_task_operation = _operation_option(
    "The operation (operationId) that creates the tasks; default: the spec's one operation that "
    "creates a task (createTask)."
)


def _first_operation(spec: ContractSpec) -> Operation:
    """The spec's first operation in document order: the CLI's default, so the README's commands keep working."""
    return next(iter(spec.operations.values()))


def _chosen(spec: ContractSpec, operation_id: str | None) -> Operation:
    if operation_id is None:
        return _first_operation(spec)
    try:
        return resolve_operation(spec, operation_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--operation") from None


def _valid_bodies(
    style: str, *, count: int, seed_value: int, operation: Operation | None = None
) -> list[dict[str, Any]]:
    """`count` valid request bodies of `operation` in `style`; the same ones for the same seed."""
    spec = load_spec()
    chosen = operation if operation is not None else _first_operation(spec)
    # The provider writes the requests of the operation that creates a task; any other operation's
    # realistic bodies are the strategies' realistic draws.
    if style == "realistic" and chosen.id in {op.id for op in task_operations(spec)}:
        fake = kore_faker(seed_value)
        return [fake.create_task_request() for _ in range(count)]
    strategy = valid_requests(spec=spec, operation=chosen)
    return draw(strategy, count=count, seed_value=seed_value)


@click.group(
    epilog="""\b
Examples:
  python -m generators requests --count 5 --seed 1
  python -m generators requests --count 20 --seed 1 --invalid
  python -m generators tasks --count 3 --seed 42 > fixtures/tasks.jsonl
  python -m generators world --cases 20 --tasks-per-case 3 --seed 1 -o world.json
"""
)
def cli() -> None:
    """Generate requests (of any operation) and tasks as JSON lines, derived from the spec."""


@cli.command(
    epilog="""\b
Examples:
  python -m generators requests --count 5 --seed 1
  python -m generators requests --count 5 --seed 1 --style edge-cases
  python -m generators requests --count 20 --seed 1 --invalid
  python -m generators requests --count 5 --operation createTask --invalid
"""
)
@_count
@_seed
@_style
@_operation
@click.option(
    "--invalid",
    is_flag=True,
    help="Requests that each break one documented rule, with the rule (Hypothesis's draws; --style does not apply).",
)
def requests(count: int, seed: int, style: str, operation_id: str | None, invalid: bool) -> None:
    """Print request bodies (or, with --invalid, labelled invalid requests), one JSON object a line."""
    spec = load_spec()
    operation = _chosen(spec, operation_id)
    if invalid:
        strategy = invalid_requests(spec=spec, operation=operation)
        lines = [_invalid_line(bad) for bad in draw(strategy, count=count, seed_value=seed)]
    else:
        bodies = _valid_bodies(style, count=count, seed_value=seed, operation=operation)
        lines = [_line(body) for body in bodies]
    _echo_lines(lines)


@cli.command(
    epilog="""\b
Examples:
  python -m generators tasks --count 3 --seed 42
  python -m generators tasks -n 50 -s 7 --account-id 6639f7bd58c97ffac03b1a2c > tasks.jsonl
"""
)
@_count
@_seed
@_style
@_task_operation
@click.option("--stream-id", default=None, help="The bot (stream) id; derived from the seed by default.")
@click.option("--account-id", default=None, help="The account id; derived from the seed by default.")
def tasks(
    count: int, seed: int, style: str, operation_id: str | None, stream_id: str | None, account_id: str | None
) -> None:
    """Print the tasks the platform would answer to generated requests, one JSON object a line."""
    spec = load_spec()
    try:
        operation = task_operation(spec, resolve_operation(spec, operation_id) if operation_id else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--operation") from None
    ids = SeededIds(seed)
    stream = stream_id or ids.new_id("st", key="cli-stream")
    account = account_id or _account_id(seed)
    caller = Caller.for_app(ids.new_id("cs", key="cli-app"), seed=seed)
    bodies = _valid_bodies(style, count=count, seed_value=seed, operation=operation)
    first = datetime.fromisoformat(seed_sample_task(spec, operation)["createdAt"])
    clocks: list[Callable[[], datetime]] = [FrozenClock(first + i * _STEP) for i in range(len(bodies))]
    _echo_lines(
        _line(
            build_task(
                body,
                stream_id=stream,
                account_id=account,
                caller=caller,
                clock=clock,
                ids=ids,
                spec=spec,
                operation=operation,
            )
        )
        for body, clock in zip(bodies, clocks, strict=True)
    )


@cli.command(
    epilog="""\b
Examples:
  python -m generators world --cases 20 --tasks-per-case 3 --seed 1
  python -m generators world --cases 4 --tasks-per-case 2 --seed 7 -o world.json
"""
)
@click.option("--cases", type=click.IntRange(min=0), default=10, show_default=True, help="How many cases.")
@click.option(
    "--tasks-per-case",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Tasks created for each case.",
)
@_seed
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write here, not to stdout.",
)
def world(cases: int, tasks_per_case: int, seed: int, output: str | None) -> None:
    """Print a world: cases with their tasks in two accounts and two streams (the spec's `World`), as JSON."""
    from generators._world import build_world

    text = json.dumps(
        build_world(cases=cases, tasks_per_case=tasks_per_case, seed=seed), ensure_ascii=False, indent=2
    )
    if output is None:
        click.echo(text)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


def _echo_lines(lines: Any) -> None:
    for line in lines:
        click.echo(line)


if __name__ == "__main__":
    cli()
