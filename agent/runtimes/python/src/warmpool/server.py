"""HTTP/1.1 transport: a thread per connection, keep-alive, one write per response.

The standard library's server is enough for loopback JSON at this rate; what it costs by default
is avoided instead: its per-request log line, the Date/Server headers, and a separate write for the
headers and the body, which with Nagle's algorithm on would wait for the client's delayed ACK.

The port is reachable by more than the agent (other processes on the host's loopback, other pods),
so what a client can hold is bounded (PROTOCOL.md, "Limits"): a request that has begun must keep
arriving (``STALL_S`` between reads), an idle connection is closed after ``IDLE_S``, and connections
beyond ``max_connections`` are refused with a 503 before a thread is spent on them. Every refusal is
the protocol's JSON error.
"""

from __future__ import annotations

import hmac
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Tuple

from . import protocol
from .routes import Routes

_STATUS = {
    200: b"200 OK",
    401: b"401 Unauthorized",
    202: b"202 Accepted",
    400: b"400 Bad Request",
    404: b"404 Not Found",
    405: b"405 Method Not Allowed",
    408: b"408 Request Timeout",
    414: b"414 URI Too Long",
    431: b"431 Request Header Fields Too Large",
    500: b"500 Internal Server Error",
    501: b"501 Not Implemented",
    503: b"503 Service Unavailable",
    505: b"505 HTTP Version Not Supported",
}

_GUARDED = ("/invoke", "/shutdown")
"""The paths that need the worker's App token, when it has one."""

IDLE_S = 75.0
"""How long a keep-alive connection may wait for its next request: above the agent's 60 s keep-alive
(containers/pool.ts), so the agent, not the worker, closes its idle connections and never sends on
one the worker is closing."""

STALL_S = 10.0
"""How long a request that has begun (its first line read) may go without a byte of its head or body."""

CONNECTIONS_BEYOND_INPUTS = 64
"""Connections a worker accepts beyond its max inputs: the agent's /ready and /stats probes, a web
server's port check, and room for the agent's pool to replace connections."""


class WorkerServer(ThreadingHTTPServer):
    # Daemon threads: a drained worker must not wait for idle keep-alive connections to close.
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], routes: Routes, backlog: int, max_connections: int, token: str = "") -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        # The agent may open max-inputs connections at once; the default backlog of 5 would make the
        # rest retry their SYN a second later.
        self.request_queue_size = backlog
        self.routes = routes
        self.max_connections = max_connections
        # Who may run inputs or stop this worker: holders of its App's token. /ready (the health probe)
        # and /stats (counters) stay open: they run nothing and hold no input or result.
        self.authorization = f"Bearer {token}".encode() if token else None
        self._open = 0
        self._open_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            # Answered without a thread, and without reading the request: the client may resend later.
            body = protocol.error_body("Overloaded", f"this worker holds {self.max_connections} connections already")
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open -= 1


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: WorkerServer

    def handle_one_request(self) -> None:
        # Waiting for the next request on a kept-alive connection: IDLE_S; once its first line is in,
        # parse_request shortens this to STALL_S for the head and the body.
        self.connection.settimeout(IDLE_S)
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.connection.settimeout(STALL_S)
        return super().parse_request()

    def send_error(self, code: int, message: "str | None" = None, explain: "str | None" = None) -> None:
        """The standard library's refusals (bad request line, too many or too long headers, a method
        it has no ``do_`` for) in the protocol's JSON instead of its HTML page; the connection is
        closed after them. A method it does not know is 405 as for a known one on the wrong route, and
        an HTTP version it does not speak is a bad request (400), as node:http answers both."""
        self.close_connection = True
        status, kind = {501: (405, "MethodNotAllowed"), 505: (400, "BadRequest"), 408: (408, "RequestTimeout")}.get(code, (code if code in _STATUS else 400, "BadRequest"))
        try:
            self._send((status, protocol.error_body(kind, message or "malformed request")), close=True)
        except OSError:
            pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Per-request logging is off: a line per call would cost more than the call."""

    def _dispatch(self) -> None:
        expected = self.server.authorization
        if expected is not None and self.path.split("?", 1)[0] in _GUARDED:
            given = (self.headers.get("Authorization") or "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, expected):
                # The body is left unread, so the connection cannot be reused.
                self._send((401, protocol.error_body("Unauthorized", "this worker takes requests only with its App's token")), close=True)
                return
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
