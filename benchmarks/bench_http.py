"""HTTP requests per second and latency at 50 concurrent clients (wrk): `strato dev` vs a bare Starlette
app on the same uvicorn (httptools + uvloop when installed) serving the same handler, async and sync.

Every pair runs interleaved: both servers are up at once and short wrk runs alternate between them
(A B, B A, ...), so a burst of load from elsewhere on the machine hits both; the rows are medians.
``scale`` sweeps the number of routes in-process through the ASGI app (no sockets: quick and stable).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

from .support import ROOT, Row, ScalePoint, free_port, process

LUA = str(ROOT / "benchmarks" / "apps" / "p95.lua")
BASELINE = "bare Starlette+uvicorn"


class Server(NamedTuple):
    url: str
    pid: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(server: Server, path: str, seconds: float, connections: int = 50) -> tuple[float, float, float, float]:
    """(requests/s, p50 ms, p95 ms, server CPU µs per request) of a wrk run; fails loudly on errors. The
    CPU column is the server's own work per request, which load elsewhere on the machine disturbs less."""
    url = server.url + path
    before = cpu_seconds(server.pid)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", LUA, url], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    rps, p50, p95, bad_status, socket_errors = line.split()[1:]
    if int(bad_status) or int(socket_errors):
        raise RuntimeError(f"wrk saw errors against {url}: {out}")
    cpu = (cpu_seconds(server.pid) - before) / (float(rps) * seconds) * 1e6
    return float(rps), float(p50), float(p95), cpu


def interleaved(
    a: Server, b: Server, path: str, rounds: int, seconds: float
) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    """wrk results for ``path`` on servers a and b, alternating which goes first in each round."""
    for server in (a, b):  # warm up both (imports, thread pools, caches)
        subprocess.run(["wrk", "-t1", "-c10", "-d1s", server.url + path], capture_output=True, check=True)
    runs: dict[Server, list[tuple[float, ...]]] = {a: [], b: []}
    for i in range(rounds):
        for server in (a, b) if i % 2 == 0 else (b, a):
            runs[server].append(wrk(server, path, seconds))
    return runs[a], runs[b]


def median(runs: list[tuple[float, ...]], column: int) -> float:
    return statistics.median(run[column] for run in runs)


def _strato(stack: ExitStack, app: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    data = stack.enter_context(tempfile.TemporaryDirectory())
    args = ["dev", app, "--port", str(port), "--data", data, "--log-level", "warning"]
    proc = stack.enter_context(process([sys.executable, "-m", "strato.cli", *args], port, env))
    return Server(f"http://127.0.0.1:{port}", proc.pid)


def _starlette(stack: ExitStack) -> Server:
    port = free_port()
    args = ["uvicorn", "benchmarks.apps.hello_starlette:app", "--port", str(port), "--log-level", "warning"]
    proc = stack.enter_context(process([sys.executable, "-m", *args], port))
    return Server(f"http://127.0.0.1:{port}", proc.pid)


def row(metric: str, ours: list, theirs: list, column: int, unit: str, target: str, baseline: str = BASELINE) -> Row:
    """A ratio row of the medians of one wrk column (0 req/s; 1 p50 ms, 2 p95 ms, 3 server CPU µs per
    request: lower is better)."""
    return Row("http", metric, median(ours, column), median(theirs, column), baseline, unit, target, column == 0)


def run(quick: bool = False) -> list[Row]:
    if not shutil.which("wrk"):
        print("skipping HTTP benchmark: install wrk (apt-get install wrk)")
        return []
    rounds, seconds = (3, 2) if quick else (7, 3)
    rows = []
    with ExitStack() as stack:
        strato, bare = _strato(stack, "benchmarks/apps/hello_strato.py"), _starlette(stack)
        ours, theirs = interleaved(strato, bare, "/async/hello/world", rounds, seconds)
        rows.append(row("async handler throughput", ours, theirs, 0, "req/s", "≥ 1.0x"))
        rows.append(row("async server CPU per request", ours, theirs, 3, "µs", ""))
        ours, theirs = interleaved(strato, bare, "/hello/world", rounds, seconds)
        rows.append(row("sync handler throughput", ours, theirs, 0, "req/s", "≥ 1.3x"))
        rows.append(row("sync p50 latency, 50 clients", ours, theirs, 1, "ms", ""))
        rows.append(row("sync p95 latency, 50 clients", ours, theirs, 2, "ms", "≥ 1.0x"))
        rows.append(row("sync server CPU per request", ours, theirs, 3, "µs", ""))
    with ExitStack() as stack:
        many = _strato(stack, "benchmarks/apps/routes_strato.py", {"STRATO_BENCH_ROUTES": "500"})
        few = _strato(stack, "benchmarks/apps/routes_strato.py", {"STRATO_BENCH_ROUTES": "10"})
        ours, theirs = interleaved(many, few, "/last/items/world", rounds, seconds)
        rows.append(row("last of 500 routes throughput", ours, theirs, 0, "req/s", "≥ 0.95x", "last of 10 routes"))
    return rows


def scale(quick: bool = False) -> list[ScalePoint]:
    """µs per request for the last declared route as the route count grows, through the dev server's ASGI
    app in-process (an async handler: no thread hand-off, so the routing cost is what changes), in CPU
    time of this thread (other processes' load barely moves it). Sizes are interleaved slice by slice and
    each keeps its fastest slice."""
    counts = [10, 100, 500, 2000]
    slices, per_slice = (8, 300) if quick else (20, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        apps = {count: _routes_app(tmp, count) for count in counts}
        try:
            best = asyncio.run(_sweep(apps, slices, per_slice))
        finally:
            for app, _ in apps.values():
                app.close()
    return [ScalePoint("http: last route by route count", count, best[count]) for count in counts]


SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/last/items/world",
    "raw_path": b"/last/items/world",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 50000),
}


def _routes_app(tmp: str, count: int) -> tuple[Any, Any]:
    """An app with ``count`` routes (the last one requested), and the dev server's ASGI app for it."""
    import strato
    from strato.local.server import build_asgi

    app = strato.App(f"routes{count}", data_dir=os.path.join(tmp, str(count)))
    api = app.http()

    async def handler(req: Any, name: str) -> dict:
        return {"hello": name}

    for i in range(count - 1):
        api.get(f"/r{i}/items/{{name}}")(handler)
    api.get("/last/items/{name}")(handler)
    return app, build_asgi(app, background=False)


async def _sweep(apps: dict[int, tuple[Any, Any]], slices: int, per_slice: int) -> dict[int, float]:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    best = {count: float("inf") for count in apps}
    for i in range(slices + 1):
        for count, (_, asgi) in apps.items():
            started = time.thread_time()
            for _ in range(per_slice):
                await asgi(dict(SCOPE), receive, send)
            if i:  # the first round warms up
                best[count] = min(best[count], (time.thread_time() - started) / per_slice * 1e6)
    return best
