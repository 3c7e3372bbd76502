"""Arguments and results beyond JSON (PROTOCOL.md, "Values"): bytes travel as ``{"$bytes": base64}``
in every function; with ``serialization: pickle`` (WARMPOOL_SERIALIZATION) any other value that
JSON cannot carry travels as ``{"$pickle": base64}``. Both are read by ``json.loads``'s object hook
and written by the encoder's ``default``, so plain JSON pays nothing for them.
"""

from __future__ import annotations

import base64
import binascii
import json
import pickle
from typing import Any, Callable, Dict

from .protocol import BadRequest

BYTES = "$bytes"
PICKLE = "$pickle"


class Codec:
    def __init__(self, pickles: bool) -> None:
        self.pickles = pickles
        self.encode: Callable[[Any], str] = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=self._default).encode

    def hook(self, obj: Dict[str, Any]) -> Any:
        if len(obj) != 1:
            return obj
        if BYTES in obj and isinstance(obj[BYTES], str):
            return _b64(obj[BYTES], "a $bytes value")
        if self.pickles and PICKLE in obj and isinstance(obj[PICKLE], str):
            try:
                return pickle.loads(_b64(obj[PICKLE], "a $pickle value"))
            except BadRequest:
                raise
            except Exception as error:  # noqa: BLE001 - whatever unpickling raised, the caller is told
                raise BadRequest(f"an argument could not be unpickled: {type(error).__name__}: {error}") from None
        return obj

    def _default(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {BYTES: base64.b64encode(bytes(value)).decode("ascii")}
        if self.pickles:
            return {PICKLE: base64.b64encode(pickle.dumps(value, protocol=4)).decode("ascii")}
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable (set serialization: pickle on the Function to return Python objects)")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what} is not base64") from None
