"""Loading ``WARMPOOL_HANDLER``: import the module and, for a class, make the container's one
instance and run its ``@enter`` hooks. Everything here runs once, before ``/ready`` turns 200."""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any, Callable, List, NamedTuple, Optional

from .aio import LoopThread
from .classes import ClassHandler
from .hooks import hook_names


class LoadError(Exception):
    """The handler spec names something that is not there or cannot be called."""


class Handler(NamedTuple):
    fn: Callable[..., Any]
    is_async: bool
    exit_hooks: List[Callable[[], Any]]
    loop: Optional[LoopThread]
    """Present when the handler or any hook is ``async def``; None keeps sync workers thread-only."""
    cls: Optional[ClassHandler] = None
    """For ``module:Class``: the class function, whose inputs name a method and parameters."""

    def close(self) -> None:
        """Run the ``@exit`` hooks once, in order, then stop the event loop."""
        if self.cls is not None:
            self.cls.close()
            return
        try:
            for hook in self.exit_hooks:
                _run_hook(hook, self.loop)
        finally:
            if self.loop is not None:
                self.loop.close()


def load(spec: str, app_dir: str) -> Handler:
    module_name, _, attribute = spec.partition(":")
    # First on the path, so the app's modules win over same-named installed ones.
    sys.path.insert(0, app_dir)
    module = importlib.import_module(module_name)
    owner_name, dot, method_name = attribute.partition(".")
    owner = _attribute(module, owner_name, module_name)

    enter_hooks: List[Callable[[], Any]] = []
    exit_hooks: List[Callable[[], Any]] = []
    if dot:
        if not inspect.isclass(owner):
            raise LoadError(f"{module_name}:{owner_name} is not a class, so {spec} cannot name a method of it")
        instance = owner()
        fn = _attribute(instance, method_name, f"{module_name}:{owner_name}")
        enter_hooks = [getattr(instance, name) for name in hook_names(owner, "enter")]
        exit_hooks = [getattr(instance, name) for name in hook_names(owner, "exit")]
    elif inspect.isclass(owner):
        # module:Class: every method of the class, an instance per parameter set (classes.py).
        handler = ClassHandler(owner, f"{module_name}:{owner_name}")
        handler.warm_default()
        return Handler(owner, False, [], handler.loop, handler)
    else:
        fn = owner
    if not callable(fn):
        raise LoadError(f"{spec} is a {type(fn).__name__}, not a function")

    is_async = inspect.iscoroutinefunction(fn)
    needs_loop = is_async or any(inspect.iscoroutinefunction(hook) for hook in enter_hooks + exit_hooks)
    loop = LoopThread() if needs_loop else None
    for hook in enter_hooks:
        _run_hook(hook, loop)
    return Handler(fn, is_async, exit_hooks, loop)


def _attribute(owner: Any, name: str, where: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        raise LoadError(f"{where} has no attribute {name!r}") from None


def _run_hook(hook: Callable[[], Any], loop: Optional[LoopThread]) -> None:
    if loop is not None and inspect.iscoroutinefunction(hook):
        loop.run(hook())
    else:
        hook()
