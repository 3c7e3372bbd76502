"""The ``@enter``, ``@exit`` and ``@method`` decorators, and how the loader finds what they marked.

A decorator only tags the function with an attribute. Tags survive a package imported twice (user
code and worker under different names), where identity checks against a registry would not.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, List

_TAG = "__warmpool_hook__"


def _tagger(kind: str) -> Callable[..., Any]:
    def decorator(fn: Any = None) -> Any:
        # Both `@enter` and `@enter()` are accepted: code ported from Modal writes the latter.
        if fn is None:
            return decorator
        setattr(fn, _TAG, kind)
        return fn

    decorator.__name__ = kind
    decorator.__doc__ = f"Mark a method as a warmpool `{kind}` hook."
    return decorator


enter = _tagger("enter")
"""Run this method once per container, after creating the instance and before ``/ready`` is 200."""

exit = _tagger("exit")  # noqa: A001 - the public name mirrors `enter`
"""Run this method once when the container shuts down, after the inputs in flight have finished."""

method = _tagger("method")
"""Mark a method as callable by name (``module:Class.method``). Optional: documents intent."""


def hook_names(cls: type, kind: str) -> List[str]:
    """Names of the methods of ``cls`` tagged ``kind``, base classes' first, each in source order."""
    members: dict = {}
    for klass in reversed(cls.__mro__):
        # A subclass redefining a hook replaces it but keeps the base class's place in the order.
        members.update(vars(klass))
    return [name for name, value in members.items() if getattr(value, _TAG, None) == kind]


def method_names(cls: type) -> List[str]:
    """What a class function serves: the methods marked ``@method``, or, with none marked, every
    public method that is not a hook."""
    members: dict = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        members.update(vars(klass))
    marked = [name for name, value in members.items() if getattr(value, _TAG, None) == "method"]
    if marked:
        return marked
    return [name for name, value in members.items() if not name.startswith("_") and inspect.isfunction(value) and getattr(value, _TAG, None) is None]
