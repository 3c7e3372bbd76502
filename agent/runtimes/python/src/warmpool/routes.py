"""What each endpoint answers, independent of the HTTP plumbing in ``server``.

Constant bodies are encoded once here; the per-request path is parse, run, join.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional, Tuple

from . import protocol
from .invoke import Invoker
from .protocol import BadRequest
from .stats import Stats

Response = Tuple[int, bytes]

_READY: Response = (200, protocol.encode({"ready": True}))
_NOT_READY: Response = (503, protocol.encode({"ready": False}))
_SHUTDOWN: Response = (202, protocol.encode({"shuttingDown": True}))
_NOT_LOADED: Response = (503, protocol.error_body("NotReady", "the handler is still loading"))
_DRAINING: Response = (503, protocol.error_body("ShuttingDown", "the worker is shutting down"))
_NOT_FOUND: Response = (404, protocol.error_body("NotFound", "no such endpoint"))
_WRONG_METHOD: Response = (405, protocol.error_body("MethodNotAllowed", "method not allowed on this endpoint"))

_ENDPOINTS = {"/ready": "GET", "/stats": "GET", "/invoke": "POST", "/shutdown": "POST"}


class RequestGate:
    """Counts requests being served, so shutdown can wait for them, and refuses new ones once closed."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active = 0
        self._closed = False

    def enter(self) -> bool:
        with self._changed:
            if self._closed:
                return False
            self._active += 1
            return True

    def leave(self) -> None:
        with self._changed:
            self._active -= 1
            if self._active == 0:
                self._changed.notify_all()

    def close_and_wait(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.wait_for(lambda: self._active == 0)


class Routes:
    draining: Response = _DRAINING

    def __init__(self, stats: Stats, max_request_inputs: int, request_shutdown: Callable[[], None]) -> None:
        self.gate = RequestGate()
        self._stats = stats
        self._max_request_inputs = max_request_inputs
        self._request_shutdown = request_shutdown
        self._invoker: Optional[Invoker] = None
        self._ready: Response = _READY

    def advertise_web_port(self, port: int) -> None:
        """A web-server function: ``/ready`` names the port its server listens on."""
        self._ready = (200, protocol.encode({"ready": True, "webPort": port}))

    def serve(self, invoker: Invoker) -> None:
        """The handler has loaded: ``/ready`` turns 200 and ``/invoke`` runs inputs."""
        self._invoker = invoker

    def handle(self, method: str, path: str, body: bytes) -> Response:
        if path == "/invoke" and method == "POST":
            return self._invoke(body)
        expected = _ENDPOINTS.get(path)
        if expected is None:
            return _NOT_FOUND
        if method != expected:
            return _WRONG_METHOD
        if path == "/ready":
            return self._ready if self._invoker is not None else _NOT_READY
        if path == "/stats":
            return 200, protocol.encode(self._stats.snapshot())
        self._request_shutdown()
        return _SHUTDOWN

    def _invoke(self, body: bytes) -> Response:
        invoker = self._invoker
        if invoker is None:
            return _NOT_LOADED
        try:
            inputs = protocol.parse_invoke(body, self._max_request_inputs, invoker.codec.hook)
        except BadRequest as error:
            return 400, protocol.error_body("BadRequest", str(error))
        return 200, protocol.outputs(invoker.run(inputs))
