"""The bench's workloads, worlds, ceiling and figures, without a server: what wrk would send is valid
per the spec, the worlds are the spec's World, and the ratios, percentiles and slopes are right."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from jsonschema import Draft202012Validator

from bench import _ceiling, _idle, _servers, _soak, _workload
from bench._sample import ACCOUNT_ID, BENCH_SECRET, mint_jwt, sample_request
from bench.run import CANDIDATES, _worker_specs, main, ratio_to
from spec import ContractSpec, load_spec
from tests.bench.test_harness import lua_decode


@pytest.fixture(scope="module")
def contract() -> ContractSpec:
    return load_spec()


@pytest.fixture(scope="module")
def world(contract: ContractSpec) -> dict[str, Any]:
    return _workload.bench_world(contract, 25, seed=3)


def lua_literals(line: str) -> list[bytes]:
    """The double-quoted Lua string literals of one line, decoded, in order."""
    found, i = [], 0
    while (start := line.find('"', i)) != -1:
        end = start + 1
        while line[end] != '"':
            end += 2 if line[end] == "\\" and not line[end + 1].isdigit() else 1
        found.append(lua_decode(line[start : end + 1]))
        i = end + 1
    return found


def replayed(script: str) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """The headers and the (method, path, body) requests a generated wrk script sends."""
    headers = {}
    for line in re.findall(r"^headers\[.*$", script, re.MULTILINE):
        name, value = lua_literals(line)
        headers[name.decode()] = value.decode()
    table = script.split("local raw = {\n", 1)[1].split("\n}\n", 1)[0]
    requests = []
    for line in table.splitlines():
        method, path, body = lua_literals(line)
        requests.append((method.decode(), path.decode(), body))
    return headers, requests


def schema_of(contract: ContractSpec, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = contract.resolved["components"]["schemas"][name]
    return schema


def test_mixes_keep_their_proportions_and_the_seed_fixes_the_order() -> None:
    kinds = _workload.kinds_of(_workload.MIXES["mixed"], 1000, seed=1)
    assert {k: kinds.count(k) for k in set(kinds)} == {"getTasks": 600, "createTask": 250, "updateTask": 150}
    assert kinds == _workload.kinds_of(_workload.MIXES["mixed"], 1000, seed=1)
    assert kinds != _workload.kinds_of(_workload.MIXES["mixed"], 1000, seed=2)
    odd = _workload.kinds_of(_workload.MIXES["mixed"], 7, seed=0)
    assert len(odd) == 7


def test_the_mixed_script_replays_valid_requests_in_the_worlds_scope(
    contract: ContractSpec, world: dict[str, Any]
) -> None:
    token = mint_jwt(BENCH_SECRET)
    sample = sample_request(contract, token)
    task_ids = [t["_id"] for t in world["tasks"]]
    case_ids = [c["_id"] for c in world["cases"]]
    stored = {"tasks": task_ids, "cases": case_ids}
    drawn = _workload.draw_workload(contract, sample, "mixed", stored=stored, seed=5, length=40)
    assert drawn.counts() == {"getTasks": 24, "createTask": 10, "updateTask": 6}
    again = _workload.draw_workload(contract, sample, "mixed", stored=stored, seed=5, length=40)
    assert _workload.fingerprint(drawn) == _workload.fingerprint(again)
    headers, requests = replayed(_workload.wrk_script(drawn))
    assert len(requests) == 40
    assert jwt.decode(headers["auth"], BENCH_SECRET, algorithms=["HS256"])["appId"]
    account, stream = _workload.bench_scope(contract)
    assert headers["accountId"] == account == ACCOUNT_ID
    assert {(t["accountId"], t["iId"]) for t in world["tasks"]} == {(account, stream)}
    seen = set()
    for method, path, body in requests:
        matched = contract.match(method, path)
        assert matched is not None and matched.operation is not None, path
        operation = matched.operation
        seen.add(operation.id)
        assert matched.path_params["streamId"] == stream
        if operation.id == "updateTask":
            assert matched.path_params["taskId"] in task_ids
        if operation.id == "createTask":  # a task created for a stored case joins it (task-joins-case)
            assert orjson.loads(body)["caseId"] in case_ids
        errors = list(Draft202012Validator(operation.request_schema).iter_errors(orjson.loads(body)))
        assert not errors, (operation.id, body, [e.message for e in errors])
    assert seen == {"getTasks", "createTask", "updateTask"}
    assert "Connection" not in headers
    closing, _ = replayed(_workload.wrk_script(drawn, close=True))
    assert closing["Connection"] == "close"


def test_the_default_workload_is_the_seed_sample(contract: ContractSpec) -> None:
    sample = sample_request(contract, mint_jwt(BENCH_SECRET))
    drawn = _workload.draw_workload(contract, sample, "createTask", stored={})
    _, requests = replayed(_workload.wrk_script(drawn))
    assert requests == [("POST", sample.path, sample.body)]


def test_updates_need_stored_tasks(contract: ContractSpec) -> None:
    sample = sample_request(contract, mint_jwt(BENCH_SECRET))
    with pytest.raises(ValueError, match="holds no tasks"):
        _workload.draw_workload(contract, sample, "mixed", stored={"cases": ["ci-1"]}, length=10)


def test_the_bench_world_is_a_valid_world_in_the_bench_scope(
    contract: ContractSpec, world: dict[str, Any]
) -> None:
    errors = list(Draft202012Validator(schema_of(contract, "World")).iter_errors(world))
    assert not errors, [e.message for e in errors[:5]]
    assert len(world["tasks"]) == 25
    ids = [t["_id"] for t in world["tasks"]]
    assert len(set(ids)) == len(ids)
    listed = [i for case in world["cases"] for i in case["taskIds"]]
    assert sorted(listed) == sorted(ids)  # every kept task joins its case, no case lists a dropped one
    scope = _workload.bench_scope(contract)
    assert {(d["accountId"], d["iId"]) for d in [*world["cases"], *world["tasks"]]} == {scope}


def test_worlds_are_cached_by_size_and_seed(contract: ContractSpec, tmp_path: Path) -> None:
    path = _workload.cached_world(contract, tmp_path, 12, seed=1)
    assert path == _workload.world_path(tmp_path, 12, 1) and path.exists()
    stamp = path.stat().st_mtime_ns
    assert _workload.cached_world(contract, tmp_path, 12, seed=1).stat().st_mtime_ns == stamp
    ids = _workload.world_ids(path, contract)
    assert len(ids["tasks"]) == 12 and len(ids["cases"]) == 2


def test_the_ceiling_answers_a_3_kb_task(contract: ContractSpec) -> None:
    body = _ceiling.ceiling_body(contract)
    assert len(body) == _ceiling.CEILING_BYTES
    task = orjson.loads(body)
    schema = contract.operation("createTask").response_schema(200)
    assert not list(Draft202012Validator(schema).iter_errors(task))
    assert len(_ceiling.ceiling_body(contract, size=2000)) == 2000  # trimmed when the example is longer
    model = _ceiling.mock_worker_model(2, None)
    assert model.worker_class and model.threads >= 1


def test_the_flask_ceiling_answers_the_same_body_through_flask_and_cors(contract: ContractSpec) -> None:
    body = _ceiling.ceiling_body(contract)
    client = _ceiling.flask_app(body, contract).test_client()
    answer = client.post(
        "/caseManagement/api/public/analytics/st-1/createTask", data=b"{}", headers={"Origin": "http://x"}
    )
    assert (answer.status_code, answer.data) == (200, body)
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", "http://x")  # flask-cors ran
    assert _servers.ceiling_command(1, worker_class="sync", workers=1, threads=1, flask=True)[-1] == "--flask"
    assert "--flask" not in _servers.ceiling_command(1, worker_class="sync", workers=1, threads=1)


def test_ratios_pair_rounds_in_order() -> None:
    ratio = ratio_to([300.0, 100.0, 200.0], [1000.0, 1000.0, 500.0])
    assert ratio.median == pytest.approx(200 / 1000)
    assert ratio.per_round == pytest.approx([0.3, 0.1, 0.4])
    assert ratio_to([1.0], []).median == 0.0


def test_percentiles_slopes_and_growth() -> None:
    values = [float(n) for n in range(1, 101)]
    assert _idle.percentile(values, 99) == 99.0
    assert _idle.percentile(values, 50) == 50.0
    assert _idle.percentile([], 99) == 0.0
    assert _soak.slope_per_minute([(0.0, 100.0), (30.0, 101.0), (60.0, 102.0)]) == pytest.approx(2.0)
    assert _soak.slope_per_minute([(0.0, 5.0)]) == 0.0
    assert _soak.growth([100.0, 104.0]) == pytest.approx(0.04)


def test_half_headers_never_end_the_head(contract: ContractSpec) -> None:
    sample = sample_request(contract, mint_jwt(BENCH_SECRET))
    half = _idle.half_headers(sample, 4010)
    assert half.startswith(b"POST ") and b"\r\n\r\n" not in half


def test_candidates_expand_to_the_installed_servers() -> None:
    told: list[str] = []
    specs = _worker_specs("sync/1,candidates", told.append)
    assert specs[0] == "sync/1"
    assert len(specs) - 1 + len(told) == len(CANDIDATES)


def test_new_options_parse() -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    shown = runner.invoke(main, ["--help"])
    for option in (
        "--workload",
        "--ceiling",
        "--flask-ceiling",
        "--clients",
        "--store-sizes",
        "--idle-connections",
        "--soak",
        "--soak-workload",
    ):
        assert option in shown.output
    assert runner.invoke(main, ["--workload", "everything"]).exit_code == 2
    # --idle-connections alone means the 64; a number overrides it
    assert (
        main.make_context("bench", ["--idle-connections", "--rounds", "0"]).params["idle_connections"] == 64
    )
    assert main.make_context("bench", ["--idle-connections", "8"]).params["idle_connections"] == 8
    assert main.make_context("bench", []).params["idle_connections"] is None


def test_the_side_by_side_table_reads_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.run import Bench, Target

    options = main.make_context("bench", ["--clients", "keepalive,close"]).params
    bench = Bench(**options)

    def figures(rps: float) -> dict[str, Any]:
        return {
            "rps_median": rps,
            "p99_median_ms": 20.0,
            "rss_max_mb": 70.0,
            "pss_max_mb": 40.0 if rps > 850 else 30.0,
            "private_max_mb": 25.0 if rps > 750 else None,
            "vs_ceiling": 0.5,
        }

    def idle(p99: float, *, failures: int = 0) -> dict[str, Any]:
        return {"p99_ms": p99, "gave_up": False, "failures": failures}

    bench.report.update(
        {
            "throughput": {
                "createTask": {
                    "mock [keepalive]": figures(1000),
                    "mock [close]": figures(900),
                    "waitress/8 [keepalive]": figures(800),
                    "waitress/8 [close]": figures(700),
                }
            },
            "idle": {
                "mock/64 idle": idle(1800.0),
                "mock/32 half-header": idle(0.0, failures=2),
                "waitress/8/64 idle": idle(12.5),
                "waitress/8/32 half-header": idle(11.0),
            },
            "keep_alive": {"mock": False, "waitress/8": True},
        }
    )
    bench._side_by_side([Target("mock", []), Target("waitress/8", [])], 64)
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line}
    assert rows["mock"][1:] == ["1000", "900", "20.0", "20.0", "0.50x", "70/40/25", "no", "1800.0", "-"]
    assert rows["waitress/8"][1:] == [
        "800",
        "700",
        "20.0",
        "20.0",
        "0.50x",
        "70/30/25",
        "yes",
        "12.5",
        "11.0",
    ]


def test_the_soak_reports_growth_after_warm_up_and_every_file(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bench._servers import Memory
    from bench._wrk import WrkResult

    # The first sample is the warm-up; RSS grows 3% after it, PSS 10% (the second worker's smaps_rollup
    # is unreadable: its PSS is its RSS, its private memory unknown).
    memory = iter(
        [
            [Memory(50.0, 30.0, 20.0), Memory(50.0, 50.0, None, from_smaps=False)],
            [Memory(100.0, 40.0, 30.0), Memory(100.0, 100.0, None, from_smaps=False)],
            [Memory(101.0, 42.0, 32.0), Memory(100.0, 100.0, None, from_smaps=False)],
            [Memory(103.0, 44.0, 34.0), Memory(100.0, 100.0, None, from_smaps=False)],
        ]
    )
    log = tmp_path / "mock.log"
    log.write_text("x" * 10)
    state = tmp_path / "state.sqlite3"
    state.write_bytes(b"s" * 2048)
    Path(str(state) + "-wal").write_bytes(b"w" * 4096)
    server = SimpleNamespace(worker_memory=lambda: next(memory), worker_fds=lambda: [11, 12], log_path=log)
    soak = _soak.Soak({"mock": server}, {"mock": state})  # type: ignore[dict-item]
    result = WrkResult(1000, 30.0, 5.0, 8.0, 12.0, 20.0, 6.0, non2xx=0, socket_errors=0)
    for at in (30.0, 60.0, 90.0, 120.0):
        line = soak.sample(at, result)
    assert "mock: state.sqlite3-wal 4.0 KB" in line and "mock: mock.log 10 B" in line
    assert "| MB rss/pss/private mock 103/44/34 100/100/- |" in line
    summary = soak.summary()
    assert "mock #1: RSS 100 -> 103 MB after warm-up (+3.0%), slope +3.00 MB/min; " in summary
    assert "PSS 40 -> 44 MB after warm-up (+10.0%), slope +4.00 MB/min" in summary
    assert "mock #2: RSS 100 -> 100 MB after warm-up (+0.0%)" in summary
    assert "4000 requests, non-2xx 0, socket errors 0" in summary
    assert summary.endswith("after warm-up: PSS NOT met; RSS (as before) met")
    samples = soak.as_dict()["samples"]
    assert samples[-1]["pss_mb"] == {"mock": [44.0, 100.0]}
    assert samples[-1]["private_mb"] == {"mock": [34.0, None]}
    assert samples[-1]["rss_mb"] == {"mock": [103.0, 100.0]}
