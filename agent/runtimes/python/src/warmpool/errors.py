"""Turning whatever a handler raised into the wire's error object (type, message, traceback)."""

from __future__ import annotations

import traceback
from typing import Dict


def describe(error: BaseException) -> Dict[str, str]:
    """Describe an exception caught one frame above the handler.

    The first traceback entry is the runtime's own call into the handler, so it is dropped: the
    traceback then starts at the user's code, as if the handler had been called directly.
    """
    tb = error.__traceback__
    frames = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    return {
        "type": type(error).__name__,
        "message": str(error),
        "traceback": "".join(traceback.format_exception(type(error), error, frames)),
    }


def runtime_error(kind: str, message: str) -> Dict[str, str]:
    """An error the runtime reports about a result rather than one the handler raised."""
    return {"type": kind, "message": message, "traceback": ""}
