"""The blocking API over the asyncio one: every method is written once, as a coroutine, and
``f.remote(...)`` runs ``f.remote.aio(...)`` on a background event loop while the caller waits.

Why a background loop rather than ``asyncio.run`` per call: keep-alive connections belong to a loop,
so one long-lived loop keeps them across calls; it works where a loop already runs in the caller's
thread (Jupyter); and concurrent blocking calls from many threads share it. It is the one
process-wide object of the client: a daemon thread started on first use and started again in a
child after ``fork`` (the parent's thread does not exist there).

Interrupting the caller (Ctrl-C) cancels the coroutine and waits for it to unwind, which closes its
connection: the agent cancels a call or map whose caller went away.

Iterators (``map``) keep the caller's inputs on the caller's thread: ``iterate`` pulls them there
and hands them to the loop, at most ``_CREDITS`` ahead of what the loop has taken, so a generator
that reads a sqlite3 connection or a file of the caller's keeps working, and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import os
import queue
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Optional, TypeVar

T = TypeVar("T")

_CREDITS = 64
"""Inputs the caller's thread may have handed over that the loop has not yet taken."""


class _LoopThread:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="warmpool-client", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def on_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self) -> None:
        """At exit: close what is still open on the loop (its idle connections), then the loop."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(timeout=1)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=1)
        if not thread.is_alive():
            loop.close()


_shared = _LoopThread()
atexit.register(_shared.stop)


def run(awaitable: Awaitable[T]) -> T:
    """Runs ``awaitable`` on the background loop and returns its result in the caller's thread."""
    if _shared.on_loop_thread():
        raise RuntimeError("a blocking warmpool call on the client's own event loop would wait for itself")

    async def main() -> T:
        return await awaitable

    future = asyncio.run_coroutine_threadsafe(main(), _shared.loop())
    try:
        return future.result()
    except BaseException:
        _settle(future)
        raise


def _settle(future: "concurrent.futures.Future[Any]") -> None:
    """Cancels ``future`` if the caller gave up on it, and waits until its coroutine has unwound."""
    if future.done():
        return
    future.cancel()
    try:
        future.result()
    except BaseException:  # noqa: B036 - only waiting for the unwinding here
        pass


_ITEM, _CREDIT, _DONE, _FAILED = range(4)
END = object()
"""What a source's ``get()`` returns after its last input."""


class Feed:
    """The loop's end of ``iterate``'s inputs: ``await feed.get()`` returns the next one, or None at the end."""

    def __init__(self, events: "queue.SimpleQueue[Any]") -> None:
        self._events = events
        self._items: Optional[asyncio.Queue] = None

    def _queue(self) -> asyncio.Queue:
        if self._items is None:  # made on the loop's thread: on 3.9 a Queue binds to the current loop
            self._items = asyncio.Queue()
        return self._items

    def put(self, item: Any) -> None:
        self._queue().put_nowait(item)

    async def get(self) -> Any:
        item = await self._queue().get()
        if item is END:
            return END
        self._events.put((_CREDIT, 1))
        return item



def iterate(inputs: Iterator[Any], produce: Callable[[Feed], AsyncIterator[T]]) -> Iterator[T]:
    """Yields what ``produce(feed)`` yields on the loop, while feeding it ``inputs`` from this thread."""
    events: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
    feed = Feed(events)
    loop = _shared.loop()

    async def pump() -> None:
        try:
            async for item in produce(feed):
                events.put((_ITEM, item))
            events.put((_DONE, None))
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: B036 - handed to the caller's thread
            events.put((_FAILED, error))

    future = asyncio.run_coroutine_threadsafe(pump(), loop)
    credits = _CREDITS
    exhausted = False
    try:
        while True:
            # Results first: inputs are pulled only while none is waiting, so results not yet
            # consumed stay bounded by what the agent had in flight.
            try:
                kind, value = events.get_nowait()
            except queue.Empty:
                if credits > 0 and not exhausted:
                    try:
                        item = next(inputs)
                    except StopIteration:
                        exhausted = True
                        item = END
                    loop.call_soon_threadsafe(feed.put, item)
                    credits -= item is not END
                    continue
                kind, value = events.get()
            if kind == _ITEM:
                yield value
            elif kind == _CREDIT:
                credits += value
            elif kind == _DONE:
                return
            else:
                raise value
    finally:
        _settle(future)


# --- methods with .aio ------------------------------------------------------------------------


class _Pair:
    __slots__ = ("_blocking", "_aio", "__wrapped__", "__doc__")

    def __init__(self, blocking: Callable[..., Any], aio: Callable[..., Any]) -> None:
        self._blocking = blocking
        self._aio = aio
        self.__wrapped__ = aio
        self.__doc__ = getattr(aio, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._blocking(*args, **kwargs)

    def aio(self, *args: Any, **kwargs: Any) -> Any:
        return self._aio(*args, **kwargs)


class dual:
    """A method with a blocking form, ``obj.name(...)``, and an asyncio one, ``obj.name.aio(...)``.

    ``dual(coroutine_method)`` runs the coroutine on the background loop for the blocking form;
    ``dual(aio, blocking=...)`` pairs two written apart (iterators: ``map``)."""

    def __init__(self, aio: Callable[..., Any], blocking: Optional[Callable[..., Any]] = None, static: bool = False) -> None:
        self._aio = aio
        self._blocking = blocking
        self._static = static
        functools.update_wrapper(self, aio)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None and not self._static:
            return self
        aio = self._aio if self._static else self._aio.__get__(obj, owner)
        if self._blocking is not None:
            return _Pair(self._blocking.__get__(obj, owner), aio)
        return _Pair(lambda *args, **kwargs: run(aio(*args, **kwargs)), aio)
