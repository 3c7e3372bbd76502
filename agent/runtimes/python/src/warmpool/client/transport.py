"""The agent's JSON API over ``http.py``: auth, idempotency keys, retries, and errors.

Retries. A request that fails to connect, or whose connection breaks before the whole answer has
arrived, is sent again up to ``retries`` times (0.25 s, 0.5 s, 1 s, 2 s apart: about 4 s, enough for
an agent restarting), and so is a ``503`` (connection cap, shutting down). Every try of one logical
call carries the same ``Idempotency-Key``, so an agent that honours the key runs it once; one that
does not (today's) may run a call twice when its connection broke after the agent had read it.
A reused keep-alive connection that fails before any answer was closed by the agent while idle:
that request goes again at once on a new connection, without counting as a retry.
"""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
import uuid
import weakref
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import quote

from ..context import current_call
from .config import Resolved
from .errors import AgentUnavailableError, ApiError, InvalidError, api_error
from .http import Connection, Endpoint, Pool, ProtocolError

def _beyond_json(value: Any) -> Any:
    """Values JSON cannot carry (PROTOCOL.md, "Values"): bytes as ``{"$bytes": base64}``; anything
    else picklable as ``{"$pickle": base64}``, which only a function with ``serialization: pickle``
    accepts (the agent refuses it for the others, saying so)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception as error:  # noqa: BLE001 - whatever pickle raised, the value cannot travel
        raise TypeError(f"{type(value).__name__} is neither JSON nor picklable ({error})") from None
    return {"$pickle": base64.b64encode(data).decode("ascii")}


def revive(obj: Dict[str, Any]) -> Any:
    """``{"$bytes": ...}`` and ``{"$pickle": ...}`` in answers (results, Dict and Queue values) back
    into Python values. Unpickling runs code the pickle names: results are trusted as the functions
    that returned them are."""
    if len(obj) == 1:
        if isinstance(obj.get("$bytes"), str):
            return base64.b64decode(obj["$bytes"])
        if isinstance(obj.get("$pickle"), str):
            return pickle.loads(base64.b64decode(obj["$pickle"]))
    return obj


_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_beyond_json).encode
_USER_AGENT = "warmpool-python/0.1.0"


class Options(NamedTuple):
    connect_timeout: float = 10.0
    """Seconds to open a connection."""
    request_timeout: float = 60.0
    """Seconds for an answer that should come at once (spawn, cancel, apps); a call and a map wait
    as long as the function runs, and a long poll as long as it asked to."""
    retries: int = 4
    """Tries after the first, on connection failures and 503s."""
    retry_delay: float = 0.25
    """Before the first retry; doubled for each next one."""
    inline_limit: int = 8 * 1024 * 1024
    """Bytes of JSON above which a call's or spawn's arguments are stored first (``POST
    /v1/payloads``) and the call names them: under the agent's 16 MiB limit on a request."""


def new_key() -> str:
    """An idempotency key: one per logical call, the same on each of its tries."""
    return str(uuid.uuid4())


