"""A one-line progress bar for ``map``, ``starmap`` and ``spawn_map`` on stderr, only when stderr is a
terminal: piped or captured output gets nothing, so logs and test output stay clean.

Redrawn at most ten times a second (``_EVERY``): a map of 100,000 fast inputs would otherwise spend
more time writing to the terminal than waiting for results.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

_EVERY = 0.1
_WIDTH = 24


class Progress:
    def __init__(self, label: str, total: Optional[int], verb: str = "done", stream: Optional[TextIO] = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self._stream)
        self._label = label
        self._total = total
        self._verb = verb
        self._clock = clock
        self._started = clock()
        self._drawn = 0.0
        self.done = 0
        self.failed = 0

    def advance(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.enabled and self._clock() - self._drawn >= _EVERY:
            self._draw()

    def close(self) -> None:
        if self.enabled and self.done:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
        self.enabled = False

    def line(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        counts = f"{self.done}/{self._total}" if self._total is not None else f"{self.done}"
        bar = ""
        if self._total:
            filled = min(_WIDTH, self.done * _WIDTH // self._total)
            bar = "[" + "#" * filled + "." * (_WIDTH - filled) + "] "
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self._label} {bar}{counts} {self._verb}{failed}, {self.done / elapsed:.0f}/s"

    def _draw(self) -> None:
        self._drawn = self._clock()
        self._stream.write("\r\x1b[2K" + self.line())
        self._stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False
