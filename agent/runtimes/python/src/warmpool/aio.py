"""The one event loop that runs every coroutine of a handler (async handlers and async hooks).

Request threads hand coroutines to it, so async handlers share one loop and its state, as they would
in any asyncio program, and run concurrently with each other on it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine


class LoopThread:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="warmpool-asyncio", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the loop and block the calling thread until it finishes."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
