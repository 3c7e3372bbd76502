"""``Cls``: a class's methods, found among the app's functions by their handlers.

Today each method of a class is a function of its own in the App spec, with the handler
``module:Class.method``. ``Cls.from_name("app", "Model")().predict`` is the function whose handler
is ``<module>:Model.predict``, read once from ``GET /v1/apps/{app}`` (the spec lists every
function's handler). Class parameters (``Model(size=3)``) need the agent to make an instance per
set of parameters, which it does not do yet: they are refused before anything is sent.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .blocking import dual
from .errors import InvalidError, NotFoundError
from .functions import Client, Function, _client
from .transport import path


class Cls:
    def __init__(self, app_name: str, name: str, client: Client) -> None:
        self.app_name = app_name
        self.name = name
        self._client = client
        self._methods: Optional[Dict[str, List[str]]] = None

    @staticmethod
    def from_name(app_name: str, name: str, *, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "Cls":
        """A handle for class ``name`` (``Model``, or ``module:Model`` when two modules have one)."""
        return Cls(app_name, name, _client(client, environment_name))

    def __repr__(self) -> str:
        return f"Cls({self.app_name!r}, {self.name!r})"

    def __call__(self, *args: Any, **parameters: Any) -> "Obj":
        if args or parameters:
            given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in parameters.items()])
            raise InvalidError(
                f"{self.name}({given}): class parameters are not supported yet. The agent makes one "
                f"instance of {self.name} per container, without arguments; call {self.name}() instead."
            )
        return Obj(self)

    @dual
    async def hydrate(self) -> "Cls":
        """Reads the app's functions now (``NotFoundError`` when the app has no such class)."""
        await self._read()
        return self

    async def _read(self) -> Dict[str, List[str]]:
        if self._methods is None:
            answer = await self._fetch()
            self._methods = self._methods_in(answer.get("spec", {}).get("functions", {}) or {})
        return self._methods

    async def _fetch(self) -> Dict[str, Any]:
        try:
            return await self._client.transport.request("GET", path("v1", "apps", self.app_name))
        except NotFoundError as error:
            raise await self._client.explain(error) from None

    def _methods_in(self, functions: Dict[str, Any]) -> Dict[str, List[str]]:
        """``{method: [function names]}`` of this class; NotFoundError naming the classes there are."""
        module, _, wanted = self.name.rpartition(":")
        methods: Dict[str, List[str]] = {}
        classes: Dict[str, List[str]] = {}
        for function, spec in sorted(functions.items()):
            handler = str((spec or {}).get("handler", ""))
            handler_module, _, attribute = handler.partition(":")
            owner, dot, method = attribute.partition(".")
            if not dot:
                continue
            classes.setdefault(owner, []).append(method)
            if owner == wanted and (not module or module == handler_module):
                methods.setdefault(method, []).append(function)
        if not methods:
            known = "; ".join(f"{owner} ({', '.join(sorted(set(names)))})" for owner, names in sorted(classes.items())) or "(none)"
            raise NotFoundError(
                404,
                "WP_ERR_FUNCTION_NOT_FOUND",
                f"app {self.app_name!r} has no class {self.name!r} (no function's handler is {module or '<module>'}:{wanted}.<method>); its classes: {known}",
                functions=sorted(functions),
            )
        return methods

    async def function_for(self, method: str) -> str:
        """The name of the function that serves ``method``."""
        methods = await self._read()
        names = methods.get(method)
        if not names:
            raise NotFoundError(
                404,
                "WP_ERR_FUNCTION_NOT_FOUND",
                f"class {self.name!r} of app {self.app_name!r} has no method {method!r}; its methods: {', '.join(sorted(methods))}",
                functions=sorted(name for names in methods.values() for name in names),
            )
        if len(names) == 1:
            return names[0]
        if method in names:
            return method  # several functions serve it (say, batched and not): the one named after it
        raise InvalidError(f"{self.name}.{method} is served by several functions of app {self.app_name!r} ({', '.join(names)}); use Function.from_name with one of them")


class Obj:
    """An instance of a ``Cls``: its attributes are its methods, each a ``Function``."""

    def __init__(self, cls: Cls) -> None:
        self._cls = cls
        self._functions: Dict[str, Function] = {}

    def __repr__(self) -> str:
        return f"{self._cls!r}()"

    def __getattr__(self, method: str) -> Function:
        if method.startswith("_"):
            raise AttributeError(method)
        function = self._functions.get(method)
        if function is None:
            cls = self._cls

            async def resolve() -> str:
                return await cls.function_for(method)

            function = self._functions[method] = Function(cls.app_name, f"{cls.name}.{method}", cls._client, resolve=resolve)
        return function
