"""The mock's own cost per request, without HTTP: the sample request through the WSGI app, in process.

Run as a script by `python -m bench --in-process`, once per checkout (the mock comes from the
checkout on PYTHONPATH), so that a baseline is measured with its own code. Prints one JSON line.

Each figure is the mean of `calls` WSGI calls after `warmup` unmeasured ones; `fresh` makes every call
carry a new token and account (so nothing the mock remembers per client helps).

The standalone form, for any checkout:
    PYTHONPATH=<checkout> python bench/_inprocess.py CALLS WARMUP REPEATS
"""

from __future__ import annotations

import io
import json
import logging
import statistics
import sys
import time
from typing import Any

from bench._sample import BENCH_SECRET, mint_jwt, sample_request


def measure(*, calls: int, warmup: int, repeats: int) -> dict[str, Any]:
    """Mean microseconds per call of each repeat, for the same client and for a new client each call."""
    from werkzeug.test import EnvironBuilder

    from mockserver import MockConfig, create_app
    from spec import load_spec

    app = create_app(MockConfig(seed=1, jwt_secret=BENCH_SECRET))
    logger = logging.getLogger("mockserver")
    logger.handlers[:] = [logging.StreamHandler(io.StringIO())]  # the log line is written, not shown
    logger.propagate = False
    contract = load_spec()

    def environ(token: str, account: str | None) -> dict[str, Any]:
        sample = sample_request(contract, token)
        headers = dict(sample.headers)
        if account is not None:
            headers = {k: (account if k.lower() == "accountid" else v) for k, v in headers.items()}
        built = EnvironBuilder(
            path=sample.path, method="POST", headers=list(headers.items()), data=sample.body
        )
        env: dict[str, Any] = built.get_environ()
        env["kore.body"] = sample.body
        return env

    def call(env: dict[str, Any]) -> None:
        env = dict(env)
        env["wsgi.input"] = io.BytesIO(env["kore.body"])
        status: list[str] = []

        def start_response(code: str, headers: Any, *exc_info: Any) -> Any:
            status.append(code)
            return None

        b"".join(app(env, start_response))
        if not status[0].startswith("200"):
            raise RuntimeError(f"the sample request was answered {status[0]}")

    same = environ(mint_jwt(BENCH_SECRET), None)

    def new_clients(repeat: int) -> list[dict[str, Any]]:
        return [
            environ(mint_jwt(BENCH_SECRET, app_id=f"cs-bench-{repeat}-{i}"), f"{repeat:08x}{i:016x}")
            for i in range(calls + warmup)
        ]

    def timed(envs: list[dict[str, Any]]) -> float:
        for env in envs[:warmup]:
            call(env)
        started = time.perf_counter()
        for env in envs[warmup:]:
            call(env)
        return (time.perf_counter() - started) / (len(envs) - warmup) * 1e6

    same_us = [timed([same] * (calls + warmup)) for _ in range(repeats)]
    fresh_us = [timed(new_clients(r)) for r in range(repeats)]
    return {
        "same_client_us": statistics.median(same_us),
        "same_client_runs_us": same_us,
        "new_client_us": statistics.median(fresh_us),
        "new_client_runs_us": fresh_us,
        "calls": calls,
        "warmup": warmup,
        "repeats": repeats,
    }


if __name__ == "__main__":
    calls, warmup, repeats = (int(a) for a in sys.argv[1:4])
    print(json.dumps(measure(calls=calls, warmup=warmup, repeats=repeats)))
