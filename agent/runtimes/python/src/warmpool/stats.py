"""The counters behind ``GET /stats``.

Tests use them to prove the agent never sends more than ``concurrency.maxInputs`` at once, so
``maxInFlight`` is updated under the same lock as ``inFlight``: a racy maximum would hide exactly the
overshoot it exists to catch.
"""

from __future__ import annotations

import threading
from typing import Dict


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._invocations = 0
        self._batches = 0
        self._max_batch = 0

    def begin(self, inputs: int, batched: bool) -> None:
        with self._lock:
            self._in_flight += inputs
            if self._in_flight > self._max_in_flight:
                self._max_in_flight = self._in_flight
            self._invocations += inputs
            if batched:
                self._batches += 1
                if inputs > self._max_batch:
                    self._max_batch = inputs

    def end(self, inputs: int) -> None:
        with self._lock:
            self._in_flight -= inputs

    def snapshot(self) -> Dict[str, int]:
        with self._lock:
            return {
                "inFlight": self._in_flight,
                "maxInFlight": self._max_in_flight,
                "invocations": self._invocations,
                "batches": self._batches,
                "maxBatch": self._max_batch,
            }
