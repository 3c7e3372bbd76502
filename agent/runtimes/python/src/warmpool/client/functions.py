"""``Client``, ``Function`` and ``FunctionCall``: Modal's names over the agent's HTTP API.

    square = Function.from_name("quickstart", "square")
    square.remote(7)                          # 49
    call = square.spawn(8); call.get()        # 64, durable
    list(square.map(range(10)))               # streamed both ways
    await square.remote.aio(7)                # every method has .aio

Handles are lazy, as Modal's are: ``from_name`` sends nothing, and configuration is resolved on the
first request, so a module can make them at import time.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence

from . import config as config_module
from .blocking import dual, iterate
from .errors import CallTimeoutError, NotFoundError, remote_error
from .mapping import IterSource, map_results, spawn_all, total_of
from .progress import Progress
from .transport import Options, Transport, encode, invocation, new_key, path

_POLL_S = 55.0
"""Longest single long-poll of ``get``: under the 60 s that proxies commonly allow an idle request."""

_FINAL = ("succeeded", "failed", "cancelled")


class Client:
    """Where the agent is and the token for it. ``Client()`` resolves both as runtimes/README.md
    says (``config.py``) on its first request; arguments given here come first."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, profile: Optional[str] = None, options: Options = Options()) -> None:
        self._args = (url, token, profile)
        self._options = options
        self._transport: Optional[Transport] = None
        self._lock = threading.Lock()

    @staticmethod
    def from_env(profile: Optional[str] = None) -> "Client":
        """The shared client of a profile (None: the one the environment selects), so handles made
        apart share keep-alive connections."""
        with _defaults_lock:
            client = _defaults.get(profile)
            if client is None:
                client = _defaults[profile] = Client(profile=profile)
            return client

    @property
    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                url, token, profile = self._args
                self._transport = Transport(config_module.resolve(url, token, profile), self._options)
            return self._transport

    @property
    def url(self) -> str:
        return self.transport.config.url

    async def explain(self, error: NotFoundError) -> NotFoundError:
        """A missing app's error, with the apps this agent has."""
        if error.code != "WP_ERR_APP_NOT_FOUND":
            return error
        try:
            answer = await self.transport.request("GET", "/v1/apps")
            names = sorted(str(app.get("name")) for app in answer.get("apps", []))
        except Exception:  # noqa: BLE001 - the original error is the one to report
            return error
        return NotFoundError(error.status, error.code, f"{error.message}; apps on {self.url}: {', '.join(names) or '(none)'}", error.body)


_defaults: Dict[Optional[str], Client] = {}
_defaults_lock = threading.Lock()


def _client(client: Optional[Client], environment_name: Optional[str]) -> Client:
    return client if client is not None else Client.from_env(environment_name)


def unwrap(answer: Dict[str, Any]) -> Any:
    """A final call's result, or its failure raised."""
    if answer.get("status") == "succeeded":
        return answer.get("result")
    raise remote_error(answer.get("error"), str(answer.get("callId", "")), answer.get("attempts"), str(answer.get("status")))


class FunctionStats(NamedTuple):
    """``f.get_current_stats()`` (Modal's ``FunctionStats``): inputs waiting (queued, or waiting out a
    retry delay) and containers starting or running."""

    backlog: int
    num_total_runners: int


