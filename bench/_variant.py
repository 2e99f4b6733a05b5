"""The mock under another server or gunicorn worker class, for bench's worker-model comparison only.

`python -m mockserver serve` always runs the chosen model (see mockserver/_serve.py); this launcher
builds the same app and runs it under the candidate issue 15 names:

- `gunicorn:<worker class>` (sync, gthread, gevent, tornado, mockserver._serve.MockSyncWorker...),
  the mock's own gunicorn options with the worker class and threads replaced;
- `waitress` (one process, `--threads` threads: waitress has no worker processes; `--workers` is
  ignored and said so);
- `granian` (its WSGI interface, `--workers` processes with `--threads` blocking threads each; every
  worker builds the app itself, from the KORE_MOCK_* variables, sharing one state file).

A `--compare-workers` entry is `CLASS/THREADS` (gunicorn, as before), `waitress/THREADS` or
`granian/THREADS`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from mockserver import MockConfig, create_app
from mockserver._serve import MockApplication, configure_logging

# Servers that are not a gunicorn worker class.
OTHER_SERVERS = ("waitress", "granian")


class VariantApplication(MockApplication):
    """MockApplication with `worker_class` (and its options) replaced."""

    def __init__(self, app: Any, config: MockConfig, worker_class: str) -> None:
        self._worker_class = worker_class
        self._threads = config.threads
        super().__init__(app, config)

    def load_config(self) -> None:
        """The mock's options, then the worker class and threads under test."""
        self.options["worker_class"] = self._worker_class
        self.options["threads"] = self._threads
        super().load_config()


def granian_app() -> Any:
    """The mock built from the KORE_MOCK_* variables: granian's factory target (one per worker)."""
    config = MockConfig.from_env()
    configure_logging(config.log_level)
    return create_app(config)


@click.command()
@click.option(
    "--worker-class",
    required=True,
    help="A gunicorn worker class (sync, gthread, gevent, tornado, mockserver._serve.MockSyncWorker...), "
    "or waitress, or granian.",
)
@click.option("--workers", type=int, default=2)
@click.option("--threads", type=int, default=1)
@click.option("--port", type=int, default=4010)
@click.option("--jwt-secret", default=None)
@click.option("--world", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--state-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--empty-world", is_flag=True)
def main(
    worker_class: str,
    workers: int,
    threads: int,
    port: int,
    jwt_secret: str | None,
    world: Path | None,
    state_file: Path | None,
    empty_world: bool,
) -> None:
    """Serve the mock under another server or worker class."""
    owner = os.getpid()
    state_dir = tempfile.mkdtemp(prefix="kore-bench-")
    settings: dict[str, Any] = {
        "port": port,
        "workers": workers,
        "threads": threads,
        "jwt_secret": jwt_secret,
        "state_file": state_file or Path(state_dir) / "state.sqlite3",
        "empty_world": empty_world,
        **({"world": world} if world is not None else {}),
    }
    try:
        if worker_class == "granian":
            _granian(settings)
            return
        config = MockConfig.from_env(**settings)
        configure_logging(config.log_level)
        if worker_class == "waitress":
            import waitress  # type: ignore[import-untyped]

            if workers != 1:
                click.echo(f"waitress runs one process: --workers {workers} ignored", err=True)
            waitress.serve(
                create_app(config), host="127.0.0.1", port=port, threads=threads, ident="kore-mock"
            )
            return
        VariantApplication(create_app(config), config, worker_class).run()
    finally:
        if os.getpid() == owner:  # workers are forks and unwind through here too
            shutil.rmtree(state_dir, ignore_errors=True)


def _granian(settings: dict[str, Any]) -> None:
    env = dict(os.environ)
    for name, value in settings.items():
        if name in ("port", "workers", "threads"):
            continue
        if value is None or value is False:
            continue
        env[f"KORE_MOCK_{name.upper()}"] = "true" if value is True else str(value)
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings["port"]),
        "--workers",
        str(settings["workers"]),
        "--blocking-threads",
        str(settings["threads"]),
        "--no-access-log",
        "--factory",
        "bench._variant:granian_app",
    ]
    # exec: the bench stops this process group; granian's workers are its children. Pass --state-file:
    # the temporary directory of main() is not removed after an exec.
    sys.stdout.flush()
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
