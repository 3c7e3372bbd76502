"""The pipeline's functions. Inside a container the client needs no configuration: the agent gives
each worker its URL and a token for this App, whose Dicts and Queues these are."""
from warmpool import Dict, Function, Queue


def square(x):
    return x * x


def fan_out(n):
    """Scheduled: squares 0..n-1 on the `square` pool (a map from inside this container, so each
    input is a child of this call), records the run, and queues the results for `consume`."""
    squares = list(Function.from_name("pipeline", "square").map(range(n)))
    runs = Dict.from_name("runs", create_if_missing=True)
    run = runs.get("count", 0) + 1
    runs[f"run-{run}"] = {"n": n, "total": sum(squares)}
    runs["count"] = run
    Queue.from_name("squares", create_if_missing=True).put_many(squares)
    return sum(squares)


def consume(batch=100):
    """Takes up to `batch` queued results (waiting up to 5 s for the first) and keeps a running total."""
    taken = Queue.from_name("squares", create_if_missing=True).get_many(batch, timeout=5)
    runs = Dict.from_name("runs", create_if_missing=True)
    consumed = runs.get("consumed", 0) + sum(taken)
    runs["consumed"] = consumed
    return {"taken": len(taken), "consumed": consumed}
