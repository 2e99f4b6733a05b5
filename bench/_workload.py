"""What the bench sends: pre-drawn request mixes (from the generators, seeded) replayed by a wrk script,
and the worlds of stored tasks the mock starts from for them.

A workload is a fixed sequence of requests drawn once with a seed: every server, round and store
size gets exactly the same requests in the same order. wrk replays it from a generated Lua script
(each wrk thread starts at its own offset and cycles). updateTask targets are ids of tasks in the
world the mock was started with, in the bench's account and stream, so every update finds its task.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench._sample import ACCOUNT_ID, SampleRequest, sample_request
from bench._wrk import DONE_SCRIPT, lua_string
from spec import ContractSpec, Sequences, unescape_token

# The kinds of request a workload mixes, and the mixes the bench offers (issue 13, item 6: 60% getTasks
# with filters and pages, 25% createTask, 15% updateTask). `createTask` alone is the seed page's sample
# request, as the bench always sent: its figures stay comparable with every earlier run.
MIXES: Mapping[str, Mapping[str, float]] = {
    "createTask": {"createTask": 1.0},
    "mixed": {"getTasks": 0.60, "createTask": 0.25, "updateTask": 0.15},
    "getTasks": {"getTasks": 1.0},
}
SEED_SAMPLE_WORKLOAD = "createTask"
# Requests in one pre-drawn sequence: enough that filters, pages and bodies vary, small enough to draw
# in a few seconds and to hold in every wrk thread.
SEQUENCE_LENGTH = 1000
# The world the mixed and getTasks workloads start from, unless --store-sizes says otherwise.
DEFAULT_WORLD_TASKS = 1000
WORLD_TASKS_PER_CASE = 10
WORLDS_DIR = Path("build") / "bench-worlds"
# Bump when the way worlds are built changes: cached worlds of another build are not reused.
WORLD_BUILD = 1


@dataclass(frozen=True)
class Request:
    """One request of a workload: its operation, method, path and JSON body (headers are shared)."""

    operation: str
    method: str
    path: str
    body: bytes


@dataclass(frozen=True)
class Workload:
    """A named mix, drawn: the requests in order and the headers every request carries."""

    name: str
    requests: tuple[Request, ...]
    headers: Mapping[str, str]

    def counts(self) -> dict[str, int]:
        """Requests per operation in the sequence."""
        found: dict[str, int] = {}
        for request in self.requests:
            found[request.operation] = found.get(request.operation, 0) + 1
        return found

    def distinct(self) -> list[Request]:
        """One request per distinct (operation, path, body), in order of first appearance."""
        return list({(r.operation, r.path, r.body): r for r in self.requests}.values())


def bench_scope(contract: ContractSpec) -> tuple[str, str]:
    """The account and stream the bench's requests name: the sample's account header and its path's stream."""
    sample = sample_request(contract, "token")
    stream = contract.operation("createTask").match_path(sample.path) or {}
    return ACCOUNT_ID, str(next(iter(stream.values())))


def kinds_of(mix: Mapping[str, float], length: int, seed: int) -> list[str]:
    """`length` operation names in the mix's proportions (rounded), shuffled with the seed."""
    names = sorted(mix)
    counts = {name: round(mix[name] * length) for name in names}
    # Rounding may leave the total off by one or two: the largest share absorbs it.
    largest = max(names, key=lambda n: mix[n])
    counts[largest] += length - sum(counts.values())
    kinds = [name for name in names for _ in range(counts[name])]
    random.Random(seed).shuffle(kinds)
    return kinds


def draw_workload(
    contract: ContractSpec,
    sample: SampleRequest,
    name: str,
    *,
    stored: Mapping[str, Sequence[str]],
    seed: int = 0,
    length: int = SEQUENCE_LENGTH,
) -> Workload:
    """The workload `name` of MIXES, drawn with `seed`, over the `stored` ids of each collection (the
    world's, in the bench's scope): an update names a stored object of its collection, and a create
    whose object joins a parent (a task its case, relation `joins-parent`) names a stored parent."""
    mix = MIXES[name]
    if name == SEED_SAMPLE_WORKLOAD:
        only = Request("createTask", "POST", sample.path, sample.body)
        return Workload(name, (only,), sample.headers)
    from generators import valid_requests  # Hypothesis and Faker: only when a drawn workload is asked
    from generators.__main__ import draw

    kinds = kinds_of(mix, length, seed)
    needed = {kind: kinds.count(kind) for kind in mix}
    _, stream = bench_scope(contract)
    sequences = Sequences(contract)
    updates = {c.update: c for c in sequences.collections if c.update and c.path_id}
    for kind in needed:
        if kind in updates and not stored.get(updates[kind].name):
            raise ValueError(
                f"workload {name!r} sends {kind}, but the world holds no {updates[kind].name} in the bench's scope"
            )
    drawn: dict[str, list[Request]] = {}
    rng = random.Random(seed)
    for offset, (kind, count) in enumerate(sorted(needed.items())):
        operation = contract.operation(kind)
        bodies = draw(valid_requests(spec=contract, operation=kind), count=count, seed_value=seed + offset)
        requests = []
        for body in bodies:
            values = {operation.path_parameters[0]: stream}  # every operation's path starts at the stream
            collection = updates.get(kind)
            if collection is not None and collection.path_id:
                values[collection.path_id] = rng.choice(list(stored[collection.name]))
            for relation in sequences.applying("joins-parent", kind):
                parents = stored.get(relation.parent or "")
                if parents and isinstance(body, dict):
                    _set_pointer(body, relation.pointers[0], rng.choice(list(parents)))
            path = operation.path(**{k: v for k, v in values.items() if k in operation.path_parameters})
            requests.append(Request(kind, operation.method.upper(), path, orjson.dumps(body)))
        drawn[kind] = requests
    position = dict.fromkeys(needed, 0)
    ordered = []
    for kind in kinds:
        ordered.append(drawn[kind][position[kind]])
        position[kind] += 1
    return Workload(name, tuple(ordered), sample.headers)


