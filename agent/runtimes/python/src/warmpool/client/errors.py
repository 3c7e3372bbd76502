"""The client's exceptions, and the two places that make them: a call's failure (``remote_error``)
and a gateway refusal (``api_error``).

A remote exception whose type is a built-in one (``ValueError``, ``KeyError``, ...) is raised as a
class that derives from both ``RemoteError`` and that built-in, so ``except ValueError`` catches it
as it would with Modal, which re-raises the original exception. Other types (a handler's own
exception classes, which this process may not have) are a plain ``RemoteError`` carrying the name.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, List, Optional, Type


class WarmpoolError(Exception):
    """Base class of every exception the client raises."""


class InvalidError(WarmpoolError, ValueError):
    """The client was used in a way it does not support (nothing was sent)."""


class ConfigError(WarmpoolError):
    """The configuration (environment, config file, profile) cannot be used; the message says where."""


class AgentUnavailableError(WarmpoolError, ConnectionError):
    """The agent could not be reached, or the connection broke, after the client's own retries."""


class CallTimeoutError(WarmpoolError, TimeoutError):
    """``FunctionCall.get(timeout)`` ran out of time; the call itself goes on."""

    def __init__(self, call_id: str, timeout: float, status: str) -> None:
        super().__init__(f"call {call_id} is still {status} after {timeout:g} s")
        self.call_id = call_id
        self.timeout = timeout
        self.status = status


# --- gateway refusals -------------------------------------------------------------------------


class ApiError(WarmpoolError):
    """The agent refused the request: its HTTP status and stable ``WP_ERR_*`` code."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class AuthError(ApiError, PermissionError):
    """401 (no token) or 403 (a token this agent does not accept)."""


class NotFoundError(ApiError, LookupError):
    """An app, function, class method or call that the agent does not have."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, functions: Optional[List[str]] = None) -> None:
        super().__init__(status, code, message, body)
        self.functions = functions


class TooManyPendingError(ApiError):
    """429: the function already has as many queued inputs as the agent allows."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, retry_after: float = 1.0) -> None:
        super().__init__(status, code, message, body)
        self.retry_after = retry_after


# --- remote failures --------------------------------------------------------------------------


class RemoteError(WarmpoolError):
    """The function raised (or the agent failed the call): the remote type, message and traceback."""

    def __init__(self, type: str, message: str, traceback: str = "", call_id: str = "", attempts: Optional[List[Dict[str, Any]]] = None) -> None:  # noqa: A002
        # BaseException's own initialiser: a built-in base such as UnicodeDecodeError wants other arguments.
        BaseException.__init__(self, message)
        self.type = type
        self.message = message
        self.traceback = traceback
        self.call_id = call_id
        self.attempts = attempts if attempts is not None else []

    def __str__(self) -> str:
        head = self.message if self.type == type(self).__name__ else f"{self.type}: {self.message}"
        text = f"{head} (call {self.call_id})" if self.call_id else head
        if self.traceback:
            text += "\n\nRemote traceback:\n" + self.traceback.rstrip("\n")
        return text

    def __reduce__(self) -> Any:
        # Rebuilt through the factory, so a pickled ValueError-flavoured error comes back as one.
        return (remote_error, ({"type": self.type, "message": self.message, "traceback": self.traceback}, self.call_id, self.attempts))


class FunctionTimeoutError(RemoteError, TimeoutError):
    """An attempt ran past the function's ``timeout`` (after any retries)."""


class CallCancelled(RemoteError):
    """The call was cancelled (``FunctionCall.cancel()``, or its map or caller went away)."""


class ContainerCrashed(RemoteError):
    """The container running the input exited."""


class ContainerStartupError(RemoteError):
    """No container of the function could start (import error, failing ``@enter``)."""


_AGENT_TYPES: Dict[str, Type[RemoteError]] = {
    cls.__name__: cls for cls in (FunctionTimeoutError, CallCancelled, ContainerCrashed, ContainerStartupError)
}
_MIXED: Dict[str, Type[RemoteError]] = {}


def _remote_class(name: str) -> Type[RemoteError]:
    known = _AGENT_TYPES.get(name) or _MIXED.get(name)
    if known is not None:
        return known
    base = getattr(builtins, name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        return RemoteError
    try:
        mixed = type(name, (RemoteError, base), {"__module__": "warmpool.remote", "__doc__": f"A remote {name}."})
    except TypeError:  # a built-in whose layout cannot be combined: keep the plain class
        return RemoteError
    _MIXED[name] = mixed
    return mixed


def remote_error(error: Optional[Dict[str, Any]], call_id: str, attempts: Optional[List[Dict[str, Any]]] = None, status: str = "failed") -> RemoteError:
    """The exception for a call that did not succeed (``error`` is the agent's ``{type, message, traceback}``)."""
    if not isinstance(error, dict):
        error = {"type": "CallCancelled" if status == "cancelled" else "RemoteError", "message": f"call {status}"}
    name = str(error.get("type") or "RemoteError")
    return _remote_class(name)(name, str(error.get("message", "")), str(error.get("traceback") or ""), call_id, attempts)


def api_error(status: int, body: Any, url: str, token_source: str) -> ApiError:
    """The exception for a refusal, from the agent's ``{"error": {"code", "message", ...}}`` body."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    code = str(detail.get("code") or "WP_ERR_UNKNOWN")
    message = str(detail.get("message") or (body if isinstance(body, str) and body else f"HTTP {status}"))
    if status in (401, 403):
        return AuthError(status, code, f"{message} (agent {url}; {token_source})", body)
    if status == 404:
        functions = detail.get("functions")
        if isinstance(functions, list):
            message += f"; its functions: {', '.join(map(str, functions)) or '(none)'}"
        return NotFoundError(status, code, message, body, functions if isinstance(functions, list) else None)
    if status == 429:
        retry_after = detail.get("retryAfter", 1)
        return TooManyPendingError(status, code, message, body, float(retry_after) if isinstance(retry_after, (int, float)) else 1.0)
    return ApiError(status, code, message, body)
