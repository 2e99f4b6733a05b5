"""Long runs (issue 15, item 2): what the servers hold and write, sampled at every interval.

Each sample: the interval's requests, non-2xx answers and socket errors (wrk), then per server the
memory (RSS, PSS and private: `bench._servers.Memory`) and open file descriptors of each worker, and
the size of every file it writes (its SQLite state file with the WAL and shared-memory files beside
it, and its log). The summary gives each worker's RSS and PSS slope after warm-up (the first sample is
the warm-up) and their growth against the goal (judged on RSS, as before; PSS alongside, since RSS
counts in every worker the pages the master shares with them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._servers import MEMORY_COLUMNS, Memory, Server
from bench._wrk import WrkResult

# Issue 15's goal for a 30-minute soak: memory growth under 5% after warm-up.
TARGET_GROWTH = 0.05
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


@dataclass
class Sample:
    """One interval's figures."""

    at_s: float
    requests: int
    non2xx: int
    socket_errors: int
    rss_mb: dict[str, list[float]]
    fds: dict[str, list[int]]
    files: dict[str, int]
    pss_mb: dict[str, list[float]] = field(default_factory=dict)
    private_mb: dict[str, list[float | None]] = field(default_factory=dict)


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute (0 for fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 60


def growth(values: Sequence[float]) -> float:
    """Last over first, minus one (0 for fewer than two values or a zero start)."""
    if len(values) < 2 or not values[0]:
        return 0.0
    return values[-1] / values[0] - 1


@dataclass
class Soak:
    """The servers watched, their state files, and the samples so far."""

    servers: Mapping[str, Server]
    state_files: Mapping[str, Path]
    # Each server's --log-file (its rotated files beside it count too).
    log_files: Mapping[str, Path] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)

    def files(self) -> dict[str, int]:
        """Size in bytes of every file the servers write."""
        found: dict[str, int] = {}
        for name, state in self.state_files.items():
            for suffix in SQLITE_SIDE_FILES:
                path = Path(str(state) + suffix)
                if path.exists():
                    found[f"{name}: {path.name}"] = path.stat().st_size
            log = self.servers[name].log_path
            if log.exists():
                found[f"{name}: {log.name}"] = log.stat().st_size
            logged = self.log_files.get(name)
            if logged is not None:
                for path in sorted(logged.parent.glob(logged.name + "*")):
                    if not path.name.endswith(".lock"):
                        found[f"{name}: {path.name}"] = path.stat().st_size
        return found

    def sample(self, at_s: float, result: WrkResult) -> str:
        """Record one interval; its report lines."""
        memory: dict[str, list[Memory]] = {n: s.worker_memory() for n, s in self.servers.items()}
        taken = Sample(
            at_s,
            result.requests,
            result.non2xx,
            result.socket_errors,
            {n: [m.rss_mb for m in v] for n, v in memory.items()},
            {n: s.worker_fds() for n, s in self.servers.items()},
            self.files(),
            {n: [m.pss_mb for m in v] for n, v in memory.items()},
            {n: [m.private_mb for m in v] for n, v in memory.items()},
        )
        self.samples.append(taken)
        rss = "; ".join(f"{n} " + " ".join(m.cell() for m in v) for n, v in memory.items())
        fds = "; ".join(f"{n} " + " ".join(str(x) for x in v) for n, v in taken.fds.items())
        sizes = ", ".join(f"{k} {_size(v)}" for k, v in taken.files.items())
        return (
            f"{at_s:>7.0f} s  {taken.requests:>8} requests ({result.rps:.0f}/s), non-2xx {taken.non2xx}, socket "
            f"errors {taken.socket_errors}, p99 {result.p99_ms:.1f} ms | MB {MEMORY_COLUMNS} {rss} | fds {fds}\n"
            f"           files: {sizes}"
        )

    def worker_series(self, kind: str = "rss") -> dict[str, list[tuple[float, float]]]:
        """Each worker's RSS (or `kind="pss"`: PSS) over time, by `server #index` (a worker that restarted
        changes its index)."""
        series: dict[str, list[tuple[float, float]]] = {}
        for taken in self.samples:
            for name, values in (taken.pss_mb if kind == "pss" else taken.rss_mb).items():
                for index, value in enumerate(values):
                    series.setdefault(f"{name} #{index + 1}", []).append((taken.at_s, value))
        return series

    def summary(self) -> str:
        """Totals, and each worker's memory after warm-up (every sample but the first)."""
        requests = sum(s.requests for s in self.samples)
        non2xx = sum(s.non2xx for s in self.samples)
        errors = sum(s.socket_errors for s in self.samples)
        lines = [f"soak: {requests} requests, non-2xx {non2xx}, socket errors {errors}"]
        worst = {"rss": 0.0, "pss": 0.0}
        pss = self.worker_series("pss")
        for worker, points in self.worker_series().items():
            shown = []
            for kind, series in (("rss", points), ("pss", pss.get(worker, []))):
                after = series[1:] if len(series) > 2 else series
                if not after:
                    continue
                rise = growth([v for _, v in after])
                worst[kind] = max(worst[kind], rise)
                shown.append(
                    f"{kind.upper()} {after[0][1]:.0f} -> {after[-1][1]:.0f} MB after warm-up ({rise:+.1%}), "
                    f"slope {slope_per_minute(after):+.2f} MB/min"
                )
            lines.append(f"  {worker}: " + "; ".join(shown))
        if self.samples:
            first, last = self.samples[0], self.samples[-1]
            for key in last.files:
                lines.append(f"  {key}: {_size(first.files.get(key, 0))} -> {_size(last.files[key])}")
            for name in last.fds:
                lines.append(f"  {name} open files per worker: {first.fds.get(name)} -> {last.fds[name]}")
        ok = not non2xx and not errors and worst["rss"] < TARGET_GROWTH
        pss_ok = not non2xx and not errors and worst["pss"] < TARGET_GROWTH
        lines.append(
            f"  goal: no error and memory growth under {TARGET_GROWTH:.0%} after warm-up: "
            f"PSS {'met' if pss_ok else 'NOT met'}; RSS (as before) {'met' if ok else 'NOT met'}"
        )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Every sample, for --json."""
        return {"samples": [vars(s) for s in self.samples]}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
