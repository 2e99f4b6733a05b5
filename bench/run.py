"""Benchmark the mock with its production server: wrk, the seed page's sample request, a valid JWT.

Prints requests/s, p50, p99, non-2xx answers and the memory of each gunicorn worker (RSS, PSS and
private, from /proc/PID/smaps_rollup: RSS counts the pages shared with the master in every worker) for every round,
their median and spread, each as a fraction of the ceiling's (a bare gunicorn app answering a fixed
3 KB task JSON with the mock's worker model, measured in the same run), the startup time (process
start to the first 200), and on request: a drawn workload instead of the sample (mixed: getTasks
with filters and pages, createTask, updateTask of stored tasks), keep-alive and `Connection: close`
clients, other servers and worker models side by side, Prism's figures (rounds interleaved), the
getTasks curve over 1k/10k/100k stored tasks, the latency of a request while idle and stalled
connections are held open, a soak of the mock behind the proxy, the contract tests' throughput next
to Schemathesis's, and a py-spy profile of the workers. Every block ends with the command that
reproduces it.

Run from the repository root: `python -m bench --help`, or `python bench/run.py --help`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click
import orjson

from bench import _ceiling, _contract, _idle, _profile, _servers, _soak, _workload, _wrk
from bench._sample import APP_ID, BENCH_SECRET, SampleRequest, mint_jwt, sample_request
from spec import load_spec

# Issue 6's targets, with request validation, auth and the response self-check on.
TARGET_RPS = 1500.0
TARGET_P99_MS = 25.0
TARGET_VS_PRISM = 5.0
TARGET_STARTUP_S = 1.5
TARGET_RSS_MB = 100.0
# Issue 13's targets, as fractions of the ceiling's requests/s in the same run; and the store curve's.
TARGET_VS_CEILING = {"createTask": 0.30, "mixed": 0.25}
TARGET_STORE_P99_GROWTH = 2.0
# Client modes: wrk's own (keep the connection unless the server closes it), and a client that asks
# for a new connection per request.
KEEPALIVE = "keepalive"
CLOSE = "close"
# Issue 15's candidate servers, as --compare-workers entries (bench/_variant.py), with the module each needs.
CANDIDATES = (
    ("gthread/32", "gunicorn"),
    ("gevent/1", "gevent"),
    ("waitress/8", "waitress"),
    ("granian/4", "granian"),
)


@dataclass
class Round:
    """One wrk run against one target."""

    target: str
    round: int
    result: _wrk.WrkResult
    memory: list[_servers.Memory] = field(default_factory=list)

    @property
    def rss_mb(self) -> list[float]:
        return [m.rss_mb for m in self.memory]


def memory_max(rounds: Sequence[Round]) -> dict[str, float | None]:
    """The largest RSS, PSS and private MB of any worker in any of the rounds (private None if unread)."""
    every = [m for r in rounds for m in r.memory]
    private = [m.private_mb for m in every if m.private_mb is not None]
    return {
        "rss_max_mb": max((x for r in rounds for x in r.rss_mb), default=0.0),
        "pss_max_mb": max((m.pss_mb for m in every), default=0.0),
        "private_max_mb": max(private) if private else None,
    }


def memory_cell(figures: Mapping[str, Any]) -> str:
    """`rss/pss/private` maxima of a summary entry, whole MB."""
    rss, pss, private = (figures.get(k) for k in ("rss_max_mb", "pss_max_mb", "private_max_mb"))
    return "/".join("-" if x is None else f"{x:.0f}" for x in (rss, pss, private))


@dataclass
class Run:
    """One thing measured each round: a server, under one client mode, with its wrk script."""

    label: str
    target: Target
    script: Path
    client: str
    connections: int | None = None  # wrk connections, when not --connections


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians, and the ratio of each round's pair."""

    median: float
    per_round: list[float]


def ratio_to(values: Sequence[float], against: Sequence[float]) -> Ratio:
    """median(values) / median(against), and round by round (rounds paired in order)."""
    if not values or not against or statistics.median(against) == 0:
        return Ratio(0.0, [])
    per_round = [v / a for v, a in zip(values, against, strict=False) if a]
    return Ratio(statistics.median(values) / statistics.median(against), per_round)


def _round_memory(one: Round) -> dict[str, list[float | None]]:
    """A round's memory per worker, for --json."""
    return {
        "rss_mb": list(one.rss_mb),
        "pss_mb": [m.pss_mb for m in one.memory],
        "private_mb": [m.private_mb for m in one.memory],
    }


def _worker_specs(option: str | None, tell: Callable[[str], None]) -> list[str]:
    """--compare-workers entries; `candidates` stands for issue 15's candidates that are installed."""
    specs: list[str] = []
    for spec in filter(None, (s.strip() for s in (option or "").split(","))):
        if spec != "candidates":
            specs.append(spec)
            continue
        for candidate, module in CANDIDATES:
            if importlib.util.find_spec(module) is None:
                tell(f"candidate {candidate} skipped: `pip install {module}` first")
            else:
                specs.append(candidate)
    return specs


def _short(path: Path) -> str:
    """A path under the repository relative to it; any other as it is."""
    if path.is_absolute() and path.is_relative_to(_servers.ROOT):
        return str(path.relative_to(_servers.ROOT))
    return str(path)


@dataclass
class Target:
    """A server measured in this run: how to start it, and the server once started."""

    name: str
    command: list[str]
    server: _servers.Server | None = None
    startup_s: float | None = None


def say(text: str = "") -> None:
    """One line of the report."""
    click.echo(text)


def reproduce_command() -> str:
    """The command that ran this benchmark, as the reader would type it."""
    head = ["python", "bench/run.py"] if __package__ in (None, "") else ["python", "-m", "bench"]
    return shlex.join([*head, *sys.argv[1:]])


