"""The worker's settings, read once from the environment the agent starts it with (PROTOCOL.md)."""

from __future__ import annotations

import os
from typing import Mapping, NamedTuple


class ConfigError(Exception):
    """The environment does not describe a worker: an agent bug, not a handler failure."""


class Config(NamedTuple):
    host: str
    port: int
    handler: str
    app_dir: str
    max_inputs: int
    batch_size: int
    container_id: str
    serialization: str
    token: str
    """The App token the agent gave this worker: required on /invoke and /shutdown when set."""


def _int(env: Mapping[str, str], name: str, default: str, minimum: int) -> int:
    raw = env.get(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def from_env(env: Mapping[str, str] = os.environ) -> Config:
    protocol = env.get("WARMPOOL_PROTOCOL", "1")
    if protocol != "1":
        raise ConfigError(f"WARMPOOL_PROTOCOL {protocol!r} is not supported (this worker speaks 1)")
    handler = env.get("WARMPOOL_HANDLER", "")
    if ":" not in handler:
        raise ConfigError(f"WARMPOOL_HANDLER must be module:function or module:Class.method, got {handler!r}")
    serialization = env.get("WARMPOOL_SERIALIZATION", "json")
    if serialization not in ("json", "pickle"):
        raise ConfigError(f"WARMPOOL_SERIALIZATION must be json or pickle, got {serialization!r}")
    return Config(
        host=env.get("WARMPOOL_HOST", "127.0.0.1"),
        port=_int(env, "WARMPOOL_PORT", "", 0),
        handler=handler,
        app_dir=env.get("WARMPOOL_APP_DIR", os.getcwd()),
        max_inputs=_int(env, "WARMPOOL_MAX_INPUTS", "1", 1),
        batch_size=_int(env, "WARMPOOL_BATCH_SIZE", "0", 0),
        container_id=env.get("WARMPOOL_CONTAINER_ID", "local"),
        serialization=serialization,
        token=env.get("WARMPOOL_TOKEN", ""),
    )
