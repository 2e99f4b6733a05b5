"""Over real HTTP: `python -m mockserver serve` (gunicorn) on a free loopback port."""

from __future__ import annotations

import itertools
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mockserver._app import MOCK_BUG_MARK, SELF_CHECK_MARK
from spec import SPEC_PATH, Operation, RequestFacts, check_relations, load_spec
from tests.mockserver.support import (
    ACCOUNT,
    APP_ID,
    FROZEN,
    SECRET,
    STREAM,
    Server,
    headers,
    hostile_battery,
    mint,
    operation_path,
    schema_problems,
)

pytestmark = pytest.mark.http

SEED_PAGE = SPEC_PATH.parent / "seed-page.md"
Serve = Callable[..., Server]


def seed_curl() -> list[str]:
    """The seed page's curl command as argv, exactly as printed."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    command = re.search(r"```\n(curl .*?)\n```", text, re.S)
    assert command is not None
    return shlex.split(command.group(1).replace("\\\n", " "))


def fill(argv: list[str], server: Server, token: str) -> list[str]:
    """The seed's placeholders filled in for this server: host, stream, account, JWT."""
    values = {
        "https://{{host}}": server.base,
        "{{streamId}}": STREAM,
        "{{accountId}}": ACCOUNT,
        "{{jwt-code}}": token,
    }
    filled = []
    for arg in argv:
        for placeholder, value in values.items():
            arg = arg.replace(placeholder, value)
        filled.append(arg)
    return filled


def curl_headers(argv: list[str]) -> list[tuple[str, str]]:
    """The `--header` arguments of a curl argv, in order."""
    pairs = []
    for flag, value in itertools.pairwise(argv):
        if flag in ("--header", "-H"):
            name, _, content = value.partition(":")
            pairs.append((name.strip(), content.strip()))
    return pairs


def assert_task(task: Operation, body: Any, answer: Any) -> None:
    assert schema_problems(200, answer, task) == []
    facts = RequestFacts(body=body, path={"streamId": STREAM}, headers={"accountId": ACCOUNT})
    assert check_relations(task.relations, facts, answer) == []


def assert_clean_log(server: Server) -> None:
    log = server.log_text()
    assert SELF_CHECK_MARK not in log
    assert MOCK_BUG_MARK not in log
    assert "Traceback" not in log


def test_the_seed_curl_verbatim_gets_a_task_echoing_it(serve: Serve, task: Operation) -> None:
    server = serve("--jwt-secret", SECRET)
    argv = fill(seed_curl(), server, mint())
    body = orjson.loads(argv[argv.index("--data-raw") + 1])
    # httpx, with every browser header of the seed, in its order.
    response = httpx.post(
        argv[argv.index("--location") + 1], headers=curl_headers(argv), content=argv[-1].encode()
    )
    assert response.status_code == 200, response.text
    assert_task(task, body, response.json())
    # And the real curl binary, when there is one: the command as printed, placeholders filled.
    if shutil.which("curl"):
        done = subprocess.run(
            [*argv, "--silent", "--show-error"], capture_output=True, timeout=30, check=True
        )
        answer = orjson.loads(done.stdout)
        assert_task(task, body, answer)
        assert answer["refId"] == "TS000002"
    assert_clean_log(server)


def test_hostile_battery_over_http_keeps_the_server_healthy(serve: Serve, task: Operation) -> None:
    server = serve()
    with httpx.Client(timeout=30) as client:
        for case in hostile_battery():
            response = client.request(
                case.method, server.url(case.target()), content=case.body, headers=case.request_headers()
            )
            assert response.status_code == case.status, (case.name, response.text[:300])
            if case.status != 200:
                assert response.headers["content-type"] == "application/json; charset=utf-8", case.name
                assert schema_problems(case.status, response.json()) == [], case.name
            assert server.healthy(), case.name
        # Every documented Prefer code, through the real server too.
        for code in sorted(task.documented_statuses - {200}):
            prefer = client.post(server.url(operation_path()), headers={"Prefer": f"code={code}"})
            assert prefer.status_code == code
    health = httpx.get(server.url("/__admin/health")).json()
    assert (health["selfCheckFailures"], health["mockBugs"]) == (0, 0)
    assert_clean_log(server)
    # One log line per request: method, path, status, milliseconds, first violation.
    assert re.search(
        r"POST /caseManagement/api/public/analytics/\S+/createTask 400 [\d.]+ms /body", server.log_text()
    )


def test_chunked_oversized_body_is_413(serve: Serve) -> None:
    server = serve()

    def chunks() -> Any:
        for _ in range(40):
            yield b"a" * 65536

    response = httpx.post(server.url(operation_path()), content=chunks(), headers=headers())
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == 413
    assert server.healthy()


