"""The ceiling: a bare gunicorn app answering a fixed 3 KB task JSON, under the mock's worker model.

What the HTTP server alone costs on this machine: the mock's figures are printed as a fraction of
this one's, measured in the same run (issue 13, item 6). Same worker count, worker class and threads
as the mock under test, the same keep-alive timeout; no validation, auth, store or self-check.
`python -m bench._ceiling --help`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
import orjson
from gunicorn.app.base import BaseApplication

from spec import ContractSpec, load_spec

CEILING_BYTES = 3072
# The answer padded with this field when the example is shorter (a task's `desc` is free text).
PAD_FIELD = "desc"
KEEPALIVE_S = 5  # the mock's (mockserver/_gunicorn.py gunicorn_options)


@dataclass(frozen=True)
class WorkerModel:
    """gunicorn's worker class and threads per worker, as a server runs them."""

    worker_class: str
    threads: int
    source: str  # where the model was read: the mock's own settings, or the bench's fallback


def ceiling_body(contract: ContractSpec, *, size: int = CEILING_BYTES) -> bytes:
    """The createTask seed-sample answer (a realistic Kore task), padded or trimmed to exactly `size` bytes."""
    task: dict[str, Any] = dict(contract.operation("createTask").response_examples()["seed-sample"])
    task[PAD_FIELD] = ""
    short = size - len(orjson.dumps(task))
    if short >= 0:
        task[PAD_FIELD] = "x" * short
    else:  # a longer example: drop trailing fields until it fits, then pad
        for key in reversed([k for k in task if k not in ("_id", PAD_FIELD)]):
            del task[key]
            short = size - len(orjson.dumps(task))
            if short >= 0:
                task[PAD_FIELD] = "x" * short
                break
    body = orjson.dumps(task)
    assert len(body) == size, (len(body), size)
    return body


def mock_worker_model(workers: int, threads: int | None) -> WorkerModel:
    """The worker class and threads `python -m mockserver serve` runs with for these options."""
    try:
        from mockserver import MockConfig
        from mockserver._serve import MOCK_SERVER

        overrides: dict[str, Any] = {"workers": workers}
        if threads:
            overrides["threads"] = threads
        config = MockConfig.from_env(None, **overrides)
        options = MOCK_SERVER.worker_options(config)
        return WorkerModel(
            str(options["worker_class"]), int(options.get("threads", 1)), "the mock's settings"
        )
    except (ImportError, AttributeError, KeyError, TypeError) as exc:
        return WorkerModel("sync", threads or 1, f"fallback: the mock's worker model unreadable ({exc!r})")


class CeilingApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn serving one fixed answer (`flask`: through a Flask app with flask-cors, as the mock is
    served, so the framework's own cost can be told from the mock's)."""

    def __init__(self, body: bytes, options: dict[str, Any], *, flask: ContractSpec | None = None) -> None:
        self.body = body
        self.options = options
        self.flask = flask  # the contract the mock's CORS settings are read from, when through Flask
        super().__init__()

    def load_config(self) -> None:
        """Hand the options to gunicorn."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The WSGI app: every request gets the same 200 and body."""
        body = self.body
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            stream = environ.get("wsgi.input")
            if stream is not None:
                stream.read()  # a server reads the request body, as the mock does
            start_response("200 OK", headers)
            return [body]

        return flask_app(body, self.flask) if self.flask is not None else app


def flask_app(body: bytes, contract: ContractSpec) -> Any:
    """The fixed answer from a Flask view on every path and method, with the mock's own CORS settings
    (`mockserver._app._cors`): the mock's framework, none of its pipeline."""
    from flask import Flask, Response, request

    from mockserver import MockConfig
    from mockserver._app import _cors

    app = Flask("ceiling")
    _cors(app, MockConfig(), contract)

    def answer(_path: str = "") -> Response:
        request.get_data()  # the body read, as the mock reads it
        return Response(body, 200, content_type="application/json")

    app.add_url_rule("/", "answer", answer, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    app.add_url_rule("/<path:_path>", "answer", answer, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    return app


@click.command()
@click.option("--worker-class", required=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--port", type=int, default=4010, show_default=True)
@click.option(
    "--flask", is_flag=True, help="Answer from a Flask view with flask-cors (the mock's framework)."
)
def main(worker_class: str, workers: int, threads: int, port: int, flask: bool) -> None:
    """Serve the fixed 3 KB task JSON on every path."""
    options = {
        "bind": f"127.0.0.1:{port}",
        "workers": workers,
        "worker_class": worker_class,
        "threads": threads,
        "keepalive": KEEPALIVE_S,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": True,
    }
    contract = load_spec()
    CeilingApplication(ceiling_body(contract), options, flask=contract if flask else None).run()


if __name__ == "__main__":
    main()
