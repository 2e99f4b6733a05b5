"""The servers under test: the mock (its production server), a worker-model variant, and Prism."""

from __future__ import annotations

import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from bench._sample import SampleRequest

ROOT = Path(__file__).resolve().parent.parent
NPM_CACHE = ROOT / ".cache" / "npm"  # where bin/_setup.sh's npm_tools keeps Spectral, Redocly and Prism
PRISM_PACKAGE = "@stoplight/prism-cli@5"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process of ours, in its own process group, logging to a file."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Scheme, host and port."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def display(self) -> str:
        """The command, as a shell would take it."""
        return shlex.join(_shorten(self.command))

    def stop(self) -> None:
        """Stop the process group we started (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def worker_pids(self) -> list[int]:
        """The processes serving requests: gunicorn's workers (children of the master), else the process."""
        children = _children(self.process.pid)
        if self.name.startswith("prism"):
            # `prism` is a node script; npm may wrap it in a shell. Count the whole tree.
            return [self.process.pid, *_descendants(self.process.pid)]
        return children or [self.process.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the serving processes (and the master)."""
        return sum(_cpu_seconds(pid) for pid in {self.process.pid, *self.worker_pids()})

    def worker_fds(self) -> list[int]:
        """Open file descriptors of each serving process."""
        return [n for n in (_fd_count(pid) for pid in self.worker_pids()) if n is not None]

    def worker_memory(self) -> list[Memory]:
        """RSS, PSS and private memory of each serving process (see `Memory`)."""
        return [m for m in (read_memory(pid) for pid in self.worker_pids()) if m is not None]

    def wait_ready(self, sample: SampleRequest, *, timeout_s: float = 60.0) -> float:
        """Poll the operation with the sample request until it answers 200; seconds since process start."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}); see {self.log_path}")
            status = post_status(self.port, sample)
            if status == 200:
                return time.perf_counter() - self.started_at
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer 200 within {timeout_s} s (last: {status})")
            time.sleep(0.005)


@dataclass(frozen=True)
class Memory:
    """One process's memory, in MB.

    RSS counts every page a worker maps, so the pages a preloaded gunicorn master shares with its
    workers copy-on-write count in full in every worker (and `gc.freeze()` before the fork, which keeps
    them shared, cannot show). PSS divides each shared page among the processes that map it; private is
    what only this process maps (`Private_Clean` + `Private_Dirty`), what it would free on exit. Both
    come from /proc/PID/smaps_rollup; where that is unreadable PSS is the RSS and private is None.
    """

    rss_mb: float
    pss_mb: float
    private_mb: float | None
    from_smaps: bool = True

    def cell(self) -> str:
        """`rss/pss/private`, whole MB."""
        private = "-" if self.private_mb is None else f"{self.private_mb:.0f}"
        return f"{self.rss_mb:.0f}/{self.pss_mb:.0f}/{private}"


MEMORY_COLUMNS = "rss/pss/private"


def parse_smaps_rollup(text: str) -> Memory | None:
    """The RSS, PSS and private memory in a /proc/PID/smaps_rollup text (None without `Rss:` and `Pss:`)."""
    kb: dict[str, int] = {}
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if colon and len(fields) == 2 and fields[1] == "kB" and fields[0].isdigit():
            kb[name.strip()] = int(fields[0])
    if "Rss" not in kb or "Pss" not in kb:
        return None
    private = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
    return Memory(kb["Rss"] / 1024, kb["Pss"] / 1024, private / 1024)


def read_memory(pid: int) -> Memory | None:
    """`Memory` of a process; from its VmRSS alone when smaps_rollup is unreadable; None when it is gone."""
    try:
        found = parse_smaps_rollup(Path(f"/proc/{pid}/smaps_rollup").read_text())
    except OSError:
        found = None
    if found is not None:
        return found
    rss = _rss_mb(pid)
    return None if rss is None else Memory(rss, rss, None, from_smaps=False)


def post_status(port: int, sample: SampleRequest) -> int | None:
    """The status of one POST of the sample, or None while nothing listens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", sample.path, body=sample.body, headers=sample.headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


def start(
    name: str,
    command: list[str],
    port: int,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Server:
    """Start a server process in a new process group, its output in `log_dir/<name>.log`.

    `python -m` imports the packages of the working directory first, so `cwd` may be another
    checkout of the project (a baseline).
    """
    log_path = log_dir / f"{name.replace('/', '-x')}.log"
    log = log_path.open("ab")
    started_at = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    return Server(name, command, port, log_path, process, started_at, log)


def mock_command(
    port: int, secret: str, *, workers: int | None, threads: int | None, extra: list[str]
) -> list[str]:
    """`python -m mockserver serve` with the benchmark's port and secret; the serve defaults otherwise."""
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--jwt-secret", secret]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    return command + extra


