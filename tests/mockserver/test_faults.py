"""Faults, off by default: latency, injected 500/503, and the per-account rate limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from mockserver import Latency, RateLimit
from spec import Operation
from tests.mockserver.support import headers, operation_path


def test_latency_delays_answers(make_app: Callable[..., Flask], seed_body: dict[str, Any]) -> None:
    client = make_app(latency=Latency(150, 200)).test_client()
    started = time.perf_counter()
    assert client.post(operation_path(), json=seed_body, headers=headers()).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_error_rate_one_always_faults_with_the_platform_messages(
    make_app: Callable[..., Flask], task: Operation, seed_body: dict[str, Any]
) -> None:
    client = make_app(error_rate=1.0, seed=3).test_client()
    platform = {status: task.response_examples(str(status)) for status in (500, 503)}
    seen = set()
    for _ in range(20):
        response = client.post(operation_path(), json=seed_body, headers=headers())
        assert response.status_code in (500, 503)
        (error,) = response.json["errors"]
        expected = next(iter(platform[response.status_code].values()))["errors"][0]
        assert (error["msg"], error["code"]) == (expected["msg"], expected["code"])
        assert "--error-rate" in error["detail"]
        seen.add(response.status_code)
    assert seen == {500, 503}
    health = client.get("/__admin/health").json
    assert health["mockBugs"] == 0 and health["selfCheckFailures"] == 0


def test_faults_hit_only_valid_requests(make_app: Callable[..., Flask]) -> None:
    client = make_app(error_rate=1.0).test_client()
    assert client.post(operation_path(), json={}, headers=headers()).status_code == 400


def test_error_rate_zero_never_faults(client: Any, seed_body: dict[str, Any]) -> None:
    assert all(
        client.post(operation_path(), json=seed_body, headers=headers()).status_code == 200 for _ in range(10)
    )


def test_rate_limit_answers_429_with_retry_after_per_account(
    make_app: Callable[..., Flask], task: Operation, seed_body: dict[str, Any]
) -> None:
    client = make_app(rate_limit=RateLimit(3, 60)).test_client()
    statuses = [
        client.post(operation_path(), json=seed_body, headers=headers()).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = client.post(operation_path(), json=seed_body, headers=headers())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    (error,) = limited.json["errors"]
    platform = task.response_examples("429")["rate-limited"]["errors"][0]
    assert (error["msg"], error["code"]) == (platform["msg"], platform["code"])
    assert "3/min" in error["detail"]
    other = client.post(
        operation_path(), json=seed_body, headers=headers(accountId="6639f7bd58c97ffac03b0000")
    )
    assert other.status_code == 200
