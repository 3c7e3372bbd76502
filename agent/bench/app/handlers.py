"""Handlers of the agent benchmark (npm run bench:agent)."""
import time


def noop(*args, **kwargs):
    """The warm no-op: returns its first argument (or None) so both paths can be checked for equality."""
    return args[0] if args else None


def hold(seconds=300, **_ignored):
    """Keeps its container busy so that every later input stays queued (benchmark (d))."""
    time.sleep(seconds)
    return seconds
