"""GraphQL: a simple query through `strato dev` vs the same Strawberry schema on Strawberry's own ASGI app
under the same uvicorn (wrk, 50 clients, POST JSON, interleaved rounds, medians); and publish -> 1,000
subscribers' clients (graphql-transport-ws, in a separate process) p95, against a plain WebSocket
broadcast of a message of the same shape to the same connections."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

from .bench_http import Server, _strato, cpu_seconds
from .support import ROOT, Row, free_port, process

POST = str(ROOT / "benchmarks" / "apps" / "graphql_post.lua")
BASELINE = "Strawberry ASGI + uvicorn"
CACHED = "Strawberry ASGI + parser/validation caches"
SUBSCRIBERS = 1000


def wrk(server: Server, seconds: float, connections: int = 50) -> tuple[float, float, float, float]:
    before = cpu_seconds(server.pid)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", POST, server.url + "/graphql"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps, p50, p95, bad_status, socket_errors = next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
    if int(bad_status) or int(socket_errors):
        raise RuntimeError(f"wrk saw errors against {server.url}: {out}")
    return float(rps), float(p50), float(p95), (cpu_seconds(server.pid) - before) / (float(rps) * seconds) * 1e6


def _strawberry(stack: ExitStack, attr: str = "app") -> Server:
    port = free_port()
    args = ["uvicorn", f"benchmarks.apps.graphql_strawberry:{attr}", "--port", str(port), "--log-level", "warning"]
    proc = stack.enter_context(process([sys.executable, "-m", *args], port))
    return Server(f"http://127.0.0.1:{port}", proc.pid)


def query_rows(quick: bool) -> list[Row]:
    """strato dev against Strawberry's ASGI app as it comes, and with its parser and validation caches on
    (strato caches parsed, validated documents itself): three servers, rounds interleaved."""
    rounds, seconds = (3, 2) if quick else (7, 3)
    with ExitStack() as stack:
        servers = {
            "strato": _strato(stack, "benchmarks/apps/graphql_strato.py"),
            BASELINE: _strawberry(stack),
            CACHED: _strawberry(stack, "cached"),
        }
        for server in servers.values():
            wrk(server, 1, 10)  # warm up
        runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in servers}
        for i in range(rounds):
            order = list(servers) if i % 2 == 0 else list(reversed(servers))
            for name in order:
                runs[name].append(wrk(servers[name], seconds))

    def row(metric: str, column: int, unit: str, baseline: str, target: str = "") -> Row:
        ours_value = statistics.median(r[column] for r in runs["strato"])
        theirs_value = statistics.median(r[column] for r in runs[baseline])
        return Row("graphql", metric, ours_value, theirs_value, baseline, unit, target, column == 0)

    rows = []
    for baseline in (BASELINE, CACHED):
        rows += [
            row("simple query throughput (POST)", 0, "req/s", baseline, "≥ 0.8x"),
            row("simple query p95 latency, 50 clients", 2, "ms", baseline),
            row("simple query server CPU per request", 3, "µs", baseline),
        ]
    return rows


def fanout_rows(quick: bool) -> list[Row]:
    rounds = 5 if quick else 15
    with tempfile.TemporaryDirectory() as data, ExitStack() as stack:
        port = free_port()
        args = ["dev", "benchmarks/apps/graphql_strato.py", "--port", str(port), "--data", data]
        stack.enter_context(process([sys.executable, "-m", "strato.cli", *args, "--log-level", "warning"], port))
        os.environ["STRATO_DATA_DIR"] = data
        from strato.loader import load_app

        app = load_app("benchmarks/apps/graphql_strato.py", fresh=True)
        stack.callback(app.close)
        graph = app.resources[("graphql", "graphql")]
        fleet = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.graphql_fleet", f"ws://127.0.0.1:{port}/ws/graphql", str(SUBSCRIBERS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(fleet.kill)
        assert fleet.stdout is not None and fleet.stdin is not None
        assert fleet.stdout.readline().strip() == f"ready {SUBSCRIBERS}"
        deadline = time.time() + 60
        while len(graph.subscriptions.of("ticks")) < SUBSCRIBERS and time.time() < deadline:
            time.sleep(0.05)

        def measure(send) -> list[float]:
            latencies: list[float] = []
            for n in range(rounds):
                send(n)
                got = json.loads(fleet.stdout.readline().split(" ", 1)[1])
                if len(got) < SUBSCRIBERS:
                    raise RuntimeError(f"only {len(got)} of {SUBSCRIBERS} subscribers got round {n}")
                latencies += got
            return latencies

        def publish(n: int) -> None:
            graph.publish("ticks", {"n": n, "t": time.time()})

        def broadcast(n: int) -> None:
            message = {"id": "1", "type": "next", "payload": {"data": {"ticks": {"n": n, "t": time.time()}}}}
            graph.websocket.broadcast(message)

        ours, theirs = [], []
        for i in range(2):  # interleaved halves
            for send, into in ((publish, ours), (broadcast, theirs))[:: 1 if i % 2 == 0 else -1]:
                into += measure(send)
        fleet.stdin.write("quit\n")
        fleet.stdin.flush()
        os.environ.pop("STRATO_DATA_DIR", None)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    return [
        Row(
            "graphql",
            f"publish -> {SUBSCRIBERS} subscribers p95 (from another process)",
            p95(ours),
            p95(theirs),
            "plain WebSocket broadcast",
            "ms",
            "< 100 ms",
            False,
        )
    ]


def run(quick: bool = False) -> list[Row]:
    rows = []
    if shutil.which("wrk"):
        rows += query_rows(quick)
    else:
        print("skipping the GraphQL query benchmark: install wrk (apt-get install wrk)")
    rows += fanout_rows(quick)
    return rows
