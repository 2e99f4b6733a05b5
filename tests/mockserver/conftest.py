"""Fixtures of the mock's tests: an `app` and its `client`, and real servers over HTTP."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from mockserver._config import parse_instant
from spec import ContractSpec, Operation, load_spec
from tests.mockserver.support import FROZEN, Server, start_server, task_operation


@pytest.fixture(scope="session")
def contract() -> ContractSpec:
    """The loaded contract."""
    return load_spec()


@pytest.fixture(scope="session")
def task() -> Operation:
    """The createTask operation, which most tests call."""
    return task_operation()


@pytest.fixture
def seed_body(task: Operation) -> dict[str, Any]:
    """The seed page's sample request body (a copy, free to edit)."""
    return copy.deepcopy(task.request_examples["seed-sample"])


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    """Build an app with a config; the state file lives in the test's temporary directory."""
    counter = iter(range(1000))

    def make(**changes: Any) -> Flask:
        changes.setdefault("state_file", tmp_path / f"state-{next(counter)}.sqlite3")
        app = create_app(MockConfig(**changes))
        app.testing = True
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The mock with a fixed seed and frozen time."""
    return make_app(seed=7, freeze_time=parse_instant(FROZEN))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers with `serve(*args)`; each waits for health and is stopped after the test."""
    started: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        try:
            server = start_server(tmp_path / f"server-{len(started)}.log", *args, env=env)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
