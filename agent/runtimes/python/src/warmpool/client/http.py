"""HTTP/1.1 over asyncio streams: one connection's framing, and a keep-alive pool per event loop.

Why not ``http.client``: it sends a whole request body before it reads the response, and the map
route needs both at once (the agent reads a map's body only as fast as it admits inputs, and admits
only as fast as its results are read: a client that first sends everything stalls once the results
fill the socket buffers). And a call whose caller gives up (Ctrl-C, a cancelled task) must close its
connection, which is how the agent learns to cancel it; a thread blocked in ``http.client`` cannot
be interrupted that way. So there is one transport, on asyncio, and the blocking API runs it on a
background loop (``loop.py``).

What the agent sends is small and regular (node:http or HAProxy): a status line, headers, then a
``Content-Length`` or chunked body. This reads exactly that: 1xx answers are skipped, a body without
either framing runs to the end of the connection, trailers are read and dropped.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import AsyncIterator, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

_LINE_LIMIT = 1 << 16
"""Longest status, header or chunk-size line (the agent's heads are limited to 16 KiB)."""


class ProtocolError(ConnectionError):
    """The connection closed early or carried something that is not HTTP/1.1."""


class Endpoint(NamedTuple):
    host: str
    port: int
    tls: bool
    prefix: str
    """Path before every route (an agent behind a proxy at ``https://host/agent``); usually ``""``."""
    authority: str

    @staticmethod
    def parse(url: str) -> "Endpoint":
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return Endpoint(parts.hostname or "", port, tls, parts.path.rstrip("/"), parts.netloc)


class Head(NamedTuple):
    status: int
    headers: Dict[str, str]
    """Names in lower case; repeated headers joined with ``", "``."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.reusable = False
        """True once a response was read to its end and neither side asked to close."""
        self._keep_alive = False
        self._framing: Tuple[str, int] = ("eof", 0)

    @staticmethod
    async def open(endpoint: Endpoint, timeout: float) -> "Connection":
        context = ssl.create_default_context() if endpoint.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port, ssl=context, limit=_LINE_LIMIT), timeout
        )
        return Connection(reader, writer)

    @property
    def closed(self) -> bool:
        """Closed here, or by the agent while idle in the pool (its FIN has been read)."""
        return self._writer.is_closing() or self._reader.at_eof()

    def write_head(self, method: str, target: str, headers: List[Tuple[str, str]]) -> None:
        self.reusable = False
        lines = [f"{method} {target} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    def write_chunk(self, data: bytes) -> None:
        if data:
            self._writer.write(b"%x\r\n%s\r\n" % (len(data), data))

    def write_last_chunk(self) -> None:
        self._writer.write(b"0\r\n\r\n")

    async def drain(self) -> None:
        await self._writer.drain()

    async def read_head(self) -> Head:
        while True:
            status_line = await self._line()
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
            status = int(parts[1])
            headers = await self._headers()
            self._keep_alive = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (100 Continue): the real one follows
            self._framing = self._body_framing(status, headers)
            return Head(status, headers)

    async def body(self) -> AsyncIterator[bytes]:
        """The response body as it arrives (call after ``read_head``)."""
        kind, length = self._framing
        if kind == "length":
            left = length
            while left > 0:
                data = await self._reader.read(min(left, 1 << 16))
                if not data:
                    raise ProtocolError(f"the connection closed {left} bytes before the end of the body")
                left -= len(data)
                yield data
        elif kind == "chunked":
            while True:
                size_line = await self._line()
                try:
                    size = int(size_line.split(";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size line {size_line[:40]!r}") from None
                if size == 0:
                    while await self._line():
                        pass  # trailers
                    break
                try:
                    data = await self._reader.readexactly(size + 2)
                except asyncio.IncompleteReadError:
                    raise ProtocolError("the connection closed inside a chunk") from None
                yield data[:-2]
        elif kind == "eof":
            self._keep_alive = False
            while True:
                data = await self._reader.read(1 << 16)
                if not data:
                    break
                yield data
        self.reusable = self._keep_alive

    async def read_body(self) -> bytes:
        return b"".join([chunk async for chunk in self.body()])

    def close(self) -> None:
        """Closes at once, without waiting for buffered writes: the agent reads that as the caller gone."""
        self.reusable = False
        transport = self._writer.transport
        if not transport.is_closing():
            transport.abort()

    async def _line(self) -> str:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            raise ProtocolError("the connection closed before the response was complete" if error.partial or self._reader.at_eof() else "no response") from None
        except asyncio.LimitOverrunError:
            raise ProtocolError(f"a response line longer than {_LINE_LIMIT} bytes") from None
        return line.decode("latin-1").rstrip("\r\n")

    async def _headers(self) -> Dict[str, str]:
        headers: Dict[str, str] = {}
        while True:
            line = await self._line()
            if line == "":
                return headers
            name, colon, value = line.partition(":")
            if not colon:
                raise ProtocolError(f"bad header line {line[:80]!r}")
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()

    @staticmethod
    def _body_framing(status: int, headers: Dict[str, str]) -> Tuple[str, int]:
        if status in (204, 304):
            return ("length", 0)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return ("chunked", 0)
        if "content-length" in headers:
            try:
                return ("length", int(headers["content-length"]))
            except ValueError:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
        return ("eof", 0)


class Pool:
    """Idle keep-alive connections to one endpoint, for one event loop (streams belong to a loop).

    They are closed when their loop shuts down: ``asyncio.run`` (and the client's own loop at exit)
    closes every async generator still suspended on the loop, and ``start`` leaves one suspended
    whose ``finally`` closes the pool. Otherwise each would be closed by the garbage collector,
    after its loop, with a warning in development mode."""

    def __init__(self, endpoint: Endpoint, connect_timeout: float, max_idle: int = 16) -> None:
        self.endpoint = endpoint
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle
        self._idle: List[Connection] = []
        self._closer: Optional[AsyncIterator[None]] = None

    async def start(self) -> None:
        self._closer = self._close_at_shutdown()  # held here: the loop keeps only a weak reference
        await self._closer.__anext__()

    async def _close_at_shutdown(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self.close()

    async def acquire(self, fresh: bool = False) -> Tuple[Connection, bool]:
        """A connection, and whether it was reused (a reused one may have been closed by the agent
        just now; a request that fails on one before any answer is safe to send again)."""
        while self._idle and not fresh:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
            connection.close()
        return await Connection.open(self.endpoint, self._connect_timeout), False

    def release(self, connection: Connection) -> None:
        if connection.reusable and not connection.closed and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
