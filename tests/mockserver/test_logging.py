"""--log-file: one log file the workers share, rotated by size, no line lost; over a real server too."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockserver._serve import SharedRotatingFileHandler
from spec import load_spec
from tests.mockserver.support import STREAM, Server, headers

LINE = "x" * 90


def _write(path: str, worker: int, lines: int, max_bytes: int) -> None:
    logger = logging.getLogger(f"rotation-test-{worker}")
    logger.handlers[:] = [SharedRotatingFileHandler(Path(path), max_bytes=max_bytes, backups=50)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for number in range(lines):
        logger.info("%d %d %s", worker, number, LINE)


def test_processes_share_one_rotated_file_and_lose_no_line(tmp_path: Path) -> None:
    path = tmp_path / "mock.log"
    max_bytes, lines, workers = 20_000, 2_000, 3
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_write, args=(str(path), w, lines, max_bytes)) for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    files = [path, *sorted(tmp_path.glob("mock.log.*"), key=lambda p: p.name)]
    files = [f for f in files if not f.name.endswith(".lock")]
    written = [line for f in files for line in f.read_text().splitlines()]
    assert sorted(written) == sorted(f"{w} {n} {LINE}" for w in range(workers) for n in range(lines))
    assert len(files) > 5  # it rotated
    # A file outgrows the limit only by what other processes wrote before they saw the rotation.
    assert all(f.stat().st_size < 2 * max_bytes for f in files)


def test_the_oldest_files_beyond_the_backups_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "mock.log"
    logger = logging.getLogger("rotation-test-bounded")
    logger.handlers[:] = [SharedRotatingFileHandler(path, max_bytes=1_000, backups=3)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for number in range(500):
        logger.info("%d %s", number, LINE)
    logs = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert logs == ["mock.log", "mock.log.1", "mock.log.2", "mock.log.3"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 5 * 1_000


@pytest.mark.http
def test_the_server_logs_each_request_to_the_file(serve: Callable[..., Server], tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    server = serve("--log-file", str(log))
    path = load_spec().operation("getTasks").path(streamId=STREAM)
    for _ in range(3):
        assert httpx.post(server.url(path), json={}, headers=headers(), timeout=10).status_code == 200
    assert log.read_text().count(path) >= 3
