"""Running the inputs of one ``POST /invoke`` through the handler: one input for a plain handler,
or the whole batch in one call for a batched one, with the counters of ``/stats`` around it."""

from __future__ import annotations

import inspect

from typing import Any, Callable, Dict, List, Optional, Tuple

from . import protocol
from .context import current_call
from .errors import describe, runtime_error
from .loader import Handler
from .protocol import Input
from .stats import Stats
from .classes import ClassError
from .values import Codec

Outcome = Tuple[bool, Any]
"""(True, value) or (False, error object): a handler failure is a result, not an exception."""


def _call_sync(fn: Callable[..., Any], args: List[Any], kwargs: Dict[str, Any], call_id: Optional[str]) -> Outcome:
    token = current_call.set(call_id)
    try:
        return True, fn(*args, **kwargs)
    except BaseException as error:  # noqa: B036 - whatever the handler raised, even SystemExit, is its result
        return False, describe(error)
    finally:
        current_call.reset(token)


async def _call_async(fn: Callable[..., Any], args: List[Any], kwargs: Dict[str, Any], call_id: Optional[str]) -> Outcome:
    # Caught on the loop rather than re-raised through the future, so the traceback shows the
    # handler's frames and not concurrent.futures'. Each input is a task of its own, so setting the
    # variable here touches no other input's context.
    current_call.set(call_id)
    try:
        return True, await fn(*args, **kwargs)
    except BaseException as error:  # noqa: B036
        return False, describe(error)


class Invoker:
    def __init__(self, handler: Handler, batch_size: int, stats: Stats, codec: Codec = Codec(False)) -> None:
        self.codec = codec
        self._class = handler.cls
        self._fn = handler.fn
        self._loop = handler.loop if handler.is_async else None
        self._batched = batch_size > 0
        self._stats = stats

    def run(self, inputs: List[Input]) -> List[str]:
        """Encoded outputs, in the order of ``inputs``."""
        count = len(inputs)
        self._stats.begin(count, self._batched)
        try:
            return self._run_batch(inputs) if self._batched else [self._run_one(inputs[0])]
        finally:
            self._stats.end(count)

    def _call(self, args: List[Any], kwargs: Dict[str, Any], call_id: Optional[str] = None) -> Outcome:
        if self._loop is None:
            return _call_sync(self._fn, args, kwargs, call_id)
        return self._loop.run(_call_async(self._fn, args, kwargs, call_id))

    def _run_one(self, item: Input) -> str:
        if self._class is not None:
            ok, result = self._call_method(item)
        elif item.method is not None:
            ok, result = False, runtime_error("NotAClass", f"the handler is a function, not a class: an input cannot name method {item.method!r}")
        else:
            ok, result = self._call(item.args, item.kwargs, item.id)
        return protocol.success(item.id, result, self.codec.encode) if ok else protocol.failure(item.id, result)

    def _call_method(self, item: Input) -> Outcome:
        """A class function's input: its instance (made, with its ``@enter`` hooks, on first use), then the method."""
        cls = self._class
        assert cls is not None
        try:
            fn, done = cls.call(item.method, item.params)
        except ClassError as error:
            return False, runtime_error("InvalidMethod", str(error))
        except BaseException as error:  # noqa: B036 - an instance that failed to start fails its inputs
            return False, describe(error)
        try:
            if inspect.iscoroutinefunction(fn) and cls.loop is not None:
                return cls.loop.run(_call_async(fn, item.args, item.kwargs, item.id))
            return _call_sync(fn, item.args, item.kwargs, item.id)
        finally:
            done()

    def _run_batch(self, inputs: List[Input]) -> List[str]:
        if self._class is not None:
            return _fail_all(inputs, runtime_error("BatchingUnsupported", "a class function (module:Class) cannot be batched; batch one method with module:Class.method"))
        first = inputs[0]
        if any(len(item.args) != len(first.args) or item.kwargs.keys() != first.kwargs.keys() for item in inputs):
            return _fail_all(inputs, runtime_error(
                "BatchArgumentMismatch",
                "every input of a batch must have the same number of positional arguments and the same keyword names",
            ))
        args = [[item.args[position] for item in inputs] for position in range(len(first.args))]
        kwargs = {name: [item.kwargs[name] for item in inputs] for name in first.kwargs}
        ok, result = self._call(args, kwargs)
        if not ok:
            return _fail_all(inputs, result)
        if not isinstance(result, (list, tuple)) or len(result) != len(inputs):
            got = f"{len(result)} results" if isinstance(result, (list, tuple)) else f"a {type(result).__name__}"
            return _fail_all(inputs, runtime_error(
                "BatchSizeMismatch", f"batched handler returned {got} for a batch of {len(inputs)} inputs",
            ))
        return [protocol.success(item.id, value, self.codec.encode) for item, value in zip(inputs, result)]


def _fail_all(inputs: List[Input], error: Dict[str, str]) -> List[str]:
    return [protocol.failure(item.id, error) for item in inputs]
