"""``Dict`` and ``Queue``: Modal's named, durable key-value store and FIFO queue, kept by the agent
(routes in agent/src/gateway/collections.ts).

    d = Dict.from_name("results", create_if_missing=True)
    d["a"] = 1; d.put("b", 2, ttl=60); d.get("a"); "a" in d; len(d); d.pop("a"); list(d.items())
    q = Queue.from_name("jobs", create_if_missing=True)
    q.put({"n": 1}); q.put_many([2, 3], partition="p"); q.get(timeout=5); q.get_many(10, block=False)
    for v in q.iterate(item_poll_timeout=5): ...     # in place, in order
    with Queue.ephemeral() as tmp: ...               # gone after the block

Handles are lazy: ``from_name`` sends nothing; with ``create_if_missing=True`` the first operation
creates the object if needed. Inside a worker the App's token reaches the App's own Dicts and
Queues; outside, the admin token reaches its own namespace, or an App's with ``app="..."``.

Keys are JSON scalars or tuples/lists of them (they come back from ``keys()`` as tuples), values
any JSON value: they are compared and stored as JSON, so ``1`` and ``1.0`` are the same key, as in
Python.
"""

from __future__ import annotations

import queue as queue_module
import time
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Dict as Dict_, Iterable, Iterator, List, Optional, Tuple
from urllib.parse import quote

from .blocking import dual, run
from .errors import InvalidError, NotFoundError
from .functions import Client, _client
from .transport import path

_BATCH = 1000
"""Most items one request moves (the agent's limit)."""
_WAIT_S = 55.0
"""Longest wait of one queue get request (the agent allows 60 s); longer timeouts ask again."""
_MISSING = object()


def _key(key: Any) -> Any:
    if isinstance(key, tuple):
        return [_key(k) for k in key]
    if isinstance(key, list):
        raise InvalidError(f"Dict key {key!r}: a list is not hashable; use a tuple")
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    raise InvalidError(f"Dict key {key!r}: keys are str, int, float, bool, None or tuples of them")


def _unkey(key: Any) -> Any:
    return tuple(_unkey(k) for k in key) if isinstance(key, list) else key


class _Named:
    _kind = ""

    def __init__(self, name: str, client: Client, create_if_missing: bool, app: Optional[str]) -> None:
        self.name = name
        self.app = app
        self._client = client
        self._create = create_if_missing
        self._ready = not create_if_missing
        self._base = path("v1", f"{self._kind}s", name)
        self._query = "" if app is None else f"?app={quote(app, safe='')}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}.from_name({self.name!r}{'' if self.app is None else f', app={self.app!r}'})"

    def _target(self, *more: str, query: str = "") -> str:
        target = self._base + "".join("/" + part for part in more)
        both = "&".join(q for q in (self._query.lstrip("?"), query) if q)
        return target + ("?" + both if both else "")

    async def _request(self, method: str, *more: str, body: Any = None, query: str = "", timeout: Optional[float] = -1.0) -> Any:
        if not self._ready:
            await self._client.transport.request("PUT", self._target())
            self._ready = True
        return await self._client.transport.request(method, self._target(*more, query=query), body, timeout=timeout)

    @dual
    async def hydrate(self) -> Any:
        """Checks now that it exists (creating it with ``create_if_missing``): ``NotFoundError`` otherwise."""
        await self._request("GET")
        return self

    @dual
    async def len(self) -> int:
        answer = await self._request("GET")
        return int(answer["len"])

    @dual
    async def delete(self) -> bool:
        """Deletes it and everything in it (Modal: ``Dict.objects.delete(name)``)."""
        answer = await self._client.transport.request("DELETE", self._target())
        self._ready = not self._create
        return bool(answer["deleted"])


class _Ephemeral:
    """``with Dict.ephemeral() as d`` (or ``async with``): a Dict or Queue under a fresh name, created on
    entry and deleted on exit (Modal's ``ephemeral``). One left by a process that died stays until it is
    deleted by name."""

    def __init__(self, make: Callable[[], "_Named"], fill: Optional[Callable[["_Named"], Awaitable[None]]] = None) -> None:
        self._make = make
        self._fill = fill
        self._obj: Optional[_Named] = None

    async def _enter(self) -> Any:
        obj = self._make()
        await obj.hydrate.aio()
        self._obj = obj
        if self._fill is not None:
            await self._fill(obj)
        return obj

    async def _exit(self) -> None:
        if self._obj is not None:
            await self._obj.delete.aio()
            self._obj = None

    def __enter__(self) -> Any:
        return run(self._enter())

    def __exit__(self, *exc: Any) -> None:
        run(self._exit())

    async def __aenter__(self) -> Any:
        return await self._enter()

    async def __aexit__(self, *exc: Any) -> None:
        await self._exit()


