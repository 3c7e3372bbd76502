"""The warmpool client: call deployed functions from Python, with Modal's names.

    import warmpool

    square = warmpool.Function.from_name("quickstart", "square")
    square.remote(7)                                   # 49
    for result in square.map(range(1000)): ...        # streamed both ways, bounded memory
    await square.remote.aio(7)                         # every method has an asyncio form

Standard library only, like the worker runtime in the same package. Modules, one job each:
``config`` (where the agent and token come from) and ``configfile`` (the config file),
``http`` (HTTP/1.1 on asyncio streams) and ``transport`` (the JSON API: auth, idempotency keys,
retries), ``errors``, ``functions`` (Client, Function, FunctionCall), ``mapping`` (map, starmap,
spawn_map), ``cls`` (Cls), ``collections`` (Dict, Queue), ``blocking`` (the blocking API and ``.aio``), ``progress``.
"""

from .cls import Cls
from .collections import Dict, Queue
from .errors import (
    AgentUnavailableError,
    ApiError,
    AuthError,
    CallCancelled,
    CallTimeoutError,
    ConfigError,
    ContainerCrashed,
    ContainerStartupError,
    FunctionTimeoutError,
    InvalidError,
    NotFoundError,
    RemoteError,
    TooManyPendingError,
    WarmpoolError,
)
from .functions import Client, Function, FunctionCall

from .._client_names import NAMES

__all__ = list(NAMES)
