"""HTTP helpers for functions behind a web endpoint (PROTOCOL.md, "Web endpoints").

A function endpoint's handler receives one argument, the request as a dict (``method``, ``path``,
``query``, ``headers``, ``body``), and returns any JSON value (sent as ``200 application/json``) or a
``Response`` to choose the status code and headers::

    from warmpool import Response

    def create(request):
        return Response({"id": 7}, status=201, headers={"location": "/items/7"})

``Response`` is a dict in a reserved shape (``{"__warmpool__": "response", ...}``), so it travels
through the worker protocol as a plain JSON result.
"""

from typing import Any, Dict, Optional

RESPONSE_MARKER = "response"


class Response(dict):
    """A handler-chosen HTTP response. ``body`` is JSON (any JSON value) unless it is a ``str`` and
    ``headers`` set a ``content-type``, in which case it is sent as that text."""

    def __init__(self, body: Any = None, status: int = 200, headers: Optional[Dict[str, str]] = None) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("status must be an integer from 100 to 599, not %r" % (status,))
        super().__init__({"__warmpool__": RESPONSE_MARKER, "status": status, "headers": dict(headers or {}), "body": body})