def _ephemeral_name() -> str:
    return f"ephemeral-{uuid.uuid4().hex[:20]}"


class Dict(_Named):
    """A named, durable dict (Modal's ``modal.Dict``)."""

    _kind = "dict"

    @staticmethod
    def from_name(name: str, *, create_if_missing: bool = False, app: Optional[str] = None, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "Dict":
        return Dict(name, _client(client, environment_name), create_if_missing, app)

    @staticmethod
    def ephemeral(data: Optional[Dict_[Any, Any]] = None, *, app: Optional[str] = None, environment_name: Optional[str] = None, client: Optional[Client] = None) -> _Ephemeral:
        """A Dict for the ``with`` block only, holding ``data`` at first."""

        async def fill(d: Any) -> None:
            if data:
                await d.update.aio(data)

        return _Ephemeral(lambda: Dict(_ephemeral_name(), _client(client, environment_name), True, app), fill)

    @dual
    async def get(self, key: Any, default: Any = None) -> Any:
        answer = await self._request("POST", "get", body={"key": _key(key)})
        return answer["value"] if answer["found"] else default

    @dual
    async def contains(self, key: Any) -> bool:
        return bool((await self._request("POST", "contains", body={"key": _key(key)}))["found"])

    @dual
    async def put(self, key: Any, value: Any, *, ttl: Optional[float] = None, skip_if_exists: bool = False) -> bool:
        """Stores ``value``; with ``ttl`` (seconds) it expires then. Returns whether it was written
        (False only with ``skip_if_exists`` and a live value there)."""
        body = {"items": [{"key": _key(key), "value": value}], "ttl": ttl, "skipIfExists": skip_if_exists}
        return bool((await self._request("POST", "put", body=body))["written"])

    @dual
    async def update(self, other: Any = (), *, ttl: Optional[float] = None, **kwargs: Any) -> None:
        """Stores many entries, ``_BATCH`` per request (each request is all or nothing)."""
        items = list(other.items() if hasattr(other, "items") else other) + list(kwargs.items())
        for start in range(0, len(items), _BATCH):
            chunk = [{"key": _key(k), "value": v} for k, v in items[start : start + _BATCH]]
            await self._request("POST", "put", body={"items": chunk, "ttl": ttl})

    @dual
    async def pop(self, key: Any, default: Any = _MISSING) -> Any:
        answer = await self._request("POST", "pop", body={"key": _key(key)})
        if answer["found"]:
            return answer["value"]
        if default is _MISSING:
            raise KeyError(key)
        return default

    @dual
    async def clear(self) -> None:
        await self._client.transport.request("DELETE", self._target())
        await self._client.transport.request("PUT", self._target())
        self._ready = True

    async def _page(self, values: bool, after: Optional[str]) -> Tuple[List[Any], Optional[str]]:
        query = f"limit={_BATCH}&values={'true' if values else 'false'}" + ("" if after is None else f"&after={quote(after, safe='')}")
        answer = await self._request("GET", "items", query=query)
        return [(_unkey(item["key"]), item.get("value")) for item in answer["items"]], answer.get("next")

    async def _pages_aio(self, values: bool) -> AsyncIterator[Tuple[Any, Any]]:
        after: Optional[str] = None
        while True:
            page, after = await self._page(values, after)
            for pair in page:
                yield pair
            if after is None:
                return

    def _pages(self, values: bool) -> Iterator[Tuple[Any, Any]]:
        """A page (1,000 entries) at a time, so a large Dict is never held whole."""
        after: Optional[str] = None
        while True:
            page, after = run(self._page(values, after))
            yield from page
            if after is None:
                return

    async def _keys_aio(self) -> AsyncIterator[Any]:
        async for key, _ in self._pages_aio(False):
            yield key

    async def _values_aio(self) -> AsyncIterator[Any]:
        async for _, value in self._pages_aio(True):
            yield value

    async def _items_aio(self) -> AsyncIterator[Tuple[Any, Any]]:
        async for pair in self._pages_aio(True):
            yield pair

    def _keys(self) -> Iterator[Any]:
        return (key for key, _ in self._pages(False))

    def _values(self) -> Iterator[Any]:
        return (value for _, value in self._pages(True))

    def _items(self) -> Iterator[Tuple[Any, Any]]:
        return self._pages(True)

    keys = dual(_keys_aio, blocking=_keys)
    values = dual(_values_aio, blocking=_values)
    items = dual(_items_aio, blocking=_items)

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Any) -> None:
        self.pop(key)

    def __contains__(self, key: Any) -> bool:
        return self.contains(key)

    def __len__(self) -> int:
        return self.len()

    def __iter__(self) -> Iterator[Any]:
        return self.keys()


