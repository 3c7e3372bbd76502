"""``Cls``: a class's methods, found among the app's functions by their handlers, read once from
``GET /v1/apps/{app}`` (the spec lists every function's handler).

- A *class function*, handler ``module:Model``, serves every method of the class: each input names
  its method and the instance's parameters (``Model(size=3)``), and the worker keeps an instance
  per parameter set (runtimes/python/src/warmpool/classes.py). Modal's ``@app.cls``.
- A function per method, handler ``module:Model.predict``: one instance per container, without
  parameters. When a class has both, a method without parameters goes to its own function.
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
        self._class_function: Optional[str] = None

    @staticmethod
    def from_name(app_name: str, name: str, *, environment_name: Optional[str] = None, client: Optional[Client] = None) -> "Cls":
        """A handle for class ``name`` (``Model``, or ``module:Model`` when two modules have one)."""
        return Cls(app_name, name, _client(client, environment_name))

    def __repr__(self) -> str:
        return f"Cls({self.app_name!r}, {self.name!r})"

    def __call__(self, *args: Any, **parameters: Any) -> "Obj":
        if args:
            raise InvalidError(f"{self.name}({', '.join(map(repr, args))}): parameters are passed by name, as in Modal: {self.name}(size=3)")
        return Obj(self, parameters)

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
                if owner == wanted and (not module or module == handler_module) and owner[:1].isupper():
                    self._class_function = function
                continue
            classes.setdefault(owner, []).append(method)
            if owner == wanted and (not module or module == handler_module):
                methods.setdefault(method, []).append(function)
        if not methods and self._class_function is not None:
            return methods
        if not methods:
            known = "; ".join(f"{owner} ({', '.join(sorted(set(names)))})" for owner, names in sorted(classes.items())) or "(none)"
            raise NotFoundError(
                404,
                "WP_ERR_FUNCTION_NOT_FOUND",
                f"app {self.app_name!r} has no class {self.name!r} (no function's handler is {module or '<module>'}:{wanted}.<method>); its classes: {known}",
                functions=sorted(functions),
            )
        return methods

    async def function_for(self, method: str, parameters: Optional[Dict[str, Any]] = None) -> Any:
        """The name of the function that serves ``method``; for a class function, the name and the
        input's ``{"method", "params"}``."""
        methods = await self._read()
        names = methods.get(method)
        if self._class_function is not None and (parameters or not names):
            return self._class_function, {"method": method, "params": parameters or {}}
        if parameters:
            given = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
            raise InvalidError(
                f"{self.name}({given}): app {self.app_name!r} serves {self.name} one method per function "
                f"(module:{self.name}.method), which takes no parameters; deploy the class as one function "
                f"with handler module:{self.name} to use parameters"
            )
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

    def __init__(self, cls: Cls, parameters: Dict[str, Any]) -> None:
        self._cls = cls
        self._parameters = parameters
        self._functions: Dict[str, Function] = {}

    def __repr__(self) -> str:
        return f"{self._cls!r}({', '.join(f'{k}={v!r}' for k, v in self._parameters.items())})"

    def __getattr__(self, method: str) -> Function:
        if method.startswith("_"):
            raise AttributeError(method)
        function = self._functions.get(method)
        if function is None:
            cls = self._cls
            parameters = self._parameters

            async def resolve() -> Any:
                return await cls.function_for(method, parameters)

            function = self._functions[method] = Function(cls.app_name, f"{cls.name}.{method}", cls._client, resolve=resolve)
        return function