def invocation(args: Sequence[Any], kwargs: Dict[str, Any], extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The API's Invocation: ``{"args": [...], "kwargs": {...}}`` (kwargs left out when empty), with
    ``extra`` (a class function's ``method`` and ``params``) when given."""
    body: Dict[str, Any] = {"args": list(args)}
    if kwargs:
        body["kwargs"] = kwargs
    if extra:
        body.update(extra)
    return body


def path(*segments: str) -> str:
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def encode(value: Any) -> bytes:
    """JSON for the agent; NaN and infinities are refused here rather than by the agent's parser."""
    try:
        return _encode(value).encode()
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidError(f"arguments must be JSON values (dict, list, str, int, float, bool, None), bytes, or picklable: {error}") from None


class _Stale(Exception):
    """A reused connection failed before any answer: the agent had closed it while it was idle."""


class Transport:
    def __init__(self, config: Resolved, options: Options = Options()) -> None:
        self.config = config
        self.options = options
        self.endpoint = Endpoint.parse(config.url)
        self._pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pool]" = weakref.WeakKeyDictionary()
        self._base: List[Tuple[str, str]] = [
            ("Host", self.endpoint.authority),
            ("User-Agent", _USER_AGENT),
            ("Accept", "application/json"),
        ] + ([("Authorization", f"Bearer {config.token}")] if config.token else [])

    async def _pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = Pool(self.endpoint, self.options.connect_timeout)
            await pool.start()
        return pool

    def error(self, status: int, body: Any) -> ApiError:
        return api_error(status, body, self.config.url, self.config.token_source)

    async def request(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        key: Optional[str] = None,
        timeout: Optional[float] = -1.0,
        expect: Tuple[int, ...] = (200, 202),
    ) -> Any:
        """The parsed JSON answer; an ``ApiError`` for any other status. ``timeout`` -1 means
        ``request_timeout``, None no limit."""
        headers = list(self._base) + _parent()
        payload = b""
        if isinstance(body, bytes):
            payload = body  # encoded already (a large invocation, measured before it was sent)
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        elif body is not None:
            payload = encode(body)
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        elif method in ("POST", "PUT"):
            headers.append(("Content-Length", "0"))
        if key is not None:
            headers.append(("Idempotency-Key", key))
        limit = self.options.request_timeout if timeout == -1.0 else timeout
        status, answer = await self._retrying(method, self.endpoint.prefix + target, headers, payload, limit)
        parsed = decode(answer)
        if status not in expect:
            raise self.error(status, parsed)
        return parsed

    async def _retrying(self, method: str, target: str, headers: List[Tuple[str, str]], payload: bytes, limit: Optional[float]) -> Tuple[int, bytes]:
        attempt = 0
        fresh = False
        while True:
            try:
                exchange = self._exchange(method, target, headers, payload, fresh)
                status, answer = await (asyncio.wait_for(exchange, limit) if limit is not None else exchange)
            except _Stale:
                fresh = True
                continue
            except (OSError, ProtocolError, asyncio.TimeoutError) as error:
                if attempt >= self.options.retries:
                    raise self.unavailable(error, attempt + 1) from error
            else:
                if status != 503 or attempt >= self.options.retries:
                    return status, answer
            await asyncio.sleep(self.options.retry_delay * 2 ** attempt)
            attempt += 1
            fresh = True

    async def _exchange(self, method: str, target: str, headers: List[Tuple[str, str]], payload: bytes, fresh: bool) -> Tuple[int, bytes]:
        pool = await self._pool()
        connection, reused = await pool.acquire(fresh)
        done = False
        try:
            connection.write_head(method, target, headers)
            connection.write(payload)
            try:
                await connection.drain()
                head = await connection.read_head()
            except (OSError, ProtocolError) as error:
                if reused:
                    raise _Stale() from error
                raise
            answer = await connection.read_body()
            done = True
            return head.status, answer
        finally:
            if done:
                pool.release(connection)
            else:
                connection.close()

    def unavailable(self, error: BaseException, tries: int) -> AgentUnavailableError:
        reason = "no answer in time" if isinstance(error, asyncio.TimeoutError) else (str(error) or type(error).__name__)
        return AgentUnavailableError(f"cannot reach the agent at {self.config.url} (URL from {self.config.url_source}): {reason}; tried {tries} time{'s' if tries > 1 else ''}")

    async def open_stream(self, target: str, headers: List[Tuple[str, str]], key: str) -> Connection:
        """A new connection with a chunked POST's head written; the caller writes the body and reads
        the answer at the same time, then closes it (or hands it back with ``release``)."""
        attempt = 0
        while True:
            try:
                connection = await Connection.open(self.endpoint, self.options.connect_timeout)
                break
            except (OSError, asyncio.TimeoutError) as error:
                if attempt >= self.options.retries:
                    raise self.unavailable(error, attempt + 1) from error
                await asyncio.sleep(self.options.retry_delay * 2 ** attempt)
                attempt += 1
        connection.write_head(
            "POST",
            self.endpoint.prefix + target,
            self._base + _parent() + headers + [("Transfer-Encoding", "chunked"), ("Idempotency-Key", key)],
        )
        return connection

    def release(self, connection: Connection) -> None:
        """Keeps a stream's connection for later requests (when this loop has a pool), else closes it."""
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is not None:
            pool.release(connection)
        else:
            connection.close()


def _parent() -> List[Tuple[str, str]]:
    """Inside a worker's handler, the header that makes a call the child of the one running
    (context.py); nothing elsewhere."""
    call_id = current_call.get()
    return [] if call_id is None else [("Warmpool-Parent-Call", call_id)]


def decode(answer: bytes) -> Any:
    """An answer's JSON, or its text when it is not JSON (a proxy's error page)."""
    if not answer:
        return None
    try:
        return json.loads(answer, object_hook=revive)
    except ValueError:
        return answer.decode("utf-8", "replace")

