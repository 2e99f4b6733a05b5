"""The mock under another gunicorn worker class, for bench's worker-model comparison only.

`python -m mockserver serve` always runs the chosen model (see mockserver/_serve.py); this launcher
builds the same app and the same gunicorn options with the worker class replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from mockserver import MockConfig, create_app
from mockserver._serve import MockApplication, configure_logging


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


@click.command()
@click.option(
    "--worker-class",
    required=True,
    help="sync, gthread, gevent, tornado, mockserver._serve.MockSyncWorker...",
)
@click.option("--workers", type=int, default=2)
@click.option("--threads", type=int, default=1)
@click.option("--port", type=int, default=4010)
@click.option("--jwt-secret", default=None)
def main(worker_class: str, workers: int, threads: int, port: int, jwt_secret: str | None) -> None:
    """Serve the mock with another worker class."""
    owner = os.getpid()
    state_dir = tempfile.mkdtemp(prefix="kore-bench-")
    config = MockConfig.from_env(
        port=port,
        workers=workers,
        threads=threads,
        jwt_secret=jwt_secret,
        state_file=Path(state_dir) / "state.sqlite3",
    )
    configure_logging(config.log_level)
    try:
        VariantApplication(create_app(config), config, worker_class).run()
    finally:
        if os.getpid() == owner:  # workers are forks and unwind through here too
            shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
