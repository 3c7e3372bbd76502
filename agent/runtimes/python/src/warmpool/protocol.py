"""The wire format of ``POST /invoke`` (PROTOCOL.md): parsing requests and encoding outputs.

Outputs are encoded one by one, so a result that is not JSON fails only its own input, and the
response is joined from the pieces without a second encoding pass.
"""

from __future__ import annotations

import json
import pickle
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from .errors import runtime_error

# One encoder for the life of the worker. allow_nan=False because NaN and Infinity are not JSON:
# another language's parser on the agent's side would reject the whole response.
_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


class BadRequest(Exception):
    """The request itself is malformed: answered 400, no input runs."""


class Input(NamedTuple):
    id: str
    args: List[Any]
    kwargs: Dict[str, Any]
    method: Optional[str] = None
    """For a class function: the method to run, and the instance's parameters."""
    params: Dict[str, Any] = {}


def parse_invoke(body: bytes, max_inputs: int, object_hook: Optional[Callable[[Dict[str, Any]], Any]] = None) -> List[Input]:
    try:
        document = json.loads(body, object_hook=object_hook)
    except ValueError as error:
        raise BadRequest(f"body is not JSON: {error}") from None
    except RecursionError:
        # json's decoder recurses once per level: about 1,000 nested arrays reach the interpreter's limit.
        raise BadRequest("body is nested too deeply") from None
    inputs = document.get("inputs") if isinstance(document, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest('body must be {"inputs": [...]} with at least one input')
    if len(inputs) > max_inputs:
        raise BadRequest(f"{len(inputs)} inputs in one request, this handler takes at most {max_inputs}")
    return [_input(index, item) for index, item in enumerate(inputs)]


def _input(index: int, item: Any) -> Input:
    if not isinstance(item, dict):
        raise BadRequest(f"inputs[{index}] is not an object")
    input_id = item.get("id")
    args = item.get("args", [])
    kwargs = item.get("kwargs", {})
    if not isinstance(input_id, str):
        raise BadRequest(f"inputs[{index}].id must be a string")
    if not isinstance(args, list):
        raise BadRequest(f"inputs[{index}].args must be an array")
    if not isinstance(kwargs, dict):
        raise BadRequest(f"inputs[{index}].kwargs must be an object")
    method = item.get("method")
    params = item.get("params", {})
    if method is not None and not isinstance(method, str):
        raise BadRequest(f"inputs[{index}].method must be a string")
    if not isinstance(params, dict):
        raise BadRequest(f"inputs[{index}].params must be an object")
    return Input(input_id, args, kwargs, method, params)


def success(input_id: str, value: Any, encode_value: Callable[[Any], str] = _encode) -> str:
    try:
        encoded = encode_value(value)
    except (TypeError, ValueError, RecursionError, pickle.PicklingError) as error:
        return failure(input_id, runtime_error("SerializationError", f"result is not JSON-serialisable: {error}"))
    return '{"id":%s,"ok":true,"value":%s}' % (_encode(input_id), encoded)


def failure(input_id: str, error: Dict[str, str]) -> str:
    return '{"id":%s,"ok":false,"error":%s}' % (_encode(input_id), _encode(error))


def outputs(encoded: List[str]) -> bytes:
    return ('{"outputs":[' + ",".join(encoded) + "]}").encode()


def error_body(kind: str, message: str) -> bytes:
    return _encode({"error": {"type": kind, "message": message}}).encode()


def encode(value: Any) -> bytes:
    return _encode(value).encode()