def _set_pointer(document: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at a JSON pointer, making the objects on the way."""
    tokens = [unescape_token(t) for t in pointer.split("/")[1:]]
    for token in tokens[:-1]:
        document = document.setdefault(token, {})
    document[tokens[-1]] = value


def wrk_script(workload: Workload, *, close: bool = False) -> str:
    """A wrk script replaying the workload (each thread from its own offset); `close` asks the server to
    close the connection after every answer (`Connection: close`), as a client without keep-alive does."""
    headers = dict(workload.headers)
    if close:
        headers["Connection"] = "close"
    lines = [
        f"-- Generated by bench/_workload.py: workload {workload.name}, {len(workload.requests)} requests"
        + (", Connection: close." if close else ", keep-alive."),
        "local headers = {}",
        *(f"headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()),
        "local raw = {",
        *(
            f"  {{{lua_string(r.method)}, {lua_string(r.path)}, {lua_string(r.body)}}},"
            for r in workload.requests
        ),
        "}",
        _REPLAY,
        DONE_SCRIPT,
    ]
    return "\n".join(lines) + "\n"


# setup() runs in the main Lua state once per thread; init() in each thread's own state.
_REPLAY = """
local thread_count = 0
setup = function(thread)
  thread:set("offset", thread_count * 97)
  thread_count = thread_count + 1
end

local formatted = {}
local position = 0
init = function(args)
  for i, r in ipairs(raw) do
    formatted[i] = wrk.format(r[1], r[2], headers, r[3])
  end
  position = (tonumber(offset) or 0) % #formatted
end

request = function()
  position = position % #formatted + 1
  return formatted[position]
end
"""


# -- worlds -----------------------------------------------------------------------------------------


def world_path(root: Path, tasks: int, seed: int) -> Path:
    """Where the world of `tasks` tasks (this seed, this build) is cached under `root`."""
    return root / WORLDS_DIR / f"tasks-{tasks}-seed-{seed}-build-{WORLD_BUILD}.json"


def bench_world(contract: ContractSpec, tasks: int, *, seed: int = 0) -> dict[str, Any]:
    """A World document of `tasks` tasks (and their cases), all in the bench's account and stream.

    `generators.build_world` builds the cases and tasks (every object its builder's, ten tasks per
    case); its accounts and streams are then renamed to the bench's, everywhere they appear, as the
    mock does with its own start world. Trimmed to exactly `tasks` tasks (a case lists only its
    kept tasks).
    """
    from generators import build_world

    cases = max(1, -(-tasks // WORLD_TASKS_PER_CASE))
    world = build_world(cases=cases, tasks_per_case=WORLD_TASKS_PER_CASE, seed=seed, spec=contract)
    kept = world["tasks"][:tasks]
    kept_ids = {t["_id"] for t in kept}
    for case in world["cases"]:
        case["taskIds"] = [i for i in case["taskIds"] if i in kept_ids]
    world["tasks"] = kept
    account, stream = bench_scope(contract)
    documents = [*world["cases"], *world["tasks"]]
    renames = {d["accountId"]: account for d in documents} | {d["iId"]: stream for d in documents}
    text = orjson.dumps(world)
    for old, new in renames.items():
        if old != new:
            text = text.replace(orjson.dumps(old), orjson.dumps(new))
    renamed: dict[str, Any] = orjson.loads(text)
    return renamed


def cached_world(contract: ContractSpec, root: Path, tasks: int, *, seed: int = 0) -> Path:
    """The world file of `tasks` tasks, built once and kept under build/bench-worlds/."""
    path = world_path(root, tasks, seed)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(orjson.dumps(bench_world(contract, tasks, seed=seed)))
        partial.replace(path)
    return path


def world_ids(path: Path, contract: ContractSpec) -> dict[str, list[str]]:
    """Ids of the world's objects in the bench's scope, by collection (what updates and creates name)."""
    account, stream = bench_scope(contract)
    world = orjson.loads(path.read_bytes())
    return {
        c.name: [
            d["_id"]
            for d in world.get(c.name, [])
            if d.get("accountId") == account and d.get("iId") == stream
        ]
        for c in Sequences(contract).collections
    }


def fingerprint(workload: Workload) -> str:
    """A short digest of the requests, so a reader can tell two runs sent the same sequence."""
    digest = hashlib.sha256()
    for r in workload.requests:
        digest.update(r.method.encode() + b" " + r.path.encode() + b"\n" + r.body + b"\n")
    return digest.hexdigest()[:12]
