"""Worker memory as the bench reads it: RSS, PSS and private memory from /proc/PID/smaps_rollup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import _servers
from bench._servers import Memory, parse_smaps_rollup, read_memory
from bench.run import Round, memory_cell, memory_max

SMAPS_ROLLUP = """\
55cca59e3000-7ffd5a179000 ---p 00000000 00:00 0                          [rollup]
Rss:               81920 kB
Pss:               40960 kB
Pss_Dirty:         20480 kB
Pss_Anon:          20480 kB
Pss_File:          20480 kB
Pss_Shmem:             0 kB
Shared_Clean:      51200 kB
Shared_Dirty:          0 kB
Private_Clean:     10240 kB
Private_Dirty:     20480 kB
Referenced:        81920 kB
Anonymous:         20480 kB
Swap:                  0 kB
SwapPss:               0 kB
"""


def test_smaps_rollup_is_parsed() -> None:
    assert parse_smaps_rollup(SMAPS_ROLLUP) == Memory(80.0, 40.0, 30.0)
    # `Pss_Dirty` and the other Pss_ lines are not `Pss`; without Rss or Pss there is no figure.
    assert parse_smaps_rollup(SMAPS_ROLLUP.replace("Pss:  ", "Pxx:  ")) is None
    assert parse_smaps_rollup("") is None
    assert Memory(80.0, 40.0, 30.0).cell() == "80/40/30"
    assert Memory(80.0, 80.0, None, from_smaps=False).cell() == "80/80/-"


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/smaps_rollup"), reason="no smaps_rollup here")
def test_this_process_s_memory() -> None:
    memory = read_memory(os.getpid())
    assert memory is not None and memory.from_smaps
    assert memory.rss_mb > 0 and memory.pss_mb > 0 and memory.private_mb is not None and memory.private_mb > 0
    assert memory.pss_mb <= memory.rss_mb and memory.private_mb <= memory.pss_mb


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/smaps_rollup"), reason="no smaps_rollup here")
def test_a_forked_child_shares_pages_its_rss_counts_in_full() -> None:
    # A child forked from this process maps the parent's pages: RSS counts them, PSS splits them.
    child = subprocess.Popen(
        [sys.executable, "-c", "import os, time; pid = os.fork(); time.sleep(30)"], stdout=subprocess.DEVNULL
    )
    try:
        found = None
        for _ in range(200):
            children = _servers._children(child.pid)
            found = read_memory(children[0]) if children else None
            if found is not None:
                break
            time.sleep(0.05)
        assert found is not None
        assert found.pss_mb < found.rss_mb
    finally:
        for pid in _servers._descendants(child.pid):
            os.kill(pid, 9)
        child.kill()
        child.wait()


def test_an_unreadable_smaps_rollup_falls_back_to_rss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_servers, "_rss_mb", lambda pid: 12.5)
    real = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "smaps_rollup":
            raise PermissionError(str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_text", refuse)
    assert read_memory(os.getpid()) == Memory(12.5, 12.5, None, from_smaps=False)
    monkeypatch.setattr(_servers, "_rss_mb", lambda pid: None)
    assert read_memory(os.getpid()) is None


def test_the_tables_take_the_largest_of_each_figure() -> None:
    from bench._wrk import WrkResult

    result = WrkResult(1000, 30.0, 5.0, 8.0, 12.0, 20.0, 6.0, non2xx=0, socket_errors=0)
    rounds = [
        Round("mock", 1, result, [Memory(90.0, 50.0, 40.0), Memory(80.0, 60.0, 35.0)]),
        Round("mock", 2, result, [Memory(85.0, 55.0, None, from_smaps=False)]),
    ]
    figures = memory_max(rounds)
    assert figures == {"rss_max_mb": 90.0, "pss_max_mb": 60.0, "private_max_mb": 40.0}
    assert memory_cell(figures) == "90/60/40"
    assert memory_max([]) == {"rss_max_mb": 0.0, "pss_max_mb": 0.0, "private_max_mb": None}
    assert memory_cell(memory_max(rounds[1:])) == "85/55/-"