def test_a_long_non_ascii_path_parameter_over_http_is_answered_as_documented(
    serve: Serve, task: Operation, seed_body: dict[str, Any]
) -> None:
    """1000 characters of two UTF-8 bytes each: a 6 KB request line, which gunicorn's default refuses (414)."""
    server = serve("--workers", "1")
    value = "\u00e9" * 1000
    response = httpx.post(server.url(task.path(streamId=value)), json=seed_body, headers=headers())
    assert response.status_code == 200, response.text[:300]
    assert response.json()["iId"] == value
    assert server.healthy()


def test_two_workers_share_the_journal_and_the_refid_counter(serve: Serve, seed_body: dict[str, Any]) -> None:
    server = serve("--workers", "2", "--threads", "2")
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def send(count: int) -> None:
        # A new connection per request, so the kernel spreads them over both workers.
        for _ in range(count):
            response = httpx.post(server.url(operation_path()), json=seed_body, headers=headers())
            assert response.status_code == 200
            with lock:
                answers.append(response.json())

    threads = [threading.Thread(target=send, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = len(answers)
    assert total == 40
    assert sorted(a["refId"] for a in answers) == [f"TS{n:06d}" for n in range(1, total + 1)]
    assert len({a["_id"] for a in answers}) == total
    journal = httpx.get(server.url("/__admin/requests")).json()
    assert journal["count"] == total
    assert {e["answer"]["refId"] for e in journal["requests"]} == {a["refId"] for a in answers}
    assert len({e["pid"] for e in journal["requests"]}) == 2, "both workers should have answered"
    assert_clean_log(server)


def test_same_seed_same_bytes_across_restarts(serve: Serve, task: Operation) -> None:
    bodies = list(task.request_examples.values())

    def run() -> list[bytes]:
        # --seed alone: the seeded clock makes timestamps repeat too, even with two workers.
        server = serve("--seed", "42", "--workers", "2")
        with httpx.Client() as client:
            answers = [
                client.post(server.url(operation_path()), json=b, headers=headers()).content for b in bodies
            ]
            hdrs = headers()
            del hdrs["accountId"]  # the derived account must be stable too
            answers.append(client.post(server.url(operation_path()), json=bodies[0], headers=hdrs).content)
            answers.append(client.post(server.url(operation_path()), json={}, headers=hdrs).content)
        server.stop()
        return answers

    first, second = run(), run()
    assert first == second
    stamps = [orjson.loads(a)["createdAt"] for a in first[:-1]]
    assert stamps[0] == "2025-06-04T10:18:00.725Z"
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "the seeded clock moves forward"


def test_state_file_keeps_counters_and_journal_across_restarts(
    serve: Serve, tmp_path: Path, seed_body: dict[str, Any]
) -> None:
    state = tmp_path / "mock.sqlite3"
    server = serve("--state-file", str(state))
    assert (
        httpx.post(server.url(operation_path()), json=seed_body, headers=headers()).json()["refId"]
        == "TS000001"
    )
    server.stop()
    server = serve("--state-file", str(state))
    assert (
        httpx.post(server.url(operation_path()), json=seed_body, headers=headers()).json()["refId"]
        == "TS000002"
    )
    assert httpx.get(server.url("/__admin/requests")).json()["count"] == 2


def test_cors_preflight_from_a_browser_origin(serve: Serve) -> None:
    server = serve("--cors-origin", "http://localhost:3000")
    requested = "auth,accountid,client-app,x-timezone-offset,iid,state,bot-language,app-language,content-type"
    preflight = httpx.options(
        server.url(operation_path()),
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": requested,
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert set(requested.split(",")) <= allowed
    other = httpx.options(
        server.url(operation_path()),
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers
    # The actual request from the browser origin carries the CORS headers too, even on errors.
    answer = httpx.post(server.url(operation_path()), json={}, headers={"Origin": "http://localhost:3000"})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_rate_limit_and_error_rate_over_http(serve: Serve, seed_body: dict[str, Any]) -> None:
    server = serve("--rate-limit", "2/min", "--workers", "2")
    statuses = [
        httpx.post(server.url(operation_path()), json=seed_body, headers=headers()).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    limited = httpx.post(server.url(operation_path()), json=seed_body, headers=headers())
    assert int(limited.headers["retry-after"]) >= 1
    faulty = serve("--error-rate", "1")
    response = httpx.post(faulty.url(operation_path()), json=seed_body, headers=headers())
    assert response.status_code in (500, 503) and response.json()["errors"]


def test_environment_variables_configure_the_server(serve: Serve, seed_body: dict[str, Any]) -> None:
    server = serve(
        env={"KORE_MOCK_JWT_SECRET": SECRET, "KORE_MOCK_FREEZE_TIME": FROZEN, "KORE_MOCK_WORKERS": "1"}
    )
    wrong = mint(secret="another-secret-that-is-long-enough-for-hs256-0000000")
    assert (
        httpx.post(server.url(operation_path()), json=seed_body, headers=headers(auth=wrong)).status_code
        == 401
    )
    task = httpx.post(server.url(operation_path()), json=seed_body, headers=headers()).json()
    assert task["createdAt"] == FROZEN


def test_dev_mode_reloads_when_the_spec_changes(serve: Serve, tmp_path: Path) -> None:
    # Not named `spec`: the server runs in tmp_path, where that directory would shadow the package.
    spec_copy = tmp_path / "contract"
    shutil.copytree(
        SPEC_PATH.parent, spec_copy, ignore=shutil.ignore_patterns("*.py", "__pycache__", "docs_templates")
    )
    root = spec_copy / SPEC_PATH.name
    server = serve("--dev", "--spec", str(root))
    version = str(load_spec().resolved["info"]["version"])
    assert httpx.get(server.url("/__admin/health")).json()["spec"]["version"] == version
    text = root.read_text(encoding="utf-8")

    def wait_for(predicate: Callable[[httpx.Response], bool]) -> httpx.Response | None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(server.url("/__admin/health"), timeout=2)
                if predicate(answer):
                    return answer
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return None

    # A broken spec keeps the server up, answering 503 with the fault, until it is fixed.
    root.write_text(text.replace("openapi: 3.1.0", "openapi: [3.1.0", 1), encoding="utf-8")
    broken = wait_for(lambda a: a.status_code == 503)
    assert broken is not None, server.log_text()
    assert "invalid YAML" in broken.json()["errors"][0]["detail"]
    root.write_text(text.replace(f"version: {version}", "version: 1.0.1-dev", 1), encoding="utf-8")
    fixed = wait_for(lambda a: a.status_code == 200 and a.json()["spec"]["version"] == "1.0.1-dev")
    assert fixed is not None, server.log_text()


def test_the_contract_tests_pass_against_the_mock(serve: Serve) -> None:
    """Each side checks the other: the project's contract tests judge the mock over HTTP, strictly."""
    server = serve("--jwt-secret", SECRET, "--workers", "1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "contract_tests",
            "--base-url",
            server.base,
            "--stream-id",
            STREAM,
            "--client-id",
            APP_ID,
            "--client-secret",
            SECRET,
            "--account-id",
            ACCOUNT,
            "--seed",
            "1",
            "--max-examples",
            "10",
            "--max-time",
            "60",
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert_clean_log(server)


def _raw_exchange(server: Server, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (not necessarily HTTP) and read the whole answer."""
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body


GUNICORN_REJECTS = [
    ("not HTTP at all", b"GARBAGE\r\n\r\n"),
    (
        "NUL in a header value",
        b"POST / HTTP/1.1\r\nHost: x\r\naccountId: a\x00b\r\nContent-Length: 0\r\n\r\n",
    ),
    (
        "Content-Length with Transfer-Encoding",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
    ),
    ("request line over 8190 bytes", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    (
        "a header field over 1 MiB",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1024 * 1024 + 10) + b"\r\n\r\n",
    ),
]


def test_what_gunicorn_rejects_is_answered_in_the_envelope_too(serve: Serve) -> None:
    server = serve("--workers", "1")
    for name, data in GUNICORN_REJECTS:
        status, fields, body = _raw_exchange(server, data)
        assert 400 <= status < 500, name
        assert fields["content-type"] == "application/json; charset=utf-8", name
        payload = orjson.loads(body)
        assert schema_problems(status, payload) == [], name
        assert payload["errors"][0]["code"] == status, name
        assert server.healthy(), name


def test_schemathesis_finds_nothing_against_the_mock(serve: Serve, tmp_path: Path) -> None:
    """Schemathesis 4, every check, on the project's own bundle: what users would run first (it found the
    newline in `streamId` answered with an undocumented 404 before issue 11).

    Every warning is on, `missing_test_data` too (issue 13: the mock starts with a seeded world whose
    first case and task carry the spec's documented ids in its documented account and stream, so
    updates find objects), but `low_valid_rate`: the coverage phase varies `accountId` and
    `streamId`, which scope every object (decision `account-stream-scope`), so most of its updates
    name an id unknown there and are answered 404 as decided (`unknown-ids`; 1 in 167 of
    updateTask's are served with seed 1).
    """
    from schemathesis.config import SchemathesisWarning

    warnings = ",".join(w.value for w in SchemathesisWarning if w is not SchemathesisWarning.LOW_VALID_RATE)
    server = serve("--jwt-secret", SECRET, "--workers", "1")
    bundle = tmp_path / "openapi.json"
    bundle.write_text(load_spec().bundle_json(dereference=False), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(bundle),
            "--url",
            server.base,
            "-H",
            f"auth: {mint()}",
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--seed",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--warnings",
            warnings,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout, done.stdout[-3000:]
