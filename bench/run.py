"""Benchmark the mock with its production server: wrk, the seed page's sample request, a valid JWT.

Prints requests/s, p50, p99, non-2xx answers and the RSS of each gunicorn worker for every round,
their median and spread, the startup time (process start to the first 200), and on request Prism's
figures measured in the same run (rounds interleaved), the contract tests' throughput next to
Schemathesis's, and a py-spy profile of the workers. Every block ends with the command that
reproduces it.

Run from the repository root: `python -m bench --help`, or `python bench/run.py --help`.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click
import orjson

from bench import _contract, _profile, _servers, _wrk
from bench._sample import APP_ID, BENCH_SECRET, SampleRequest, mint_jwt, sample_request
from spec import load_spec

# Issue 6's targets, with request validation, auth and the response self-check on.
TARGET_RPS = 1500.0
TARGET_P99_MS = 25.0
TARGET_VS_PRISM = 5.0
TARGET_STARTUP_S = 1.5
TARGET_RSS_MB = 100.0


@dataclass
class Round:
    """One wrk run against one target."""

    target: str
    round: int
    result: _wrk.WrkResult
    rss_mb: list[float] = field(default_factory=list)


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
    help="Also measure the mock under these gunicorn worker classes (bench/_variant.py), rounds interleaved, "
    "e.g. sync/1,gthread/1,gthread/4,tornado/1.",
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
    """
    Bench(**options).run()


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

    # -- orchestration ----------------------------------------------------------------------------

    def run(self) -> None:
        """Everything the options ask for, in order; servers are always stopped."""
        self._header()
        try:
            if self.o["rounds"] > 0 or self.o["profile"]:
                self._throughput()
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
            self.o["json_out"].write_bytes(orjson.dumps(self.report, option=orjson.OPT_INDENT_2))
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

    def _mock_command(self, port: int) -> list[str]:
        if self.o["worker_class"]:
            return _servers.variant_command(
                port,
                self.secret,
                worker_class=self.o["worker_class"],
                workers=self.o["workers"] or 2,
                threads=self.o["threads"] or 1,
            )
        return _servers.mock_command(
            port, self.secret, workers=self.o["workers"], threads=self.o["threads"], extra=[]
        )

    def _start(self, name: str, command_of: Callable[[int], list[str]], cwd: Path = _servers.ROOT) -> Target:
        port = _servers.free_port()
        command = command_of(port)
        target = Target(name, command)
        self.targets.append(target)
        target.server = _servers.start(name, command, port, self.work, cwd=cwd)
        target.startup_s = target.server.wait_ready(self.sample)
        return target

    # -- throughput -------------------------------------------------------------------------------

    def _throughput(self) -> None:
        wrk = _wrk.ensure_wrk(say)
        script = self.work / "post.lua"
        script.write_text(_wrk.post_script(self.sample.path, self.sample.headers, self.sample.body))
        targets = [self._start("mock", self._mock_command)]
        if self.o["baseline"]:
            # The same serve command, run in another checkout (its own defaults apply).
            baseline: Path = self.o["baseline"]
            targets.append(
                self._start(
                    "baseline",
                    lambda p: _servers.mock_command(p, self.secret, workers=None, threads=None, extra=[]),
                    cwd=baseline.resolve(),
                )
            )
        for spec in filter(None, (self.o["compare_workers"] or "").split(",")):
            worker_class, _, threads = spec.strip().partition("/")

            def variant(port: int, wc: str = worker_class, th: int = int(threads or 1)) -> list[str]:
                workers = self.o["workers"] or 2
                return _servers.variant_command(
                    port, self.secret, worker_class=wc, workers=workers, threads=th
                )

            targets.append(self._start(f"{worker_class}/{threads or 1}", variant))
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

        def wrk_for(target: Target, duration: float) -> list[str]:
            assert target.server is not None
            return _wrk.wrk_command(
                wrk,
                target.server.base_url + self.sample.path,
                script,
                duration_s=duration,
                connections=self.o["connections"],
                threads=self.o["wrk_threads"],
            )

        for target in targets:
            say(f"warming up {target.name} ({self.o['warmup']:g} s)")
            _wrk.run_wrk(wrk_for(target, self.o["warmup"]))
        say()
        header = (
            f"{'round':>5}  {'target':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'non-2xx':>8} {'sock err':>8}  RSS per worker (MB)"
        )
        if self.o["rounds"] > 0:
            say(header)
            say("-" * len(header))
        for index in range(1, self.o["rounds"] + 1):
            # Interleaved: a change in the machine's load hits every target alike. The order turns each
            # round, so no target always runs right after the same other one.
            shift = (index - 1) % len(targets)
            for target in targets[shift:] + targets[:shift]:
                assert target.server is not None
                _settle(targets)
                result = _wrk.run_wrk(wrk_for(target, self.o["duration"]))
                measured = Round(target.name, index, result, target.server.worker_rss_mb())
                self.rounds.append(measured)
                rss = " ".join(f"{x:.0f}" for x in measured.rss_mb)
                say(
                    f"{index:>5}  {target.name:<14} {result.rps:>8.0f} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} "
                    f"{result.max_ms:>8.1f} {result.non2xx:>8} {result.socket_errors:>8}  {rss}"
                )
        if self.o["rounds"] > 0:
            self._throughput_summary(targets, wrk_for(targets[0], self.o["duration"]))
        if self.o["profile"]:
            self._profile(targets[0], wrk_for(targets[0], self.o["duration"]))

    def _throughput_summary(self, targets: list[Target], example_wrk: list[str]) -> None:
        say()
        say(
            f"{'target':<14} {'req/s median [min-max]':>26} {'p50 ms':>20} {'p99 ms':>22} {'non-2xx':>8}  "
            "RSS/worker MB (max)"
        )
        summary: dict[str, Any] = {}
        for target in targets:
            rounds = [r for r in self.rounds if r.target == target.name]
            rps = [r.result.rps for r in rounds]
            p50 = [r.result.p50_ms for r in rounds]
            p99 = [r.result.p99_ms for r in rounds]
            non2xx = sum(r.result.non2xx for r in rounds)
            rss = max((x for r in rounds for x in r.rss_mb), default=0.0)
            say(
                f"{target.name:<14} {spread(rps):>26} {spread(p50, digits=1):>20} {spread(p99, digits=1):>22} "
                f"{non2xx:>8}  {rss:.0f}"
            )
            summary[target.name] = {
                "command": shlex.join(_servers._shorten(target.command)),
                "rounds": [asdict(r.result) | {"rps": r.result.rps, "rss_mb": r.rss_mb} for r in rounds],
                "rps_median": statistics.median(rps),
                "p99_median_ms": statistics.median(p99),
                "non2xx": non2xx,
                "rss_max_mb": rss,
            }
        mock = [r.result.rps for r in self.rounds if r.target == "mock"]
        prism = [r.result.rps for r in self.rounds if r.target == "prism-dynamic"]
        if prism:
            ratios = [m / p for m, p in zip(mock, prism, strict=True) if p]
            say(
                f"mock / prism -d: {statistics.median(mock) / statistics.median(prism):.1f}x "
                f"(per round {spread(ratios, 'x', 1)})"
            )
            summary["ratio_vs_prism_dynamic"] = statistics.median(mock) / statistics.median(prism)
            summary["ratio_per_round"] = ratios
        self.report["throughput"] = summary
        self._verdicts(summary)
        say(f"  each round: {shlex.join(_servers._shorten(example_wrk))}")
        for target in targets:
            where = f"  (in {self.o['baseline']})" if target.name == "baseline" else ""
            say(f"  {target.name}: {shlex.join(_servers._shorten(target.command))}{where}")
        say(f"reproduce: {self.command}")

    def _verdicts(self, summary: dict[str, Any]) -> None:
        mock = summary["mock"]
        rows = [
            (f">= {TARGET_RPS:.0f} req/s", mock["rps_median"] >= TARGET_RPS, f"{mock['rps_median']:.0f}"),
            (
                f"p99 <= {TARGET_P99_MS:.0f} ms",
                mock["p99_median_ms"] <= TARGET_P99_MS,
                f"{mock['p99_median_ms']:.1f} ms",
            ),
            (
                f"RSS <= {TARGET_RSS_MB:.0f} MB/worker",
                mock["rss_max_mb"] <= TARGET_RSS_MB,
                f"{mock['rss_max_mb']:.0f} MB",
            ),
            ("no non-2xx answers", mock["non2xx"] == 0, str(mock["non2xx"])),
        ]
        if "ratio_vs_prism_dynamic" in summary:
            ratio = summary["ratio_vs_prism_dynamic"]
            rows.append((f">= {TARGET_VS_PRISM:.0f}x prism -d", ratio >= TARGET_VS_PRISM, f"{ratio:.1f}x"))
        say(
            "targets (medians): "
            + "; ".join(f"{name}: {value} {'met' if ok else 'NOT met'}" for name, ok, value in rows)
        )

    # -- profile ----------------------------------------------------------------------------------

    def _profile(self, target: Target, wrk_command: list[str]) -> None:
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
