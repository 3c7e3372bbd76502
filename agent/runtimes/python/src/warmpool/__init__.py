"""warmpool worker runtime for Python.

Handlers import only the decorators from here; ``python -m warmpool.worker`` runs the worker that
serves them (see PROTOCOL.md next to this runtime). Standard library only, so the package installs
into any image, CUDA base images included, without pulling in dependencies.
"""

from .hooks import enter, exit, method
from .web import Response

__all__ = ["enter", "exit", "method", "Response"]
__version__ = "0.1.0"
