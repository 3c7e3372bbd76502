"""The handler behind the worker fuzz (agent/fuzz/workers.ts): returns what it is given."""


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}