def variant_command(
    port: int,
    secret: str,
    *,
    worker_class: str,
    workers: int,
    threads: int,
    extra: list[str] | None = None,
) -> list[str]:
    """The mock under another server or gunicorn worker class (bench/_variant.py), for the worker-model
    comparison; `extra`: --world FILE, --state-file FILE, --empty-world."""
    return [
        sys.executable,
        "-m",
        "bench._variant",
        "--worker-class",
        worker_class,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--port",
        str(port),
        "--jwt-secret",
        secret,
        *(extra or []),
    ]


def proxy_command(port: int, upstream: str, state_file: Path, extra: Sequence[str] = ()) -> list[str]:
    """`python -m mockserver proxy` in front of `upstream`, its state in `state_file`."""
    return [
        sys.executable,
        "-m",
        "mockserver",
        "proxy",
        "--upstream",
        upstream,
        "--port",
        str(port),
        "--state-file",
        str(state_file),
        *extra,
    ]


def ceiling_command(
    port: int, *, worker_class: str, workers: int, threads: int, flask: bool = False
) -> list[str]:
    """The ceiling (bench/_ceiling.py): a bare gunicorn app answering a fixed 3 KB task JSON (`flask`:
    through Flask and flask-cors)."""
    return [
        sys.executable,
        "-m",
        "bench._ceiling",
        "--worker-class",
        worker_class,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--port",
        str(port),
        *(["--flask"] if flask else []),
    ]


def keeps_alive(port: int, sample: SampleRequest) -> tuple[bool, str]:
    """Whether the server answers two requests on one connection (keep-alive), and what its first
    answer's `Connection` header said."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            head = "".join(f"{k}: {v}\r\n" for k, v in sample.headers.items())
            request = (
                f"POST {sample.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
                f"Content-Length: {len(sample.body)}\r\n\r\n"
            ).encode("latin-1") + sample.body
            sock.sendall(request)
            first = _read_answer(sock)
            if first is None:
                return False, "no answer"
            connection = first.getheader("Connection") or "(none)"
            try:
                sock.sendall(request)
                second = _read_answer(sock)
            except OSError:
                second = None
            return second is not None and second.status < 500, connection
    except OSError as exc:
        return False, f"connect failed: {exc}"


def post_json(
    port: int, path: str, headers: dict[str, str], body: bytes, *, timeout_s: float = 600
) -> object:
    """The JSON answer of one POST (None when it is not 2xx JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if not 200 <= response.status < 300:
            return None
        return orjson.loads(data)
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _read_answer(sock: socket.socket) -> http.client.HTTPResponse | None:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        response.read()
    except (http.client.HTTPException, OSError):
        return None
    finally:
        response.fp = None  # type: ignore[assignment]  # keep the socket open for the next request
    return response


def ensure_prism(say: Callable[[str], None], explicit: str | None = None) -> str:
    """The prism command: --prism-bin, else .cache/npm (installed from the npm registry when missing)."""
    if explicit:
        return explicit
    binary = NPM_CACHE / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install Prism (apt-get install -y npm)")
        say(f"Prism is not installed: `npm install {PRISM_PACKAGE}` into {NPM_CACHE}")
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(NPM_CACHE),
                PRISM_PACKAGE,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return str(binary)


def prism_command(prism: str, spec_file: Path, port: int, *, dynamic: bool) -> list[str]:
    """`prism mock` on the bundled spec; `-d` generates dynamic data as the mock does."""
    return [prism, "mock", *(["-d"] if dynamic else []), "-h", "127.0.0.1", "-p", str(port), str(spec_file)]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return [p for p, parent in _parents().items() if parent == pid]
    return [int(p) for p in text.split()]


def _descendants(pid: int) -> list[int]:
    parents = _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces and parentheses; the fields after the last ')' do not.
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
    return parents


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        # Fields after the command name (which may hold spaces, so split after its closing paren).
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _fd_count(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _shorten(command: list[str]) -> list[str]:
    """The command as a reader would type it: `python` for this interpreter, paths relative to the repo."""
    out = []
    for part in command:
        if part == sys.executable:
            part = "python"
        elif part.startswith(str(ROOT) + os.sep):
            part = os.path.relpath(part, ROOT)
        out.append(part)
    return out
