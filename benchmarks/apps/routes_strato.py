"""STRATO_BENCH_ROUTES routes (default 500) of the shapes an API has; the benchmark requests the last
one declared, which a linear scan would reach last."""

import os

import strato

app = strato.App("routes")
api = app.http()
COUNT = int(os.environ.get("STRATO_BENCH_ROUTES", "500"))


def declare(api, count: int) -> str:
    """``count`` routes on ``api``; the path of a request for the last one."""
    for i in range(count - 1):
        api.get(f"/r{i}/items/{{name}}")(_handler)
    api.get("/last/items/{name}")(_handler)
    return "/last/items/world"


def _handler(req, name):
    return {"hello": name, "n": len(name)}


declare(api, COUNT)
