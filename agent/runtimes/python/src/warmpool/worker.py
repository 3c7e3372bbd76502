"""``python -m warmpool.worker``: one container's worker process (PROTOCOL.md).

Bind first, so the agent can poll ``/ready`` while the handler loads; load; serve until told to
stop; then drain, run the ``@exit`` hooks and exit. Exit statuses: 0 after a clean shutdown,
1 when an ``@exit`` hook failed, 2 for an environment the agent should not have produced, 3 when
the handler failed to import or its ``@enter`` hooks failed.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback

from . import loader, webserver
from .config import ConfigError, from_env
from .values import Codec
from .invoke import Invoker
from .routes import Routes
from .server import CONNECTIONS_BEYOND_INPUTS, WorkerServer
from .shutdown import ShutdownSignal
from .stats import Stats

_POLL_S = 0.05
"""How often the accept loop checks for shutdown: bounds how long a drain waits before it starts."""


def _log(message: str) -> None:
    print(f"[warmpool] {message}", file=sys.stderr, flush=True)


def _exit(status: int) -> None:
    # os._exit, because threads the handler's libraries started (thread pools, CUDA helpers) would
    # otherwise keep the interpreter alive after the worker is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main() -> None:
    # The agent reads logs live from a pipe; block buffering would hold a handler's prints back.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    try:
        config = from_env()
    except ConfigError as error:
        _log(f"bad environment: {error}")
        _exit(2)

    shutdown = ShutdownSignal()
    stats = Stats()
    routes = Routes(stats, max(config.batch_size, 1), shutdown.request)
    server = WorkerServer((config.host, config.port), routes, backlog=max(128, 2 * config.max_inputs), max_connections=config.max_inputs + CONNECTIONS_BEYOND_INPUTS, token=config.token)
    threading.Thread(target=server.serve_forever, args=(_POLL_S,), name="warmpool-accept", daemon=True).start()

    try:
        handler = loader.load(config.handler, config.app_dir)
        if "WARMPOOL_WEB_PORT" in os.environ:
            routes.advertise_web_port(webserver.start(handler, config.host, int(os.environ["WARMPOOL_WEB_PORT"])))
    except BaseException:  # noqa: B036 - any failure to load, even SystemExit at import, is a failed start
        traceback.print_exc()
        _log(f"{config.handler} failed to start in container {config.container_id}")
        _exit(3)
    routes.serve(Invoker(handler, config.batch_size, stats, Codec(config.serialization == "pickle")))
    host, port = server.server_address[:2]
    _log(f"ready: {config.handler} on {host}:{port}, container {config.container_id}, python {sys.version.split()[0]}")

    shutdown.wait()
    server.shutdown()
    server.server_close()
    routes.gate.close_and_wait()
    status = 0
    try:
        handler.close()
    except BaseException:  # noqa: B036
        traceback.print_exc()
        status = 1
    _log(f"exited with status {status}, container {config.container_id}")
    _exit(status)


if __name__ == "__main__":
    main()
