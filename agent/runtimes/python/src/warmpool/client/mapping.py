"""``map``, ``starmap`` and ``spawn_map``: many inputs, never all of them in memory.

``map`` is one request on the agent's map route: inputs go up as an NDJSON body while results come
down as NDJSON lines, on the same connection at once (``http.py`` says why that matters). The body
is written as the inputs are pulled, and the next input is pulled only once the socket has taken
the last one, so the agent's backpressure (it admits at most ``mapWindow`` inputs of a map that have
no result yet) reaches the caller's generator. Results are read only as the caller asks for them.

``spawn_map`` is one durable ``spawn`` per input, ``_SPAWNS`` at a time, each with its own
idempotency key, waiting out a ``429`` (as Modal's does) instead of failing the whole map.

Inputs come from a *source*: ``await source.get()`` gives the next tuple of positional arguments,
or ``END``. ``IterSource`` pulls the caller's iterables on the event loop (``.aio``); the blocking
API feeds one from the caller's thread (``blocking.iterate``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, AsyncIterator, Dict, Iterable, Iterator, List, Optional, Union

from .blocking import END
from .errors import RemoteError, TooManyPendingError, remote_error
from .http import Connection, ProtocolError
from .progress import Progress
from .transport import Transport, decode, encode, invocation, new_key, revive

_SPAWNS = 32
"""Spawn requests of one ``spawn_map`` in flight at once: enough to keep the agent's group commit
busy (one fsync covers every spawn that arrived in the same turn of its event loop)."""

_STREAM_ERROR_STATUS = {"WP_ERR_PAYLOAD_TOO_LARGE": 413}
_NOTICE_EVERY = 10.0


class IterSource:
    """Inputs from iterables, sync or async, zipped (``map``) or one tuple per item (``starmap``)."""

    def __init__(self, iterables: "List[Union[Iterable[Any], Any]]", star: bool = False) -> None:
        self._star = star
        self._sync: Optional[Iterator[Any]] = None
        self._async: Optional[AsyncIterator[Any]] = None
        if all(not hasattr(it, "__aiter__") for it in iterables):
            self._sync = iter(iterables[0]) if star else zip(*iterables)
        else:
            self._async = _azip(iterables)

    async def get(self) -> Any:
        if self._sync is not None:
            try:
                item = next(self._sync)
            except StopIteration:
                return END
        else:
            assert self._async is not None
            try:
                item = await self._async.__anext__()
            except StopAsyncIteration:
                return END
            if self._star:
                item = item[0]
        return tuple(item)


async def _azip(iterables: "List[Any]") -> AsyncIterator[tuple]:
    iterators = [it.__aiter__() if hasattr(it, "__aiter__") else iter(it) for it in iterables]
    while True:
        item = []
        for it in iterators:
            try:
                item.append(await it.__anext__() if hasattr(it, "__anext__") else next(it))
            except (StopIteration, StopAsyncIteration):
                return
        yield tuple(item)


def total_of(iterables: "List[Any]") -> Optional[int]:
    """How many inputs there will be, when every iterable knows its length (a list, a range)."""
    try:
        return min(len(it) for it in iterables)
    except TypeError:
        return None


async def map_lines(transport: Transport, target: str, source: Any, kwargs: Dict[str, Any], ordered: bool, extra: Optional[Dict[str, Any]] = None) -> AsyncIterator[Dict[str, Any]]:
    """The agent's result lines of one map (``{"index", "callId", "status", "result"|"error"}``)."""
    connection = await transport.open_stream(f"{target}?ordered={'true' if ordered else 'false'}", [("Content-Type", "application/x-ndjson")], new_key())
    sender = asyncio.ensure_future(_send(transport, connection, source, kwargs, extra))
    finished = False
    try:
        try:
            head = await connection.read_head()
        except (OSError, ProtocolError) as error:
            raise _sender_failure(sender) or transport.unavailable(error, 1) from error
        if head.status != 200:
            raise transport.error(head.status, decode(await connection.read_body()))
        pending = b""
        try:
            async for chunk in connection.body():
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    parsed = json.loads(line, object_hook=revive)
                    if parsed.get("done") is True:
                        finished = True
                    elif "callId" not in parsed:
                        code = str((parsed.get("error") or {}).get("code", ""))
                        raise transport.error(_STREAM_ERROR_STATUS.get(code, 400), parsed)
                    else:
                        yield parsed
        except (OSError, ProtocolError) as error:
            raise _sender_failure(sender) or transport.unavailable(error, 1) from error
        if not finished:
            raise _sender_failure(sender) or transport.unavailable(ProtocolError("the map's answer ended without its summary line"), 1)
    finally:
        sender.cancel()
        if finished and sender.done() and not sender.cancelled() and sender.exception() is None:
            transport.release(connection)
        else:
            connection.close()


