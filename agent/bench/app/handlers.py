"""Handlers of the agent benchmark (npm run bench:agent)."""
import time


def noop(*args, **kwargs):
    """The warm no-op: returns its first argument (or None) so both paths can be checked for equality."""
    return args[0] if args else None


def hold(seconds=300, **_ignored):
    """Keeps its container busy so that every later input stays queued (benchmark (d))."""
    time.sleep(seconds)
    return seconds


def spew(mb, to_file=False):
    """Prints `mb` MB in 100-byte lines to stdout, or writes them to a file of its own, line-buffered as
    the worker's stdout is (benchmark (f)'s baseline: a write per line either way, as before the agent read
    workers' output)."""
    import os
    import sys
    import tempfile

    line = "x" * 99 + "\n"
    n = int(mb * 10_000)
    if to_file:
        fd, name = tempfile.mkstemp()
        with os.fdopen(fd, "w", buffering=1) as f:
            w = f.write
            for _ in range(n):
                w(line)
        os.unlink(name)
    else:
        w = sys.stdout.write
        for _ in range(n):
            w(line)
        sys.stdout.flush()
    return n
