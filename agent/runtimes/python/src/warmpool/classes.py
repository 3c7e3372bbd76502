"""Class functions (``WARMPOOL_HANDLER=module:Class``), Modal's ``@app.cls``: one container pool
serves every method of the class, and each input names its method and its parameters.

- Methods: those marked ``@method``; a class that marks none serves all its public methods.
- Parameters: ``Model(size=3)`` on the caller's side. Declared with ``size = parameter(default=1)``
  (Modal's ``modal.parameter``) they are set as attributes of an instance made without arguments;
  a class that declares none is called with them as keyword arguments.
- Instances: one per distinct parameter set, made on the first input that asks for it, with its
  ``@enter`` hooks run then (the class's default instance, when it needs no parameter, before
  ``/ready``). At most ``MAX_INSTANCES`` live in a container; past that the least recently used idle
  one runs its ``@exit`` hooks and goes, so memory stays bounded (a busy one is never evicted).

Each container makes its own instances; the agent sends an input to a container that already holds
its set when one has a free slot (agent/src/dispatcher/affinity.ts), so a set is made again only
where its own containers are busy.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from .aio import LoopThread
from .hooks import hook_names, method_names

MAX_INSTANCES = 8
"""Parameter sets kept warm per container: the agent routes by as many (schema/src/contract.ts
CLASS_INSTANCES_PER_CONTAINER; agent/test/contract.test.ts checks they agree)."""

_NO_DEFAULT = object()


class Parameter:
    """``size = parameter(default=1)``: a class parameter (Modal's ``modal.parameter``)."""

    def __init__(self, default: Any = _NO_DEFAULT) -> None:
        self.default = default


def parameter(*, default: Any = _NO_DEFAULT) -> Any:
    return Parameter(default)


class ClassError(Exception):
    """An input named a method or parameters the class does not have: the caller's mistake."""


class _Instance:
    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.busy = 0
        self.ready = threading.Event()
        self.failure: Optional[BaseException] = None


class ClassHandler:
    def __init__(self, cls: type, where: str) -> None:
        self.cls = cls
        self.where = where
        self.methods = method_names(cls)
        if not self.methods:
            raise ClassError(f"{where} has no methods to serve")
        self.params = {name: value for klass in reversed(cls.__mro__) for name, value in vars(klass).items() if isinstance(value, Parameter)}
        self.enter = hook_names(cls, "enter")
        self.exit = hook_names(cls, "exit")
        hooks = [getattr(cls, name) for name in self.methods + self.enter + self.exit]
        self.loop: Optional[LoopThread] = LoopThread() if any(inspect.iscoroutinefunction(h) for h in hooks) else None
        self._lock = threading.Lock()
        self._instances: "OrderedDict[str, _Instance]" = OrderedDict()

    def warm_default(self) -> None:
        """The instance without parameters, before /ready, when the class can have one."""
        if all(p.default is not _NO_DEFAULT for p in self.params.values()) and not _required_init_args(self.cls, bool(self.params)):
            instance = self._acquire({})
            self._release(instance)

    def call(self, method: Optional[str], params: Dict[str, Any]) -> Tuple[Callable[..., Any], Callable[[], None]]:
        """The bound method to run for an input, and what to call once it is done."""
        if method is None:
            raise ClassError(f"{self.where} is a class: each input names a method (one of {', '.join(self.methods)})")
        if method not in self.methods:
            raise ClassError(f"{self.where} has no method {method!r}; its methods: {', '.join(self.methods)}")
        instance = self._acquire(params)
        return getattr(instance.obj, method), lambda: self._release(instance)

    def _acquire(self, params: Dict[str, Any]) -> _Instance:
        key = json.dumps(params, sort_keys=True, default=repr)
        with self._lock:
            instance = self._instances.get(key)
            fresh = instance is None
            if instance is None:
                instance = self._instances[key] = _Instance(None)
            self._instances.move_to_end(key)
            instance.busy += 1
            evicted = self._evict()
        for old in evicted:
            self._run_hooks(old.obj, self.exit)
        if fresh:
            try:
                instance.obj = self._make(params)
                self._run_hooks(instance.obj, self.enter)
            except BaseException as error:  # noqa: B036 - reported to every input that waited for it
                instance.failure = error
                with self._lock:
                    self._instances.pop(key, None)
            instance.ready.set()
        else:
            instance.ready.wait()
        if instance.failure is not None:
            self._release(instance)
            raise instance.failure
        return instance

    def _release(self, instance: _Instance) -> None:
        with self._lock:
            instance.busy -= 1

    def _evict(self) -> List[_Instance]:
        evicted = []
        for key in list(self._instances):
            if len(self._instances) <= MAX_INSTANCES:
                break
            if self._instances[key].busy == 0:
                evicted.append(self._instances.pop(key))
        return evicted

    def _make(self, params: Dict[str, Any]) -> Any:
        if not self.params:
            return self.cls(**params)
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ClassError(f"{self.where} has no parameter {unknown[0]!r}; its parameters: {', '.join(self.params)}")
        missing = [name for name, p in self.params.items() if p.default is _NO_DEFAULT and name not in params]
        if missing:
            raise ClassError(f"{self.where} needs parameter {missing[0]!r}")
        obj = self.cls()
        for name, p in self.params.items():
            setattr(obj, name, params.get(name, p.default))
        return obj

    def _run_hooks(self, obj: Any, names: List[str]) -> None:
        for name in names:
            hook = getattr(obj, name)
            if self.loop is not None and inspect.iscoroutinefunction(hook):
                self.loop.run(hook())
            else:
                hook()

    def close(self) -> None:
        """``@exit`` hooks of every live instance, oldest first, then the loop."""
        try:
            with self._lock:
                instances = [i for i in self._instances.values() if i.obj is not None]
                self._instances.clear()
            for instance in instances:
                self._run_hooks(instance.obj, self.exit)
        finally:
            if self.loop is not None:
                self.loop.close()


def _required_init_args(cls: type, declared: bool) -> bool:
    if declared:
        return False
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in signature.parameters.values())