async def _send(transport: Transport, connection: Connection, source: Any, kwargs: Dict[str, Any], extra: Optional[Dict[str, Any]]) -> None:
    try:
        while True:
            args = await source.get()
            if args is END:
                connection.write_last_chunk()
                await connection.drain()
                return
            line = encode(invocation(args, kwargs, extra))
            if len(line) > transport.options.inline_limit:
                # Over the inline limit, as remote() does: stored first (used once), the line names it.
                stored = await transport.request("POST", "/v1/payloads", line, timeout=None)
                line = encode({"payload": stored["payloadId"]})
            connection.write_chunk(line + b"\n")
            await connection.drain()
    except (OSError, ProtocolError):
        return  # the agent closed the connection: its answer (or the reader) says why
    except BaseException:
        connection.close()  # the reader stops at once, and reports this error instead
        raise


class _Notice:
    """One line on stderr while ``spawn_map`` waits out 429s, at most every ``_NOTICE_EVERY`` seconds,
    so a map that seems stuck says why (Modal warns the same way)."""

    def __init__(self, target: str, clock: Any = time.monotonic) -> None:
        self._target = target
        self._clock = clock
        self._last: Optional[float] = None

    def waiting(self, error: TooManyPendingError, delay: float) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < _NOTICE_EVERY:
            return
        self._last = now
        sys.stderr.write(f"warmpool: spawn_map is waiting for the agent to take more: {error.message}; retrying every {delay:g} s\n")
        sys.stderr.flush()


def _sender_failure(sender: "asyncio.Future[None]") -> Optional[BaseException]:
    if sender.done() and not sender.cancelled():
        return sender.exception()
    return None


async def map_results(
    transport: Transport,
    target: str,
    source: Any,
    kwargs: Dict[str, Any],
    order_outputs: bool,
    return_exceptions: bool,
    progress: Progress,
    extra: Optional[Dict[str, Any]] = None,
) -> AsyncIterator[Any]:
    """Modal's semantics over the lines: results, or the first failure raised, or (with
    ``return_exceptions``) failures yielded in their place as ``RemoteError``s."""
    lines = map_lines(transport, target, source, kwargs, order_outputs, extra)
    try:
        async for line in lines:
            if line.get("status") == "succeeded":
                progress.advance()
                yield line.get("result")
                continue
            progress.advance(failed=True)
            error: RemoteError = remote_error(line.get("error"), str(line.get("callId", "")), line.get("attempts"), str(line.get("status")))
            if not return_exceptions:
                raise error
            yield error
    finally:
        progress.close()
        # Now rather than when collected: closing the connection is what cancels the inputs left.
        await lines.aclose()


async def spawn_all(transport: Transport, target: str, source: Any, kwargs: Dict[str, Any], progress: Progress, extra: Optional[Dict[str, Any]] = None) -> AsyncIterator[None]:
    """Spawns every input; returns once each is durable on the agent. (An async generator that
    yields nothing, so the blocking API can feed it through ``blocking.iterate``.)"""
    slots = asyncio.Semaphore(_SPAWNS)
    notice = _Notice(target)
    running: "set[asyncio.Future[None]]" = set()
    failures: List[BaseException] = []

    async def spawn(args: tuple) -> None:
        key = new_key()
        try:
            body: Any = encode(invocation(args, kwargs, extra))
            if len(body) > transport.options.inline_limit:
                # Stored first, as remote() does; a 429 leaves it stored for the retry (it is taken when accepted).
                stored = await transport.request("POST", "/v1/payloads", body, timeout=None)
                body = {"payload": stored["payloadId"]}
            while True:
                try:
                    await transport.request("POST", target, body, key=key)
                    break
                except TooManyPendingError as error:
                    delay = min(max(error.retry_after, 0.05), 30.0)
                    notice.waiting(error, delay)
                    await asyncio.sleep(delay)
            progress.advance()
        except BaseException as error:  # noqa: B036 - reported once the others have settled
            failures.append(error)
        finally:
            slots.release()

    try:
        while not failures:
            await slots.acquire()
            args = await source.get()
            if args is END or failures:
                slots.release()
                break
            task = asyncio.ensure_future(spawn(args))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.wait(list(running))
    finally:
        for task in running:
            task.cancel()
        progress.close()
    if failures:
        raise failures[0]
    return
    yield  # an async generator  # noqa: unreachable