def spread(values: Sequence[float], unit: str = "", digits: int = 0) -> str:
    """`median [min-max]` of a series."""
    if not values:
        return "-"
    fmt = f"{{:.{digits}f}}"
    med, low, high = statistics.median(values), min(values), max(values)
    return f"{fmt.format(med)}{unit} [{fmt.format(low)}-{fmt.format(high)}]"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--rounds", type=int, default=5, show_default=True, help="Measured wrk rounds per target (0: none)."
)
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds per round.")
@click.option(
    "--warmup", type=float, default=3.0, show_default=True, help="Seconds of unmeasured load per target."
)
@click.option("--connections", type=int, default=32, show_default=True, help="wrk connections.")
@click.option(
    "--wrk-threads",
    type=int,
    default=1,
    show_default=True,
    help="wrk threads. One drives 32 connections at thousands of requests/s; on a 2-core machine a second "
    "one only takes CPU from the workers (measured: about 3% fewer requests/s, 2 ms more at p99).",
)
@click.option("--workers", type=int, default=None, help="Mock workers.  [default: serve's default]")
@click.option(
    "--threads", type=int, default=None, help="Threads per mock worker.  [default: serve's default]"
)
@click.option(
    "--worker-class",
    default=None,
    help="Measure the mock under this gunicorn worker class (bench/_variant.py) instead of `serve`'s own.",
)
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also measure `serve` of another checkout (e.g. a git worktree of an older commit), interleaved.",
)
@click.option(
    "--compare-workers",
    default=None,
    metavar="CLASS/THREADS,...",
    help="Also measure the mock under these servers (bench/_variant.py), rounds interleaved: gunicorn worker "
    "classes (sync/1,gthread/32,gevent/1,tornado/1), waitress/THREADS, granian/THREADS; `candidates` stands for "
    "issue 15's: " + ",".join(c for c, _ in CANDIDATES) + ".",
)
@click.option(
    "--vs-prism", is_flag=True, help="Also measure `prism mock -d` on the same spec, rounds interleaved."
)
@click.option("--prism-static", is_flag=True, help="With --vs-prism: also Prism's static mode (no -d).")
@click.option("--prism-bin", default=None, help="A prism command to use instead of .cache/npm's.")
@click.option(
    "--startup-runs", type=int, default=5, show_default=True, help="Startups timed (median); 0 to skip."
)
@click.option(
    "--in-process",
    is_flag=True,
    help="The mock's own cost per request without HTTP: the sample request through the WSGI app (and "
    "through --baseline's), microseconds per call.",
)
@click.option(
    "--in-process-calls",
    type=int,
    default=3000,
    show_default=True,
    help="Timed calls per run of --in-process.",
)
@click.option("--contract", is_flag=True, help="Contract tests' requests/s next to Schemathesis's.")
@click.option("--contract-rounds", type=int, default=3, show_default=True, help="Runs of each, interleaved.")
@click.option(
    "--contract-examples", type=int, default=100, show_default=True, help="--max-examples of both tools."
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also record the workers with py-spy during one extra round: FILE gets the collapsed stacks.",
)
@click.option(
    "--profile-wall",
    is_flag=True,
    help="With --profile: sample every busy thread (waits included), not only the one holding the GIL.",
)
@click.option(
    "--workload",
    type=click.Choice(list(_workload.MIXES)),
    default=_workload.SEED_SAMPLE_WORKLOAD,
    show_default=True,
    help="What wrk sends: createTask (the seed page's sample, as always), mixed (60% getTasks with filters and "
    "pages, 25% createTask, 15% updateTask of stored tasks) or getTasks; drawn from the generators with --seed.",
)
@click.option(
    "--world-tasks",
    type=click.IntRange(min=1),
    default=_workload.DEFAULT_WORLD_TASKS,
    show_default=True,
    help="With --workload mixed or getTasks: tasks stored in the bench's account and stream at start (--world).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the drawn workloads and worlds."
)
@click.option(
    "--ceiling/--no-ceiling",
    default=True,
    show_default=True,
    help="Also measure a bare gunicorn app answering a fixed 3 KB task JSON (same workers, worker class and "
    "threads as the mock), rounds interleaved; every server's req/s is printed as a fraction of it.",
)
@click.option(
    "--flask-ceiling",
    is_flag=True,
    help="Also measure the ceiling's fixed answer served through a Flask view with flask-cors (the mock's "
    "framework, nothing of the mock): what the framework alone leaves of the ceiling.",
)
@click.option(
    "--clients",
    default=KEEPALIVE,
    show_default=True,
    metavar="keepalive,close",
    help="Client modes measured: keepalive (wrk keeps each connection unless the server closes it) and/or "
    "close (every request asks `Connection: close`).",
)
@click.option(
    "--store-sizes",
    default=None,
    metavar="N,N,...",
    help="The getTasks curve: the mock with N stored tasks in the bench's account (e.g. 1000,10000,100000), "
    "getTasks with filters and pages; p50/p99 and RSS per N, rounds interleaved.",
)
@click.option(
    "--store-connections",
    type=click.IntRange(min=1),
    default=None,
    help="wrk connections of the --store-sizes rounds (fewer: less queueing in the p99).  [default: --connections]",
)
@click.option(
    "--idle-connections",
    type=click.IntRange(min=0),
    default=None,
    is_flag=False,
    flag_value=_idle.DEFAULT_IDLE,
    metavar="[N]",
    help=f"Latency of sequential createTask requests while N (default {_idle.DEFAULT_IDLE}) idle connections, "
    "then N/2 half-header ones, are held open; and whether the server closes them, when.",
)
@click.option(
    "--idle-requests",
    type=click.IntRange(min=1),
    default=_idle.DEFAULT_REQUESTS,
    show_default=True,
    help="Sequential requests timed by --idle-connections.",
)
@click.option(
    "--idle-watch",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="Seconds --idle-connections watches the held connections for the server closing them.",
)
@click.option(
    "--soak",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Run the mock behind the proxy under the mixed workload this long; every --soak-interval print "
    "requests, errors, RSS and open files of each worker, and the size of every file they write.",
)
@click.option(
    "--soak-workload",
    type=click.Choice(sorted(_workload.MIXES)),
    default="mixed",
    show_default=True,
    help="What the soak sends: mixed (its store grows with every create) or getTasks (a store that does not "
    "grow: memory must stay flat).",
)
@click.option(
    "--soak-interval",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds per report.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every figure here.",
)
def main(**options: Any) -> None:
    """Benchmark the mock (gunicorn, 2 workers, validation + auth + self-check + journal on) with wrk.

    \b
    Examples:
      python -m bench                                  # 5 rounds of 10 s, startup time
      python -m bench --vs-prism --rounds 5            # Prism -d measured in the same run, interleaved
      python -m bench --contract --rounds 0 --startup-runs 0
      python -m bench --profile build/mock.collapsed --rounds 3
      python -m bench --worker-class sync --threads 1  # the worker-model comparison
      python -m bench --workload mixed --clients keepalive,close --rounds 3
      python -m bench --rounds 0 --startup-runs 0 --store-sizes 1000,10000,100000
      python -m bench --rounds 3 --startup-runs 0 --compare-workers candidates --clients keepalive,close \\
          --idle-connections 64
      python -m bench --rounds 0 --startup-runs 0 --soak 1800
    """
    Bench(**options).run()


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class Bench:
    """One benchmark run; figures are printed as they come and collected for --json."""

    def __init__(self, **options: Any) -> None:
        self.o = options
        self.command = reproduce_command()
        self.work = Path(tempfile.mkdtemp(prefix="kore-bench-"))
        self.contract = load_spec()
        self.secret = BENCH_SECRET
        self.token = mint_jwt(self.secret)
        self.sample: SampleRequest = sample_request(self.contract, self.token)
        self.rounds: list[Round] = []
        self.report: dict[str, Any] = {
            "command": self.command,
            "options": {k: str(v) for k, v in options.items()},
        }
        self.targets: list[Target] = []
        self.started: list[Target] = []

    # -- orchestration ----------------------------------------------------------------------------

    def run(self) -> None:
        """Everything the options ask for, in order; servers are always stopped (on SIGTERM too: the
        servers run in process groups of their own, which a signal to the bench does not reach)."""
        signal.signal(signal.SIGTERM, _exit_on_signal)
        self._header()
        try:
            if self.o["rounds"] > 0 or self.o["profile"]:
                self._throughput()
            if self.o["idle_connections"] is not None:
                self._idle()
            if self.o["store_sizes"]:
                self._store_curve()
            if self.o["soak"]:
                self._soak()
            if self.o["startup_runs"] > 0:
                self._startup()
            if self.o["in_process"]:
                self._in_process()
            if self.o["contract"]:
                self._contract()
        finally:
            for target in self.targets:
                if target.server is not None:
                    target.server.stop()
        if self.o["json_out"]:
            self.o["json_out"].write_bytes(
                orjson.dumps(self.report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
            )
            say(f"figures written to {self.o['json_out']}")
        say(f"server logs in {self.work}")

    def _header(self) -> None:
        cores = os.cpu_count()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        say(
            f"kore mock benchmark - {platform.python_implementation()} {platform.python_version()}, {cores} cores, "
            f"load average {load} at start (other processes on this machine count)"
        )
        self.report["machine"] = {"cores": cores, "load_at_start": os.getloadavg()}

    def _mock_command(self, port: int, extra: Sequence[str] = ()) -> list[str]:
        if self.o["worker_class"]:
            return _servers.variant_command(
                port,
                self.secret,
                worker_class=self.o["worker_class"],
                workers=self.o["workers"] or 2,
                threads=self.o["threads"] or 1,
                extra=[
                    *extra,
                    *([] if "--state-file" in extra else ["--state-file", str(self._state_file("mock"))]),
                ],
            )
        return _servers.mock_command(
            port, self.secret, workers=self.o["workers"], threads=self.o["threads"], extra=list(extra)
        )

    def _state_file(self, name: str) -> Path:
        """A fresh state file for one server, in this run's work directory."""
        path = self.work / f"{name.replace('/', '-x')}-{len(self.targets)}.sqlite3"
        path.unlink(missing_ok=True)
        return path

    def _start(
        self,
        name: str,
        command_of: Callable[[int], list[str]],
        cwd: Path = _servers.ROOT,
        *,
        ready_timeout_s: float = 60.0,
    ) -> Target:
        port = _servers.free_port()
        command = command_of(port)
        target = Target(name, command)
        self.targets.append(target)
        target.server = _servers.start(name, command, port, self.work, cwd=cwd)
        target.startup_s = target.server.wait_ready(self.sample, timeout_s=ready_timeout_s)
        return target

    # -- workloads and worlds -------------------------------------------------------------------

    def _world_extra(self) -> list[str]:
        """`--world FILE` for workloads that read or update stored tasks (the bench's scope), else none."""
        if self.o["workload"] == _workload.SEED_SAMPLE_WORKLOAD:
            return []
        return ["--world", str(self._world(self.o["world_tasks"]))]

    def _world(self, tasks: int) -> Path:
        started = time.perf_counter()
        path = _workload.world_path(_servers.ROOT, tasks, self.o["seed"])
        fresh = not path.exists()
        _workload.cached_world(self.contract, _servers.ROOT, tasks, seed=self.o["seed"])
        if fresh:
            say(f"built the world of {tasks} tasks in {time.perf_counter() - started:.1f} s: {_short(path)}")
        return path

    def _drawn(self, name: str, stored: Mapping[str, Sequence[str]]) -> _workload.Workload:
        started = time.perf_counter()
        drawn = _workload.draw_workload(self.contract, self.sample, name, stored=stored, seed=self.o["seed"])
        counts = ", ".join(f"{op} {n}" for op, n in sorted(drawn.counts().items()))
        say(
            f"workload {name}: {len(drawn.requests)} requests ({counts}), drawn with seed {self.o['seed']} in "
            f"{time.perf_counter() - started:.1f} s, sequence {_workload.fingerprint(drawn)}"
        )
        return drawn

    def _scripts(self, workload: _workload.Workload) -> dict[str, Path]:
        """The wrk script of each client mode asked for."""
        scripts = {}
        for client in self._clients():
            path = self.work / f"{workload.name}-{client}.lua"
            path.write_text(_workload.wrk_script(workload, close=client == CLOSE))
            scripts[client] = path
        return scripts

    def _clients(self) -> list[str]:
        clients = [c.strip() for c in self.o["clients"].split(",") if c.strip()]
        unknown = sorted(set(clients) - {KEEPALIVE, CLOSE})
        if unknown or not clients:
            raise click.BadParameter(
                f"{unknown or clients}: use {KEEPALIVE}, {CLOSE} or both", param_hint="--clients"
            )
        return clients

    # -- throughput -------------------------------------------------------------------------------

    def _servers_under_test(self) -> list[Target]:
        """The mock and every server the options add, started once (throughput and idle share them)."""
        if self.started:
            return self.started
        world = self._world_extra()
        targets = [self._start("mock", lambda p: self._mock_command(p, world))]
        if self.o["baseline"]:
            # The same serve command, run in another checkout (its own defaults apply).
            baseline: Path = self.o["baseline"]
            targets.append(
                self._start(
                    "baseline",
                    lambda p: _servers.mock_command(p, self.secret, workers=None, threads=None, extra=world),
                    cwd=baseline.resolve(),
                )
            )
        for spec in _worker_specs(self.o["compare_workers"], say):
            worker_class, _, threads = spec.partition("/")
            name = f"{worker_class.rsplit('.', 1)[-1]}/{threads or 1}"

            def variant(
                port: int, wc: str = worker_class, th: int = int(threads or 1), n: str = name
            ) -> list[str]:
                workers = 1 if wc == "waitress" else self.o["workers"] or 2
                extra = [*world, "--state-file", str(self._state_file(n))]
                return _servers.variant_command(
                    port, self.secret, worker_class=wc, workers=workers, threads=th, extra=extra
                )

            targets.append(self._start(name, variant))
        self.started = targets
        return targets

    def _ceiling_target(self, *, flask: bool = False) -> Target:
        workers = self.o["workers"] or 2
        if self.o["worker_class"] and self.o["worker_class"] not in ("waitress", "granian"):
            model = _ceiling.WorkerModel(self.o["worker_class"], self.o["threads"] or 1, "--worker-class")
        else:
            model = _ceiling.mock_worker_model(workers, self.o["threads"])
        name = "flask-ceiling" if flask else "ceiling"
        say(
            f"{name}: gunicorn, {workers} workers of {model.worker_class} x {model.threads} threads "
            f"({model.source}), a fixed {_ceiling.CEILING_BYTES}-byte task JSON"
            + (" from a Flask view with flask-cors" if flask else "")
        )
        return self._start(
            name,
            lambda p: _servers.ceiling_command(
                p, worker_class=model.worker_class, workers=workers, threads=model.threads, flask=flask
            ),
        )

    def _throughput(self) -> None:
        wrk = _wrk.ensure_wrk(say)
        targets = list(self._servers_under_test())
        stored = (
            _workload.world_ids(self._world(self.o["world_tasks"]), self.contract)
            if self.o["workload"] != _workload.SEED_SAMPLE_WORKLOAD
            else {}
        )
        workload = self._drawn(self.o["workload"], stored)
        scripts = self._scripts(workload)
        if self.o["vs_prism"]:
            prism = _servers.ensure_prism(say, self.o["prism_bin"])
            spec_file = self.work / "openapi.json"
            spec_file.write_text(self.contract.bundle_json())
            targets.append(
                self._start(
                    "prism-dynamic", lambda p: _servers.prism_command(prism, spec_file, p, dynamic=True)
                )
            )
            if self.o["prism_static"]:
                targets.append(
                    self._start(
                        "prism-static", lambda p: _servers.prism_command(prism, spec_file, p, dynamic=False)
                    )
                )
        if self.o["ceiling"]:
            targets.append(self._ceiling_target())
        if self.o["flask_ceiling"]:
            targets.append(self._ceiling_target(flask=True))
        clients = self._clients()
        runs = [
            Run(
                target.name if len(clients) == 1 else f"{target.name} [{client}]",
                target,
                scripts[client],
                client,
            )
            for target in targets
            for client in clients
        ]
        for target in targets:
            assert target.server is not None
            kept, connection = _servers.keeps_alive(target.server.port, self.sample)
            say(
                f"{target.name}: keep-alive {'yes' if kept else 'no'} (first answer's Connection: {connection})"
            )
        self.report["keep_alive"] = {
            t.name: _servers.keeps_alive(t.server.port, self.sample)[0] for t in targets if t.server
        }
        measured = self._interleave(wrk, runs, self.o["rounds"])
        if self.o["rounds"] > 0:
            self._throughput_summary(runs, measured, self._wrk_for(wrk, runs[0], self.o["duration"]))
        if self.o["profile"]:
            self._profile(runs[0], self._wrk_for(wrk, runs[0], self.o["duration"]))

    def _wrk_for(self, wrk: str, run: Run, duration: float) -> list[str]:
        assert run.target.server is not None
        return _wrk.wrk_command(
            wrk,
            run.target.server.base_url + self.sample.path,
            run.script,
            duration_s=duration,
            connections=run.connections or self.o["connections"],
            threads=self.o["wrk_threads"],
        )

    def _interleave(self, wrk: str, runs: list[Run], rounds: int) -> list[Round]:
        """Warm every run up, then `rounds` rounds of every run, the order turning each round."""
        for run in runs:
            say(f"warming up {run.label} ({self.o['warmup']:g} s)")
            _wrk.run_wrk(self._wrk_for(wrk, run, self.o["warmup"]))
        say()
        width = max(14, *(len(r.label) for r in runs))
        header = (
            f"{'round':>5}  {'target':<{width}} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'non-2xx':>8} {'sock err':>8}  MB per worker ({_servers.MEMORY_COLUMNS})"
        )
        if rounds > 0:
            say(header)
            say("-" * len(header))
        measured: list[Round] = []
        targets = list({id(r.target): r.target for r in runs}.values())
        for index in range(1, rounds + 1):
            # Interleaved: a change in the machine's load hits every target alike. The order turns each
            # round, so no target always runs right after the same other one.
            shift = (index - 1) % len(runs)
            for run in runs[shift:] + runs[:shift]:
                assert run.target.server is not None
                _settle(targets)
                result = _wrk.run_wrk(self._wrk_for(wrk, run, self.o["duration"]))
                memory = run.target.server.worker_memory()
                one = Round(run.label, index, result, memory)
                measured.append(one)
                self.rounds.append(one)
                rss = " ".join(m.cell() for m in one.memory)
                say(
                    f"{index:>5}  {run.label:<{width}} {result.rps:>8.0f} {result.p50_ms:>8.1f} "
                    f"{result.p99_ms:>8.1f} {result.max_ms:>8.1f} {result.non2xx:>8} {result.socket_errors:>8}  {rss}"
                )
        return measured

    def _throughput_summary(self, runs: list[Run], measured: list[Round], example_wrk: list[str]) -> None:
        say()
        width = max(14, *(len(r.label) for r in runs))
        ceiling = {r.client: r.label for r in runs if r.target.name == "ceiling"}
        say(
            f"{'target':<{width}} {'req/s median [min-max]':>26} {'p50 ms':>20} {'p99 ms':>22} {'non-2xx':>8} "
            f"{'MB ' + _servers.MEMORY_COLUMNS:>19}  {'vs ceiling' if ceiling else ''}"
        )
        summary: dict[str, Any] = {"workload": self.o["workload"]}
        for run in runs:
            rounds = [r for r in measured if r.target == run.label]
            rps = [r.result.rps for r in rounds]
            p50 = [r.result.p50_ms for r in rounds]
            p99 = [r.result.p99_ms for r in rounds]
            non2xx = sum(r.result.non2xx for r in rounds)
            memory = memory_max(rounds)
            entry: dict[str, Any] = {
                "command": shlex.join(_servers._shorten(run.target.command)),
                "client": run.client,
                "rounds": [asdict(r.result) | {"rps": r.result.rps, **_round_memory(r)} for r in rounds],
                "rps_median": statistics.median(rps),
                "p50_median_ms": statistics.median(p50),
                "p99_median_ms": statistics.median(p99),
                "non2xx": non2xx,
                "socket_errors": sum(r.result.socket_errors for r in rounds),
                **memory,
            }
            fraction = ""
            if run.client in ceiling and run.target.name != "ceiling":
                against = [r.result.rps for r in measured if r.target == ceiling[run.client]]
                ratio = ratio_to(rps, against)
                entry["vs_ceiling"] = ratio.median
                entry["vs_ceiling_per_round"] = ratio.per_round
                digits = 2 if ratio.median >= 0.1 else 3  # a slow mock's fraction still shows
                fraction = f"{ratio.median:.{digits}f}x (per round {spread(ratio.per_round, 'x', digits)})"
            say(
                f"{run.label:<{width}} {spread(rps):>26} {spread(p50, digits=1):>20} {spread(p99, digits=1):>22} "
                f"{non2xx:>8} {memory_cell(entry):>19}  {fraction}"
            )
            summary[run.label] = entry
        mock = [r.result.rps for r in measured if r.target == runs[0].label]
        prism = [r.result.rps for r in measured if r.target == "prism-dynamic"]
        if prism:
            ratio = ratio_to(mock, prism)
            say(f"mock / prism -d: {ratio.median:.1f}x (per round {spread(ratio.per_round, 'x', 1)})")
            summary["ratio_vs_prism_dynamic"] = ratio.median
            summary["ratio_per_round"] = ratio.per_round
        self.report.setdefault("throughput", {})[self.o["workload"]] = summary
        self._verdicts(summary, [r.label for r in runs if r.target.name == "mock"])
        self._by_operation(list({id(r.target): r.target for r in runs}.values()))
        say(
            f"  each round: {shlex.join(_servers._shorten(example_wrk))}  (script: {runs[0].script.name}, generated)"
        )
        for target in list({id(r.target): r.target for r in runs}.values()):
            where = f"  (in {self.o['baseline']})" if target.name == "baseline" else ""
            say(f"  {target.name}: {shlex.join(_servers._shorten(target.command))}{where}")
        say(f"reproduce: {self.command}")

    def _verdicts(self, summary: dict[str, Any], mock_labels: list[str]) -> None:
        for label in mock_labels:
            mock = summary[label]
            rows = []
            if self.o["workload"] == _workload.SEED_SAMPLE_WORKLOAD:
                rows += [
                    (
                        f">= {TARGET_RPS:.0f} req/s",
                        mock["rps_median"] >= TARGET_RPS,
                        f"{mock['rps_median']:.0f}",
                    ),
                    (
                        f"p99 <= {TARGET_P99_MS:.0f} ms",
                        mock["p99_median_ms"] <= TARGET_P99_MS,
                        f"{mock['p99_median_ms']:.1f} ms",
                    ),
                ]
            rows += [
                (
                    f"RSS <= {TARGET_RSS_MB:.0f} MB/worker",
                    mock["rss_max_mb"] <= TARGET_RSS_MB,
                    f"{mock['rss_max_mb']:.0f} MB (PSS {mock['pss_max_mb']:.0f} MB)",
                ),
                ("no non-2xx answers", mock["non2xx"] == 0, str(mock["non2xx"])),
            ]
            bound = TARGET_VS_CEILING.get(self.o["workload"])
            if "vs_ceiling" in mock and bound is not None:
                rows.append(
                    (
                        f">= {bound:.2f}x the ceiling",
                        mock["vs_ceiling"] >= bound,
                        f"{mock['vs_ceiling']:.2f}x",
                    )
                )
            if "ratio_vs_prism_dynamic" in summary and label == mock_labels[0]:
                ratio = summary["ratio_vs_prism_dynamic"]
                rows.append(
                    (f">= {TARGET_VS_PRISM:.0f}x prism -d", ratio >= TARGET_VS_PRISM, f"{ratio:.1f}x")
                )
            say(
                f"targets, {label} (medians): "
                + "; ".join(f"{name}: {value} {'met' if ok else 'NOT met'}" for name, ok, value in rows)
            )

    def _by_operation(self, targets: list[Target]) -> None:
        """Statuses by operation in the last entries of each mock's journal (wrk counts only the total)."""
        found: dict[str, dict[str, dict[int, int]]] = {}
        for target in targets:
            if target.server is None or target.name.startswith(("prism", "ceiling", "flask-ceiling")):
                continue
            try:
                entries = _contract.journal_entries(target.server.base_url)
            except OSError:
                continue
            counts: dict[str, dict[int, int]] = {}
            for entry in entries:
                matched = self.contract.match(str(entry.get("method", "POST")), str(entry.get("path", "")))
                operation = getattr(getattr(matched, "operation", None), "id", None) or "(other)"
                status = int(str(entry.get("status", 0)))
                counts.setdefault(operation, {})
                counts[operation][status] = counts[operation].get(status, 0) + 1
            found[target.name] = counts
            shown = "; ".join(
                f"{op} " + " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()))
                for op, statuses in sorted(counts.items())
            )
            bad = sum(
                n for statuses in counts.values() for code, n in statuses.items() if not 200 <= code < 300
            )
            say(
                f"  {target.name}: statuses by operation, last {len(entries)} journal entries: {shown}"
                + (f"  <- {bad} non-2xx: a bug to report" if bad else "")
            )
        self.report["statuses_by_operation"] = found

    # -- idle and stalled clients (issue 15, item 1) ----------------------------------------------

    def _idle(self) -> None:
        held = self.o["idle_connections"]
        requests = self.o["idle_requests"]
        targets = self._servers_under_test()
        say()
        say(
            f"idle clients: {requests} sequential createTask (the sample), each on a new connection, while other "
            f"connections are held open: half at once, half after the held ones' {_ceiling.KEEPALIVE_S} s "
            f"keep-alive expiry; goal p99 < {_idle.TARGET_P99_MS:.0f} ms"
        )
        cases = [(0, 0), (held, 0), (0, held // 2)]
        results: dict[str, Any] = {}
        for target in targets:
            assert target.server is not None
            for idle, stalled in cases:
                _settle(targets)
                what = f"{idle} idle" if idle else (f"{stalled} half-header" if stalled else "none held")
                result = _idle.measure(
                    target.server.port,
                    self.sample,
                    idle=idle,
                    stalled=stalled,
                    requests=requests,
                    watch_s=self.o["idle_watch"],
                )
                say(f"{target.name}, {what}:")
                say(result.render())
                met = result.p99_ms < _idle.TARGET_P99_MS and not result.gave_up and not result.failures
                if idle or stalled:
                    say(f"  goal p99 < {_idle.TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'}")
                results[f"{target.name}/{what}"] = asdict(result) | {
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    **result.halves(),
                }
        self.report["idle"] = results
        for target in targets:
            say(f"  {target.name}: {shlex.join(_servers._shorten(target.command))}")
        say(f"reproduce: {self.command}")
        if len(targets) > 1 and self.report.get("throughput"):
            self._side_by_side(targets, held)

    def _side_by_side(self, targets: list[Target], held: int) -> None:
        """The servers compared in one table: throughput per client mode, p99, memory, idle latency."""
        figures = self.report["throughput"][self.o["workload"]]
        clients = self._clients()
        say()
        say(
            f"side by side ({self.o['workload']}; vs ceiling: with {clients[0]} clients; idle: p99 of the "
            "sequential requests, '-' when not all were answered):"
        )
        columns = [f"req/s {c}" for c in clients] + [f"p99 ms {c}" for c in clients]
        columns += [
            "vs ceiling",
            "MB rss/pss/priv",
            "keep-alive",
            f"{held} idle p99",
            f"{held // 2} stalled p99",
        ]
        say(f"{'server':<14} " + " ".join(f"{c:>16}" for c in columns))
        idle = self.report["idle"]
        kept = self.report.get("keep_alive", {})
        for target in targets:
            entries = [
                figures.get(target.name if len(clients) == 1 else f"{target.name} [{c}]") for c in clients
            ]
            if any(e is None for e in entries):
                continue
            cells = [f"{e['rps_median']:.0f}" for e in entries] + [
                f"{e['p99_median_ms']:.1f}" for e in entries
            ]
            ratio = entries[0].get("vs_ceiling")
            cells.append(f"{ratio:.2f}x" if ratio is not None else "-")
            cells.append(
                memory_cell(
                    {
                        key: max((e.get(key) for e in entries if e.get(key) is not None), default=None)
                        for key in ("rss_max_mb", "pss_max_mb", "private_max_mb")
                    }
                )
            )
            cells.append("yes" if kept.get(target.name) else "no")
            for what in (f"{held} idle", f"{held // 2} half-header"):
                one = idle.get(f"{target.name}/{what}")
                complete = one is not None and not one["gave_up"] and not one["failures"]
                cells.append(f"{one['p99_ms']:.1f}" if complete and one is not None else "-")
            say(f"{target.name:<14} " + " ".join(f"{c:>16}" for c in cells))
        say(f"reproduce: {self.command}")

    # -- the store curve (issue 13, item 6) --------------------------------------------------------

    def _store_curve(self) -> None:
        sizes = sorted({int(n) for n in self.o["store_sizes"].split(",") if n.strip()})
        if not sizes or min(sizes) < 1:
            raise click.BadParameter(
                "give tasks counts >= 1, e.g. 1000,10000,100000", param_hint="--store-sizes"
            )
        wrk = _wrk.ensure_wrk(say)
        say()
        say(
            f"the store curve: getTasks (filters and pages) with {', '.join(f'{n:,}' for n in sizes)} tasks stored "
            "in the bench's account and stream"
        )
        workload = self._drawn("getTasks", {})
        scripts = self._scripts(workload)
        runs: list[Run] = []
        for size in sizes:
            world = self._world(size)
            state = self._state_file(f"store-{size}")
            # Load once through --world, then serve from the state file alone: the workers then hold what
            # serving N stored tasks costs, not the start world's document (a state file that holds a
            # world keeps it; --empty-world only says what a reset returns to).
            loading = time.perf_counter()
            load_extra = ["--world", str(world), "--state-file", str(state)]
            loader = self._start(
                f"load-{size}", functools.partial(self._mock_command, extra=load_extra), ready_timeout_s=1800
            )
            assert loader.server is not None
            loader.server.stop()
            say(f"  {size:,} tasks: loaded into {_short(state)} in {time.perf_counter() - loading:.1f} s")
            serve_extra = ["--state-file", str(state), "--empty-world"]
            target = self._start(
                f"store-{size}", functools.partial(self._mock_command, extra=serve_extra), ready_timeout_s=600
            )
            assert target.server is not None
            stored = self._stored_tasks(target.server.port)
            say(f"  {size:,} tasks: serving from the state file; getTasks {{}} counts {stored}")
            runs += [
                Run(
                    f"{size} tasks" + ("" if len(scripts) == 1 else f" [{c}]"),
                    target,
                    scripts[c],
                    c,
                    self.o["store_connections"],
                )
                for c in scripts
            ]
        measured = self._interleave(wrk, runs, max(1, self.o["rounds"]))
        say()
        say(
            f"{'stored tasks':<22} {'answers':>8} {'req/s':>22} {'p50 ms':>20} {'p99 ms':>22} "
            f"{'MB ' + _servers.MEMORY_COLUMNS:>19}"
        )
        curve: dict[str, Any] = {}
        for run in runs:
            rounds = [r for r in measured if r.target == run.label]
            rps = [r.result.rps for r in rounds]
            p50 = [r.result.p50_ms for r in rounds]
            p99 = [r.result.p99_ms for r in rounds]
            memory = memory_max(rounds)
            non2xx = sum(r.result.non2xx for r in rounds)
            answers = sum(r.result.requests for r in rounds)
            say(
                f"{run.label:<22} {answers:>8} {spread(rps):>22} {spread(p50, digits=1):>20} "
                f"{spread(p99, digits=1):>22} {memory_cell(memory):>19}"
                + (f"  non-2xx {non2xx}" if non2xx else "")
                + (
                    "  (under 100 answers a round: p99 is about the slowest)"
                    if answers < 100 * len(rounds)
                    else ""
                )
            )
            curve[run.label] = {
                "answers": answers,
                "rps_median": statistics.median(rps),
                "p50_median_ms": statistics.median(p50),
                "p99_median_ms": statistics.median(p99),
                "p99_rounds_ms": p99,
                **memory,
                "non2xx": non2xx,
            }
        for client in scripts:
            labels = [r.label for r in runs if r.client == client]
            low, high = curve[labels[0]], curve[labels[-1]]
            rss = max(curve[label]["rss_max_mb"] for label in labels)
            pss = max(curve[label]["pss_max_mb"] for label in labels)
            private = [p for label in labels if (p := curve[label]["private_max_mb"]) is not None]
            bound_line = (
                f"RSS per worker at most {rss:.0f} MB (bound {TARGET_RSS_MB:.0f} MB: "
                + ("met)" if rss <= TARGET_RSS_MB else "NOT met)")
                + f", PSS at most {pss:.0f} MB"
                + (f", private at most {max(private):.0f} MB" if private else "")
            )
            if not low["answers"] or not high["answers"]:
                none = ", ".join(f"{label}" for label in labels if not curve[label]["answers"])
                say(
                    f"  p99 at {sizes[-1]:,} / p99 at {sizes[0]:,}: not measured, no answer within a round at "
                    f"{none} (bound {TARGET_STORE_P99_GROWTH:g}x: NOT met); {bound_line}"
                )
                curve[f"p99_growth_{client}"] = None
                continue
            growth = ratio_to([high["p99_median_ms"]], [low["p99_median_ms"]]).median
            say(
                f"  p99 at {sizes[-1]:,} / p99 at {sizes[0]:,}: {growth:.2f}x (bound {TARGET_STORE_P99_GROWTH:g}x: "
                f"{'met' if growth <= TARGET_STORE_P99_GROWTH else 'NOT met'}); {bound_line}"
            )
            curve[f"p99_growth_{client}"] = growth
        self.report["store_curve"] = curve
        say(
            f"  worlds: {_short(_workload.world_path(_servers.ROOT, 0, self.o['seed']).parent)}/ (generators.build_world, "
            "renamed to the bench's account and stream)"
        )
        say(f"  each server: {shlex.join(_servers._shorten(runs[-1].target.command))}")
        say(f"reproduce: {self.command}")

    def _stored_tasks(self, port: int) -> str:
        """`totalResults` of an unfiltered getTasks in the bench's scope: whether the world is there."""
        listing = self.contract.operation("getTasks")
        _, stream = _workload.bench_scope(self.contract)
        path = listing.path(**{listing.path_parameters[0]: stream})
        answer = _servers.post_json(port, path, self.sample.headers, b"{}")
        total = answer.get("totalResults") if isinstance(answer, dict) else None
        return f"{total:,}" if isinstance(total, int) else "nothing (no 2xx JSON answer)"

    # -- soak (issue 15, item 2) -------------------------------------------------------------------

    def _soak(self) -> None:
        wrk = _wrk.ensure_wrk(say)
        seconds, interval = self.o["soak"], self.o["soak_interval"]
        world = self._world(self.o["world_tasks"])
        stored = _workload.world_ids(world, self.contract)
        name = self.o["soak_workload"]
        workload = self._drawn(name, stored)
        script = self.work / f"soak-{name}.lua"
        script.write_text(_workload.wrk_script(workload))
        mock_state = self._state_file("soak-mock")
        # The per-request log lines go to rotated files (--log-file), as a long-running server's should.
        logs = {"mock": self.work / "soak-mock-requests.log", "proxy": self.work / "soak-proxy-requests.log"}
        mock = self._start(
            "soak-mock",
            lambda p: self._mock_command(
                p, ["--world", str(world), "--state-file", str(mock_state), "--log-file", str(logs["mock"])]
            ),
            ready_timeout_s=600,
        )
        assert mock.server is not None
        proxy_state = self._state_file("soak-proxy")
        proxy = self._start(
            "soak-proxy",
            lambda p: _servers.proxy_command(
                p,
                mock.server.base_url if mock.server else "",
                proxy_state,
                ["--log-file", str(logs["proxy"])],
            ),
        )
        assert proxy.server is not None
        servers = {"mock": mock.server, "proxy": proxy.server}
        files = {"mock": mock_state, "proxy": proxy_state}
        say()
        say(
            f"soak: {seconds:g} s of the {name} workload through the proxy to the mock, {self.o['connections']} "
            f"connections, a report every {interval:g} s"
        )
        watch = _soak.Soak(servers, files, logs)
        started = time.monotonic()
        while (left := seconds - (time.monotonic() - started)) >= 1:
            chunk = int(min(interval, left))  # wrk takes whole seconds
            command = _wrk.wrk_command(
                wrk,
                proxy.server.base_url + self.sample.path,
                script,
                duration_s=chunk,
                connections=self.o["connections"],
                threads=self.o["wrk_threads"],
            )
            result = _wrk.run_wrk(command)
            say(watch.sample(time.monotonic() - started, result))
        say(watch.summary())
        self.report["soak"] = watch.as_dict()
        say(f"  mock: {shlex.join(_servers._shorten(mock.command))}")
        say(f"  proxy: {shlex.join(_servers._shorten(proxy.command))}")
        say(f"  each interval: {shlex.join(_servers._shorten(command))}")
        say(f"reproduce: {self.command}")

    # -- profile ----------------------------------------------------------------------------------

    def _profile(self, run: Run, wrk_command: list[str]) -> None:
        target = run.target
        assert target.server is not None
        out: Path = self.o["profile"]
        out.parent.mkdir(parents=True, exist_ok=True)
        say()
        gil = not self.o["profile_wall"]
        what = "the thread holding the GIL (CPU in Python)" if gil else "every busy thread (waits included)"
        say(
            f"profiling {target.name}'s workers with py-spy during one {self.o['duration']:g} s round: {what}"
        )
        record = _profile.record_command(target.server.process.pid, out, self.o["duration"], gil=gil)
        spy = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # py-spy attaches before the load starts
        result = _wrk.run_wrk(wrk_command)
        _, err = spy.communicate(timeout=self.o["duration"] + 60)
        if spy.returncode != 0:
            say(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace').strip()}")
            return
        say(
            f"under the profiler: {result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms (sampling costs CPU too)"
        )
        summary = _profile.summarize(out.read_text())
        say(summary.render())
        self.report["profile"] = summary.as_dict()
        say(f"  recorded with: {shlex.join(_servers._shorten(record))}")
        say(f"reproduce: {self.command}")

    # -- startup ----------------------------------------------------------------------------------

    def _startup(self) -> None:
        say()
        runs = self.o["startup_runs"]
        say(f"startup: process start to the first 200 of the sample request, {runs} runs")
        checkouts = {"mock": _servers.ROOT}
        if self.o["baseline"]:
            checkouts["baseline"] = self.o["baseline"].resolve()
        times: dict[str, list[float]] = {name: [] for name in checkouts}
        for _ in range(runs):
            for name, cwd in checkouts.items():  # interleaved, like the rounds
                port = _servers.free_port()
                command = (
                    self._mock_command(port)
                    if name == "mock"
                    else _servers.mock_command(port, self.secret, workers=None, threads=None, extra=[])
                )
                server = _servers.start(f"startup-{name}", command, port, self.work, cwd=cwd)
                try:
                    times[name].append(server.wait_ready(self.sample))
                finally:
                    server.stop()
        for name, values in times.items():
            say(f"  {name}: {spread(values, ' s', 2)}  (each: {' '.join(f'{t:.2f}' for t in values)})")
        med = statistics.median(times["mock"])
        say(f"  target <= {TARGET_STARTUP_S} s: {'met' if med <= TARGET_STARTUP_S else 'NOT met'}")
        prism_startups = {t.name: t.startup_s for t in self.targets if t.name.startswith("prism")}
        for name, seconds in prism_startups.items():
            if seconds is not None:
                say(f"  {name} (one run, from the throughput section): {seconds:.2f} s")
        self.report["startup"] = {
            name: {"runs_s": v, "median_s": statistics.median(v)} for name, v in times.items()
        }
        say(f"  server: {shlex.join(_servers._shorten(self._mock_command(4010)))}")
        say(f"reproduce: {self.command}")

    # -- contract tests vs Schemathesis -----------------------------------------------------------

    def _in_process(self, runs: int = 5, warmup: int = 200) -> None:
        """Median of `runs` fresh processes per checkout, interleaved; each the mean of the calls."""
        checkouts = {"mock": _servers.ROOT}
        if self.o["baseline"]:
            checkouts["baseline"] = self.o["baseline"].resolve()
        script = _servers.ROOT / "bench" / "_inprocess.py"
        calls = self.o["in_process_calls"]
        say()
        say(f"in process: the sample request through the WSGI app, no HTTP; {runs} processes x {calls} calls")
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
        for _ in range(runs):
            for name, checkout in checkouts.items():
                done = subprocess.run(
                    [sys.executable, str(script), str(calls), str(warmup), "1"],
                    cwd=checkout,
                    env={**os.environ, "PYTHONPATH": str(checkout)},
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"the in-process run in {checkout} failed:\n{done.stderr}")
                results[name].append(orjson.loads(done.stdout.splitlines()[-1]))
        self.report["in_process"] = results
        for name, runs_of in results.items():
            same = [r["same_client_us"] for r in runs_of]
            new = [r["new_client_us"] for r in runs_of]
            say(
                f"  {name:<9} same client {statistics.median(same):6.0f} us [{min(same):.0f}-{max(same):.0f}]   "
                f"a new token and account each call {statistics.median(new):6.0f} us [{min(new):.0f}-{max(new):.0f}]"
            )
        say(f"reproduce: {self.command}")

    def _contract(self) -> None:
        say()
        examples = self.o["contract_examples"]
        say(
            f"contract tests vs Schemathesis against the mock on loopback, --max-examples {examples}, "
            f"{self.o['contract_rounds']} runs each, interleaved"
        )
        journal_size = ["--journal-size", "1000000"]  # count every request by the journal
        target = self._start(
            "mock-contract",
            lambda p: _servers.mock_command(
                p, self.secret, workers=self.o["workers"], threads=self.o["threads"], extra=journal_size
            ),
        )
        assert target.server is not None
        urls = {"mock": target.server.base_url}
        if self.o["baseline"]:
            before = self._start(
                "baseline-contract",
                lambda p: _servers.mock_command(
                    p, self.secret, workers=None, threads=None, extra=journal_size
                ),
                cwd=self.o["baseline"].resolve(),
            )
            assert before.server is not None
            urls["baseline"] = before.server.base_url
        spec_file = self.work / "openapi.json"
        spec_file.write_text(self.contract.bundle_json())
        stream_id = self.sample.path.split("/")[-2]
        runs = _contract.compare(
            targets=urls,
            spec_file=spec_file,
            token=self.token,
            stream_id=stream_id,
            examples=examples,
            rounds=self.o["contract_rounds"],
            log_dir=self.work,
            say=say,
        )
        say(_contract.render(runs))
        self.report["contract"] = [asdict(r) for r in runs]
        say(
            f"  JWT=$(python -m mockserver token --app-id {APP_ID} --secret {self.secret} --expires-in 86400)"
        )
        say("  python -m spec bundle --format json -o openapi.json")
        for tool in ("contract_tests", "schemathesis"):
            example = next(r for r in runs if r.tool == tool)
            say(f"  {tool}: {example.display}")
        say(f"  mock: {shlex.join(_servers._shorten(target.command))}")
        say(f"reproduce: {self.command}")


def _settle(
    targets: list[Target], *, idle_share: float = 0.05, window_s: float = 0.25, limit_s: float = 10.0
) -> bool:
    """Wait until every target's servers are idle (under 5% of a core over 0.25 s), 10 s at most.

    A server that fell behind (Prism with a 2 s p99) keeps working through the requests it had
    queued after wrk stops; the next target's round would otherwise share the CPU with it. False,
    said on the terminal, when the servers were still busy after `limit_s`.
    """
    servers = [t.server for t in targets if t.server is not None]
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(window_s)
        used = sum(s.cpu_seconds() for s in servers) - before
        if 0 <= used < idle_share * window_s:  # negative: a process ended in between; measure again
            return True
    say(f"  (servers still busy after {limit_s:g} s; measuring anyway)")
    return False


if __name__ == "__main__":
    main()
