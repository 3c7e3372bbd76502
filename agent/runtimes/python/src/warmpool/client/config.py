"""Where the client finds its agent and token (runtimes/README.md, "Configuration", says the same).

Each of the URL and the token is taken from the first of these that has it:

1. the argument (``Client(url=..., token=...)``);
2. the environment: ``WARMPOOL_URL``, ``WARMPOOL_TOKEN`` (empty counts as unset);
3. the profile in use, a table of the config file (``$WARMPOOL_CONFIG``, else
   ``~/.warmpool/config.toml``): the one named by the ``profile`` argument
   (``environment_name=`` of ``from_name``), else by ``WARMPOOL_PROFILE``, else the table with
   ``active = true``; a profile gives ``url`` and ``token`` or ``token_file``;
4. without a profile in use: the token file an agent writes into its state dir, as the CLI reads it
   (``$WARMPOOL_STATE_DIR/token``, ``./.warmpool/token``, ``~/.warmpool/token``), and the URL
   ``http://127.0.0.1:8765``. With a profile in use these are not read: a profile's agent has its
   own token, and a local dev token must not travel to it.

``resolve`` is pure apart from reading files: the environment, home and working directory are
arguments, so tests give each case its own.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from .configfile import FileFormatError, parse
from .errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8765"


class Resolved(NamedTuple):
    url: str
    token: str
    """``""`` when none was found: requests go without ``Authorization`` (and the agent answers 401)."""
    url_source: str
    token_source: str
    """Where the token came from, or where it was looked for: auth errors quote it."""
    profile: Optional[str]


def config_path(env: Mapping[str, str], home: str) -> str:
    return env.get("WARMPOOL_CONFIG") or os.path.join(home, ".warmpool", "config.toml")


def resolve(
    url: Optional[str] = None,
    token: Optional[str] = None,
    profile: Optional[str] = None,
    env: Mapping[str, str] = os.environ,
    home: Optional[str] = None,
    cwd: Optional[str] = None,
) -> Resolved:
    home = home if home is not None else os.path.expanduser("~")
    cwd = cwd if cwd is not None else os.getcwd()
    path = config_path(env, home)
    name, table = _profile(path, profile, env)
    where = f"profile [{name}] of {path}" if name is not None else ""

    url_value, url_source = _first(
        (url, "the url argument"),
        (env.get("WARMPOOL_URL"), "WARMPOOL_URL"),
        (_string(table, "url", where), where),
        (DEFAULT_URL if name is None else None, "the default"),
    )
    if url_value is None:
        raise ConfigError(f"{where} has no url (and WARMPOOL_URL is not set)")
    if token:
        token_value, token_source = token, "the token argument"
    elif env.get("WARMPOOL_TOKEN"):
        token_value, token_source = env["WARMPOOL_TOKEN"], "WARMPOOL_TOKEN"
    elif name is not None:
        token_value, token_source = _profile_token(table, path, where, home)
    else:
        token_value, token_source = _first(*_state_tokens(env, home, cwd))
    if token_value:
        token_source = f"token from {token_source}"
    else:
        looked = where if name is not None else ", ".join(_state_token_files(env, home, cwd))
        token_source = f"no token found (looked at WARMPOOL_TOKEN, {looked})"
    return Resolved(_normal_url(url_value, url_source), token_value or "", url_source, token_source, name)


def _first(*candidates: Tuple[Optional[str], str]) -> Tuple[Optional[str], str]:
    for value, source in candidates:
        if value:
            return value, source
    return None, ""


def _profile(path: str, wanted: Optional[str], env: Mapping[str, str]) -> Tuple[Optional[str], Dict[str, Any]]:
    """The profile in use and its table; (None, {}) when none is."""
    named_by = "the environment_name argument" if wanted else "WARMPOOL_PROFILE"
    wanted = wanted or env.get("WARMPOOL_PROFILE") or None
    tables = _read(path)
    if wanted is not None:
        if tables is None:
            raise ConfigError(f"{named_by} names profile {wanted!r}, but there is no config file at {path}")
        if wanted not in tables:
            raise ConfigError(f"{named_by} names profile {wanted!r}, which {path} does not have; its profiles: {', '.join(sorted(tables)) or '(none)'}")
        return wanted, tables[wanted]
    active = sorted(name for name, table in (tables or {}).items() if table.get("active") is True)
    if len(active) > 1:
        raise ConfigError(f"{path} marks {len(active)} profiles active ({', '.join(active)}); keep active = true on one")
    return (active[0], (tables or {})[active[0]]) if active else (None, {})


def _read(path: str) -> Optional[Dict[str, Dict[str, Any]]]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    try:
        return parse(text, path)
    except FileFormatError as error:
        raise ConfigError(str(error)) from None


def _string(table: Dict[str, Any], key: str, where: str) -> Optional[str]:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{key} in {where} must be a string, not {type(value).__name__}")
    return value


def _profile_token(table: Dict[str, Any], path: str, where: str, home: str) -> Tuple[Optional[str], str]:
    token = _string(table, "token", where)
    token_file = _string(table, "token_file", where)
    if token and token_file:
        raise ConfigError(f"{where} sets both token and token_file; keep one")
    if not token_file:
        return token, where
    # ~ is the home the rest of the lookup uses; a relative path is relative to the config file.
    if token_file == "~" or token_file.startswith("~/"):
        token_file = home + token_file[1:]
    file = os.path.join(os.path.dirname(path), token_file)
    try:
        with open(file, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as error:
        raise ConfigError(f"token_file of {where}: {error}") from None
    if not value:
        raise ConfigError(f"token_file of {where}: {file} is empty")
    return value, f"{file} (token_file of {where})"


def _state_token_files(env: Mapping[str, str], home: str, cwd: str) -> List[str]:
    dirs = [env.get("WARMPOOL_STATE_DIR"), os.path.join(cwd, ".warmpool"), os.path.join(home, ".warmpool")]
    return [os.path.join(d, "token") for d in dirs if d]


def _state_tokens(env: Mapping[str, str], home: str, cwd: str) -> List[Tuple[Optional[str], str]]:
    found: List[Tuple[Optional[str], str]] = []
    for file in _state_token_files(env, home, cwd):
        try:
            with open(file, encoding="utf-8") as handle:
                found.append((handle.read().strip(), file))
        except OSError:
            continue
    return found


def _normal_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"the agent URL from {source} has a bad port: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the agent URL from {source} must be http://host[:port] or https://..., got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"the agent URL from {source} must not have a query or fragment: {url!r}")
    return url.rstrip("/")
