"""Ctrl-C (SIGINT) during a run: stop it cleanly and keep what it found.

Python's own handler raises KeyboardInterrupt wherever the run happens to be, Hypothesis's engine and
the garbage collector's callbacks included, which may swallow it or turn it into another error. So
while a run is under way the signal only asks it to stop: the request in flight is cut off, and the
run ends at its next check (`_Run.stopped`), its report covering every answer judged so far. A second
Ctrl-C raises KeyboardInterrupt as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any


class StopOnSigint:
    """Within the block, the first SIGINT calls `stop` (in the process's main thread; elsewhere nothing changes).

    A class, not a generator-based context manager: the errors passing through it (frozen dataclass
    exceptions among them) must reach the caller untouched.
    """

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._asked = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        self._stop()

    def __enter__(self) -> StopOnSigint:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