class Queue(_Named):
    """A named, durable FIFO queue with partitions (Modal's ``modal.Queue``)."""

    _kind = "queue"

    @staticmethod
    def from_name(name: str, *, create_if_missing: bool = False, app: Optional[str] = None, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "Queue":
        return Queue(name, _client(client, environment_name), create_if_missing, app)

    @staticmethod
    def ephemeral(*, app: Optional[str] = None, environment_name: Optional[str] = None, client: Optional[Client] = None) -> _Ephemeral:
        """A Queue for the ``with`` block only."""
        return _Ephemeral(lambda: Queue(_ephemeral_name(), _client(client, environment_name), True, app))

    async def _peek(self, after: int, wait: float, partition: Optional[str]) -> Tuple[List[Any], int]:
        query = f"partition={quote(partition or '', safe='')}&after={after}&limit={_BATCH}&timeout={wait:.3f}"
        answer = await self._request("GET", "items", query=query, timeout=wait + 30)
        return answer["values"], int(answer["next"])

    async def _iterate_aio(self, *, partition: Optional[str] = None, item_poll_timeout: float = 0.0) -> AsyncIterator[Any]:
        after = 0
        deadline = time.monotonic() + item_poll_timeout
        while True:
            wait = max(0.0, min(_WAIT_S, deadline - time.monotonic()))
            values, after = await self._peek(after, wait, partition)
            for value in values:
                yield value
            if values:
                deadline = time.monotonic() + item_poll_timeout
            elif time.monotonic() >= deadline:
                return

    def _iterate(self, *, partition: Optional[str] = None, item_poll_timeout: float = 0.0) -> Iterator[Any]:
        """A page (1,000 values) at a time, so a long queue is never held whole."""
        after = 0
        deadline = time.monotonic() + item_poll_timeout
        while True:
            wait = max(0.0, min(_WAIT_S, deadline - time.monotonic()))
            values, after = run(self._peek(after, wait, partition))
            yield from values
            if values:
                deadline = time.monotonic() + item_poll_timeout
            elif time.monotonic() >= deadline:
                return

    # Modal's ``Queue.iterate``: the values in order, left in place; once caught up, waits up to
    # ``item_poll_timeout`` seconds for another before it ends.
    iterate = dual(_iterate_aio, blocking=_iterate)

    @dual
    async def put(self, value: Any, *, partition: Optional[str] = None) -> None:
        await self._request("POST", "put", body={"values": [value], "partition": partition})

    @dual
    async def put_many(self, values: Iterable[Any], *, partition: Optional[str] = None) -> None:
        """Appends ``values`` in order, ``_BATCH`` per request (each request is all or nothing)."""
        items = list(values)
        for start in range(0, len(items), _BATCH):
            await self._request("POST", "put", body={"values": items[start : start + _BATCH], "partition": partition})

    async def _take(self, n: int, block: bool, timeout: Optional[float], partition: Optional[str]) -> List[Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.0
            if block:
                wait = _WAIT_S if deadline is None else max(0.0, min(_WAIT_S, deadline - time.monotonic()))
            answer = await self._request("POST", "get", body={"n": n, "partition": partition, "timeout": wait}, timeout=wait + 30)
            values = answer["values"]
            if values or not block or (deadline is not None and time.monotonic() >= deadline):
                return values

    @dual
    async def get(self, block: bool = True, timeout: Optional[float] = None, *, partition: Optional[str] = None) -> Any:
        """The oldest value. Waits while empty (at most ``timeout`` s, then ``queue.Empty``);
        with ``block=False`` an empty queue gives None, as Modal's does."""
        values = await self._take(1, block, timeout, partition)
        if values:
            return values[0]
        if block:
            raise queue_module.Empty()
        return None

    @dual
    async def get_many(self, n_values: int, block: bool = True, timeout: Optional[float] = None, *, partition: Optional[str] = None) -> List[Any]:
        """Up to ``n_values`` of the oldest values; waits for at least one while blocking (an empty
        list when ``timeout`` passes or with ``block=False``)."""
        if not 1 <= n_values <= _BATCH:
            raise InvalidError(f"get_many(n_values={n_values!r}): must be from 1 to {_BATCH}")
        return await self._take(n_values, block, timeout, partition)

    @dual
    async def len(self, *, partition: Optional[str] = None, total: bool = False) -> int:
        """Values in ``partition`` (the default one when None), or in all partitions with ``total``."""
        query = "" if total else f"partition={quote(partition or '', safe='')}"
        return int((await self._request("GET", query=query))["len"])

    @dual
    async def clear(self) -> None:
        """Empties every partition."""
        await self._client.transport.request("DELETE", self._target())
        await self._client.transport.request("PUT", self._target())
        self._ready = True

    def __len__(self) -> int:
        return self.len()
