"""The names ``warmpool`` re-exports from ``warmpool.client``, here so that ``warmpool/__init__``
can list them without importing the client (a worker's start does not need it)."""

NAMES = (
    "Client",
    "Cls",
    "Dict",
    "Queue",
    "Function",
    "FunctionCall",
    "AgentUnavailableError",
    "ApiError",
    "AuthError",
    "CallCancelled",
    "CallTimeoutError",
    "ConfigError",
    "ContainerCrashed",
    "ContainerStartupError",
    "FunctionTimeoutError",
    "InvalidError",
    "NotFoundError",
    "RemoteError",
    "TooManyPendingError",
    "WarmpoolError",
)
