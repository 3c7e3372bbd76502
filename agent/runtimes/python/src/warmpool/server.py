"""HTTP/1.1 transport: a thread per connection, keep-alive, one write per response.

The standard library's server is enough for loopback JSON at this rate; what it costs by default
is avoided instead: its per-request log line, the Date/Server headers, and a separate write for the
headers and the body, which with Nagle's algorithm on would wait for the client's delayed ACK.
"""

from __future__ import annotations

import socket
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Tuple

from . import protocol
from .routes import Routes

_STATUS = {
    200: b"200 OK",
    202: b"202 Accepted",
    400: b"400 Bad Request",
    404: b"404 Not Found",
    405: b"405 Method Not Allowed",
    500: b"500 Internal Server Error",
    503: b"503 Service Unavailable",
}


class WorkerServer(ThreadingHTTPServer):
    # Daemon threads: a drained worker must not wait for idle keep-alive connections to close.
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], routes: Routes, backlog: int) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        # The agent may open max-inputs connections at once; the default backlog of 5 would make the
        # rest retry their SYN a second later.
        self.request_queue_size = backlog
        self.routes = routes
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: WorkerServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Per-request logging is off: a line per call would cost more than the call."""

    def _dispatch(self) -> None:
        routes = self.server.routes
        if not routes.gate.enter():
            self._send(routes.draining, close=True)
            return
        try:
            self._respond(routes)
        finally:
            routes.gate.leave()

    def _respond(self, routes: Routes) -> None:
        try:
            body = self._read_body()
        except ValueError as error:
            # Where the next request would start is unknown now, so the connection cannot be reused.
            self._send((400, protocol.error_body("BadRequest", f"unreadable body: {error}")), close=True)
            return
        try:
            response = routes.handle(self.command, self.path, body)
        except Exception as error:  # a bug in the runtime, not the handler (whose errors are results)
            traceback.print_exc()
            response = (500, protocol.error_body("InternalError", repr(error)))
        self._send(response)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            size = int(length)
            if size < 0:
                raise ValueError(f"negative Content-Length {size}")
            return self.rfile.read(size)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        return b""

    def _read_chunks(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0], 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        # Trailer fields, if any, end with an empty line like the headers do.
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _send(self, response: Tuple[int, bytes], close: bool = False) -> None:
        status, body = response
        head = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (_STATUS[status], len(body))
        if close:
            self.close_connection = True
            head += b"Connection: close\r\n"
        self.wfile.write(head + b"\r\n" + body)
