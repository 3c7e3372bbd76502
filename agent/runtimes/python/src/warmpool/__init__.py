"""warmpool for Python: the worker runtime, and the client that calls deployed functions.

Handlers import only the decorators from here; ``python -m warmpool.worker`` runs the worker that
serves them (see PROTOCOL.md next to this runtime). Callers use the client's names, which are
imported on first use (``warmpool.Function`` loads ``warmpool.client``), so a worker that never
calls another function does not pay for the client at start. Standard library only, so the
package installs into any image, CUDA base images included, without pulling in dependencies.
"""

from typing import Any

from .classes import parameter
from .hooks import enter, exit, method
from ._client_names import NAMES as _CLIENT
from .web import Response

__all__ = ["enter", "exit", "method", "parameter", "Response", *_CLIENT]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'warmpool' has no attribute {name!r}")


def __dir__() -> "list[str]":
    return sorted(list(globals()) + list(_CLIENT))
