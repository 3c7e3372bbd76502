"""Web-server functions (PROTOCOL.md, "Web-server endpoints").

When ``WARMPOOL_WEB_PORT`` is set, the handler is called once at container start, in a thread of its
own, with one argument: the port to serve HTTP on (``0`` in the environment means "any free port",
which is chosen here and passed on). The handler either starts a server and returns (a subprocess, a
thread) or serves forever itself; either way ``/ready`` turns 200 only once that port accepts
connections, and advertises it as ``{"ready": true, "webPort": port}``. A handler that raises before
the port accepts connections is a failed start (exit status 3).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import List

from .loader import Handler

_POLL_S = 0.01


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start(handler: Handler, host: str, declared: int) -> int:
    """Starts the user's server and returns its port once it accepts connections."""
    port = declared if declared > 0 else _free_port(host)
    failed: List[BaseException] = []

    def run() -> None:
        try:
            if handler.is_async and handler.loop is not None:
                # ``async def serve(port)``: runs on the worker's event loop thread (no inputs use it).
                handler.loop.run(handler.fn(port))
            else:
                handler.fn(port)
        except BaseException as error:  # noqa: B036
            failed.append(error)

    threading.Thread(target=run, name="warmpool-web-server", daemon=True).start()
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else host
    while not _accepts(probe, port):
        if failed:
            raise failed[0]
        time.sleep(_POLL_S)
    return port
