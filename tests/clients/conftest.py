"""Fixtures of the generated-client tests: the bundle the clients are generated from and the mock they call."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec import load_spec
from tests.clients.support import ROOT, run
from tests.mockserver.support import SECRET, Server, mint, start_server

OPERATION = "createTask"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m spec bundle --format json`: the spec as one file, `$ref`s to named components kept."""
    out = tmp_path_factory.mktemp("bundle") / "openapi.json"
    run(sys.executable, "-m", "spec", "bundle", "--format", "json", "-o", str(out), cwd=ROOT)
    return out


@pytest.fixture(scope="session")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m mockserver serve --seed 1` on a free loopback port, checking tokens with a secret."""
    server = start_server(
        tmp_path_factory.mktemp("mock") / "mock.log", "--seed", "1", "--workers", "1", "--jwt-secret", SECRET
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token() -> str:
    """A token signed with the mock's secret."""
    return mint()


@pytest.fixture
def valid_body() -> dict[str, Any]:
    """The seed page's sample request: a valid createTask body (a copy)."""
    return copy.deepcopy(dict(load_spec().operation(OPERATION).request_examples["seed-sample"]))
