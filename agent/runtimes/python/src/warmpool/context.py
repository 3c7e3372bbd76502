"""The call the current code runs for, so that calls it makes become that call's children.

The worker sets ``current_call`` around each plain handler's run (the handler's thread, or the
task of an ``async def`` handler); the client adds it to every call it makes as the
``Warmpool-Parent-Call`` header, so the agent cancels those calls with their parent and shows
them in its status. A context variable rather than a global: a worker runs several inputs at once,
each in its own thread or task, and the blocking client's background loop runs each call in the
context of the thread that made it (``run_coroutine_threadsafe`` schedules with a copy of it).
A batched handler runs for many calls at once, so its calls have no parent.
"""

from contextvars import ContextVar
from typing import Optional

current_call: "ContextVar[Optional[str]]" = ContextVar("warmpool_current_call", default=None)
