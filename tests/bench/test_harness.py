"""The benchmark's pieces: options, the Lua script, wrk's result line, the profile summary (no server), and that a
terminated bench stops the servers it started."""

from __future__ import annotations

import re

import jwt
import orjson
import pytest
from click.testing import CliRunner

from bench import _profile, _wrk
from bench._sample import BENCH_SECRET, mint_jwt, sample_request
from bench.run import main, spread
from spec import load_spec


def lua_decode(literal: str) -> bytes:
    """Read back a double-quoted Lua string literal of the kind lua_string writes."""
    assert literal.startswith('"') and literal.endswith('"')
    body, out, i = literal[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if body[i + 1].isdigit():
                out.append(int(body[i + 1 : i + 4]))
                i += 4
                continue
            out += body[i + 1].encode()
            i += 2
            continue
        assert char != '"', "an unescaped quote ends the literal early"
        out += char.encode()
        i += 1
    return bytes(out)


def test_lua_strings_hold_any_bytes() -> None:
    for text in [
        "plain",
        'quote " and back\\slash',
        "new\nline\ttab\r",
        "Mart\u00ednez \u0660 \U0001f600",
        "",
    ]:
        assert lua_decode(_wrk.lua_string(text)) == text.encode()
    assert lua_decode(_wrk.lua_string(bytes(range(256)))) == bytes(range(256))


def test_the_script_posts_the_seed_sample_with_a_valid_token() -> None:
    contract = load_spec()
    sample = sample_request(contract, mint_jwt(BENCH_SECRET))
    script = _wrk.post_script(sample.path, sample.headers, sample.body)
    assert 'wrk.method = "POST"' in script
    assert f"wrk.path = {_wrk.lua_string(sample.path)}" in script
    body = re.search(r"^wrk\.body = (.*)$", script, re.MULTILINE)
    assert body is not None
    assert (
        orjson.loads(lua_decode(body.group(1)))
        == contract.operation("createTask").request_examples["seed-sample"]
    )
    headers = dict(re.findall(r'^wrk\.headers\[(".*?")\] = (".*")$', script, re.MULTILINE))
    decoded = {lua_decode(k).decode(): lua_decode(v).decode() for k, v in headers.items()}
    claims = jwt.decode(decoded["auth"], BENCH_SECRET, algorithms=["HS256"])
    assert claims["appId"] and claims["exp"] > claims["iat"]
    assert decoded["Content-Type"].startswith("application/json")
    assert {"client-app", "X-Timezone-Offset", "Iid", "state", "bot-language", "app-language"} <= set(decoded)
    assert "done = function(summary, latency, requests)" in script


def test_wrk_result_line_is_parsed() -> None:
    line = (
        f'{_wrk.RESULT_MARK}{{"requests":20000,"duration_us":10000000,"bytes":1,"non2xx":3,"connect":0,"read":1,'
        '"write":0,"timeout":0,"p50_us":15000,"p90_us":18000,"p99_us":24000,"max_us":40000,"mean_us":16000.5}'
    )
    result = _wrk.parse_result(f"Running 10s test\n{line}\n")
    assert (result.rps, result.p50_ms, result.p99_ms, result.non2xx, result.socket_errors) == (
        2000.0,
        15.0,
        24.0,
        3,
        1,
    )


def test_options_parse_and_help_shows_examples() -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["--help"])
    assert shown.exit_code == 0 and "--vs-prism" in shown.output and "python -m bench" in shown.output
    wrong = runner.invoke(main, ["--rounds", "many"])
    assert wrong.exit_code == 2


def test_spread_and_profile_summary() -> None:
    assert spread([3.0, 1.0, 2.0]) == "2 [1-3]"
    collapsed = "\n".join(
        [
            'process 1:"python";handle (mockserver/_app.py:10);validate (jsonschema/validators.py:3) 6',
            'process 1:"python";handle_request (gunicorn/workers/sync.py:170) 4',
        ]
    )
    summary = _profile.summarize(collapsed)
    assert summary.total == 10
    assert summary.charged["mockserver/_app.py:handle"] == 6
    assert summary.charged["[gunicorn] handle_request"] == 4
    assert dict(summary.stages)[_profile.STAGES[0][2]] == 6
    assert "40.0%  outside handle() and respond()" in summary.render()


def test_settle_waits_for_a_busy_server_and_not_for_an_idle_one() -> None:
    """Between rounds the bench waits until the servers stop working off a previous round's backlog."""
    import subprocess
    import sys
    import time
    from types import SimpleNamespace

    from bench._servers import _cpu_seconds
    from bench.run import _settle

    class Busy:
        def __init__(self, pid: int) -> None:
            self.pid = pid

        def cpu_seconds(self) -> float:
            return _cpu_seconds(self.pid)

    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"]
    )
    try:
        started = time.monotonic()
        assert _settle([SimpleNamespace(server=Busy(burner.pid))], limit_s=5.0)  # type: ignore[list-item]
        waited = time.monotonic() - started
    finally:
        burner.wait()
    assert 1.0 <= waited < 4.5, waited
    started = time.monotonic()
    _settle([SimpleNamespace(server=Busy(burner.pid))], limit_s=5.0)  # type: ignore[list-item]  # exited: idle
    assert time.monotonic() - started < 1.0


def test_the_in_process_measurement_runs_the_sample_through_the_app() -> None:
    """`python -m bench --in-process` runs this script per checkout; it refuses to time a non-200 answer."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "_inprocess.py"), "5", "1", "2"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    figures = orjson.loads(done.stdout.splitlines()[-1])
    assert len(figures["same_client_runs_us"]) == len(figures["new_client_runs_us"]) == 2
    assert figures["same_client_us"] > 0 and figures["new_client_us"] > 0


def _servers_of(pid: int) -> list[int]:
    """The mock servers whose parent is `pid` (from /proc)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid and b"mockserver" in command:
                found.append(int(entry))
    return found


@pytest.mark.http
def test_a_terminated_bench_stops_its_servers() -> None:
    """SIGTERM to `python -m bench` while a mock runs: the mock (in its own process group) is stopped too."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench", "--rounds", "0", "--startup-runs", "50"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (servers := _servers_of(bench.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert servers, "the bench started no server"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 15
        while any(os.path.exists(f"/proc/{pid}") for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in servers if os.path.exists(f"/proc/{pid}")], "a server outlived the bench"
    finally:
        bench.kill()
        bench.wait()