class Function:
    """A deployed function, by app and name."""

    def __init__(self, app_name: str, name: str, client: Client, *, resolve: Optional[Callable[[], Awaitable[Any]]] = None) -> None:
        self.app_name = app_name
        self._name: Optional[str] = None if resolve is not None else name
        self._extra: Optional[Dict[str, Any]] = None
        """A class function's method and parameters, sent with every input (cls.py)."""
        self._label = name
        self._resolve = resolve
        self._client = client

    @staticmethod
    def from_name(app_name: str, name: str, *, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "Function":
        """A handle; nothing is sent until it is used. ``environment_name`` picks the config profile."""
        return Function(app_name, name, _client(client, environment_name))

    def __repr__(self) -> str:
        return f"Function({self.app_name!r}, {self._label!r})"

    async def _target(self, verb: str = "") -> str:
        if self._name is None:
            assert self._resolve is not None
            resolved = await self._resolve()
            # A method of a class function resolves to (function, {"method", "params"}).
            self._name, self._extra = resolved if isinstance(resolved, tuple) else (resolved, None)
        segments = ["v1", "apps", self.app_name, "functions", self._name] + ([verb] if verb else [])
        return path(*segments)

    async def _request(self, method: str, verb: str, body: Any = None, **options: Any) -> Any:
        try:
            return await self._client.transport.request(method, await self._target(verb), body, **options)
        except NotFoundError as error:
            raise await self._client.explain(error) from None

    async def _invocation(self, args: Any, kwargs: Dict[str, Any]) -> Any:
        """The body of a call or spawn: the invocation, or, past ``Options.inline_limit``, a
        reference to it stored first on the agent (``POST /v1/payloads``, used once)."""
        await self._target()
        body = invocation(args, kwargs, self._extra)
        transport = self._client.transport
        encoded = encode(body)
        if len(encoded) <= transport.options.inline_limit:
            return encoded
        stored = await transport.request("POST", "/v1/payloads", encoded, timeout=None)
        return {"payload": stored["payloadId"]}

    @dual
    async def hydrate(self) -> "Function":
        """Checks now that the function exists (``NotFoundError`` lists what the app has)."""
        await self._request("GET", "")
        return self

    @dual
    async def get_current_stats(self) -> FunctionStats:
        """What the agent's status of the function says now: its backlog and its containers."""
        answer = await self._request("GET", "")
        status = answer.get("status") or {}
        runners = sum(1 for c in answer.get("containers") or [] if c.get("state") in ("starting", "ready"))
        return FunctionStats(int(status.get("queueDepth", 0)) + int(status.get("delayed", 0)), runners)

    @dual
    async def remote(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the function and returns its result; raises its exception as a ``RemoteError``."""
        answer = await self._request("POST", "call", await self._invocation(args, kwargs), key=new_key(), timeout=None)
        return unwrap(answer)

    @dual
    async def spawn(self, *args: Any, **kwargs: Any) -> "FunctionCall":
        """Queues a durable call; returns once the agent has stored it."""
        answer = await self._request("POST", "spawn", await self._invocation(args, kwargs), key=new_key())
        return FunctionCall(str(answer["callId"]), self._client)

    # map, starmap, spawn_map: a blocking form that feeds inputs from the caller's thread, and an
    # asyncio one that takes sync or async iterables.

    def _map_aio(self, *iterables: Any, kwargs: Optional[Dict[str, Any]] = None, order_outputs: bool = True, return_exceptions: bool = False, star: bool = False) -> Any:
        return self._results(IterSource(list(iterables), star), list(iterables), kwargs, order_outputs, return_exceptions)

    async def _results(self, source: Any, iterables: List[Any], kwargs: Optional[Dict[str, Any]], order_outputs: bool, return_exceptions: bool) -> Any:
        progress = Progress(self._label, total_of(iterables))
        try:
            target = await self._target("map")
            async for result in map_results(self._client.transport, target, source, kwargs or {}, order_outputs, return_exceptions, progress, self._extra):
                yield result
        except NotFoundError as error:
            raise await self._client.explain(error) from None

    def _map_blocking(self, *iterables: Iterable[Any], kwargs: Optional[Dict[str, Any]] = None, order_outputs: bool = True, return_exceptions: bool = False) -> Any:
        items = list(iterables)
        return iterate(zip(*items), lambda feed: self._results(feed, items, kwargs, order_outputs, return_exceptions))

    def _starmap_aio(self, input_iterator: Any, *, kwargs: Optional[Dict[str, Any]] = None, order_outputs: bool = True, return_exceptions: bool = False) -> Any:
        return self._map_aio(input_iterator, kwargs=kwargs, order_outputs=order_outputs, return_exceptions=return_exceptions, star=True)

    def _starmap_blocking(self, input_iterator: Iterable[Sequence[Any]], *, kwargs: Optional[Dict[str, Any]] = None, order_outputs: bool = True, return_exceptions: bool = False) -> Any:
        return iterate((tuple(item) for item in input_iterator), lambda feed: self._results(feed, [input_iterator], kwargs, order_outputs, return_exceptions))

    async def _spawned(self, source: Any, iterables: List[Any], kwargs: Optional[Dict[str, Any]]) -> Any:
        progress = Progress(self._label, total_of(iterables), verb="spawned")
        try:
            target = await self._target("spawn")
            async for _ in spawn_all(self._client.transport, target, source, kwargs or {}, progress, self._extra):
                yield _
        except NotFoundError as error:
            raise await self._client.explain(error) from None

    async def _spawn_map_aio(self, *iterables: Any, kwargs: Optional[Dict[str, Any]] = None) -> None:
        async for _ in self._spawned(IterSource(list(iterables)), list(iterables), kwargs):
            pass

    def _spawn_map_blocking(self, *iterables: Iterable[Any], kwargs: Optional[Dict[str, Any]] = None) -> None:
        items = list(iterables)
        for _ in iterate(zip(*items), lambda feed: self._spawned(feed, items, kwargs)):
            pass

    async def _for_each_aio(self, *iterables: Any, kwargs: Optional[Dict[str, Any]] = None, ignore_exceptions: bool = False) -> None:
        async for _ in self._map_aio(*iterables, kwargs=kwargs, order_outputs=False, return_exceptions=ignore_exceptions):
            pass

    def _for_each_blocking(self, *iterables: Iterable[Any], kwargs: Optional[Dict[str, Any]] = None, ignore_exceptions: bool = False) -> None:
        for _ in self._map_blocking(*iterables, kwargs=kwargs, order_outputs=False, return_exceptions=ignore_exceptions):
            pass

    map = dual(_map_aio, blocking=_map_blocking)
    map.__doc__ = """Results of the function over zipped inputs (``f.map(xs, ys)`` calls ``f(x, y)``),
    streamed, in input order unless ``order_outputs=False``. The first failure is raised, unless
    ``return_exceptions=True`` yields it in its place. ``kwargs`` go to every call."""
    starmap = dual(_starmap_aio, blocking=_starmap_blocking)
    starmap.__doc__ = """Like ``map``, each item being the positional arguments of one call."""
    spawn_map = dual(_spawn_map_aio, blocking=_spawn_map_blocking)
    spawn_map.__doc__ = """Spawns one durable call per input and returns once all are stored (None, as Modal's)."""
    for_each = dual(_for_each_aio, blocking=_for_each_blocking)
    for_each.__doc__ = """Runs the function over the inputs as ``map`` does and returns once every call has ended,
    ignoring the results (None, as Modal's); the first failure is raised unless ``ignore_exceptions=True``."""


class FunctionCall:
    """A spawned call, by id: wait for it, cancel it, or pass the id on (``from_id``)."""

    def __init__(self, call_id: str, client: Client, clock: Callable[[], float] = time.monotonic) -> None:
        self.object_id = call_id
        self._client = client
        self._clock = clock

    @staticmethod
    def from_id(function_call_id: str, *, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "FunctionCall":
        return FunctionCall(function_call_id, _client(client, environment_name))

    def __repr__(self) -> str:
        return f"FunctionCall({self.object_id!r})"

    @dual
    async def get(self, timeout: Optional[float] = None) -> Any:
        """The result (raised if the call failed), waiting at most ``timeout`` seconds (None: as long
        as it takes; 0: one look). ``CallTimeoutError`` when time runs out; the call goes on."""
        transport = self._client.transport
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            left = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - self._clock()))
            answer = await transport.request("GET", f"{path('v1', 'calls', self.object_id)}?wait={left:.3f}", timeout=left + transport.options.request_timeout)
            if answer.get("status") in _FINAL:
                return unwrap(answer)
            if deadline is not None and self._clock() >= deadline:
                raise CallTimeoutError(self.object_id, float(timeout or 0), str(answer.get("status")))

    @dual
    async def cancel(self) -> bool:
        """Cancels the call: a queued input never runs, a running one's result is dropped. True if
        this request cancelled it (False: it had already finished or been cancelled)."""
        answer = await self._client.transport.request("DELETE", path("v1", "calls", self.object_id))
        return bool(answer.get("cancelled"))

    async def _gather(*calls: "FunctionCall") -> List[Any]:
        import asyncio

        return list(await asyncio.gather(*(call.get.aio() for call in calls)))

    gather = dual(_gather, static=True)
    gather.__doc__ = """Results of several calls, in order; raises the first failure."""
