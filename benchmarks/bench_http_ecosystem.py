"""The HTTP API meets the Python ecosystem (issue 20): typed handlers, mounted ASGI apps, cold starts.

- a validated route (pydantic body model, typed path and query parameters, a response model) under
  ``strato dev`` vs the same route in FastAPI on the same uvicorn (wrk, interleaved as in bench_http);
- a mounted FastAPI app through strato's Lambda path (``app.lambda_handler``) vs the same app through
  Mangum, in-process, payload 2.0 events, slices alternating between the two;
- cold start of that mounted app vs Mangum's, and of HTTP apps with typed parameters but no models (which
  must not import pydantic) and with a model (which does), against the tiny plain app.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from contextlib import ExitStack
from typing import Any

from . import bench_coldstart as cold
from .bench_http import Server, _strato, interleaved, median, wrk  # noqa: F401 - wrk: the same runner
from .support import ROOT, Row, free_port, process

POST_LUA = str(ROOT / "benchmarks" / "apps" / "post_item.lua")
APPS = ROOT / "benchmarks" / "apps"


def _fastapi(stack: ExitStack) -> Server:
    port = free_port()
    args = ["uvicorn", "typed_fastapi:app", "--app-dir", str(APPS), "--port", str(port), "--log-level", "warning"]
    proc = stack.enter_context(process([sys.executable, "-m", *args], port))
    return Server(f"http://127.0.0.1:{port}", proc.pid)


def _typed_rows(quick: bool) -> list[Row]:
    import shutil

    if not shutil.which("wrk"):
        print("skipping the typed-route benchmark: install wrk (apt-get install wrk)")
        return []
    from . import bench_http

    rounds, seconds = (3, 2) if quick else (7, 3)
    lua, bench_http.LUA = bench_http.LUA, POST_LUA  # the same runner, POSTing a JSON item
    try:
        with ExitStack() as stack:
            ours_server, theirs_server = _strato(stack, "benchmarks/apps/typed_strato.py"), _fastapi(stack)
            ours, theirs = interleaved(ours_server, theirs_server, "/items/3?dry_run=true", rounds, seconds)
    finally:
        bench_http.LUA = lua
    return [
        Row("http ecosystem", "validated pydantic route throughput", median(ours, 0), median(theirs, 0),
            "FastAPI+uvicorn", "req/s", "≥ 0.8x"),
        Row("http ecosystem", "validated pydantic route p50, 50 clients", median(ours, 1), median(theirs, 1),
            "FastAPI+uvicorn", "ms", "", higher_is_better=False),
    ]  # fmt: skip


def _event(path: str, query: str) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    joined: dict[str, str] = {}
    for name, value in parse_qsl(query):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "queryStringParameters": joined, "cookies": ["session=abc"],
        "headers": {"host": "api.example.com", "x-user": "ada", "x-forwarded-proto": "https",
                    "x-forwarded-port": "443"},
        "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "1.2.3.4", "protocol": "HTTP/1.1"},
                           "domainName": "api.example.com", "stage": "$default", "requestId": "r",
                           "routeKey": "$default"},
        "isBase64Encoded": False,
    }  # fmt: skip


def _mount_rows(quick: bool) -> list[Row]:
    """Events per second through each handler, in slices that alternate; each side's best slice."""
    import tempfile

    sys.path.insert(0, str(APPS))
    from legacy_fastapi import legacy
    from mangum import Mangum

    import strato

    with tempfile.TemporaryDirectory() as data:
        app = strato.App("mountbench", data_dir=data)
        app.http().mount("/legacy", legacy)
        mangum = Mangum(legacy, lifespan="auto", api_gateway_base_path="/legacy")
        event = _event("/legacy/items/7", "tag=a&tag=b")

        class Context:  # what Mangum reads of the Lambda context
            aws_request_id = "r"

        handlers = {"strato": lambda: app.lambda_handler(json.loads(json.dumps(event)), None),
                    "mangum": lambda: mangum(json.loads(json.dumps(event)), Context())}  # fmt: skip
        for name, handler in handlers.items():
            out = handler()
            assert out["statusCode"] == 200 and json.loads(out["body"])["tags"] == ["a", "b"], (name, out)
        slices, per_slice = (6, 200) if quick else (16, 500)
        best = {name: 0.0 for name in handlers}
        for i in range(slices + 1):
            for name, handler in handlers.items() if i % 2 == 0 else reversed(handlers.items()):
                started = time.perf_counter()
                for _ in range(per_slice):
                    handler()
                if i:
                    best[name] = max(best[name], per_slice / (time.perf_counter() - started))
        app.close()
    return [
        Row(
            "http ecosystem",
            "mounted FastAPI app, Lambda path events/s",
            best["strato"],
            best["mangum"],
            "Mangum",
            "events/s",
            "≥ 0.8x",
        )
    ]


def _cold_rows(quick: bool) -> list[Row]:
    variants = {
        "plain": cold._command("cold_strato", cold.V2),
        "scalars": cold._command("cold_scalars", cold.V2),
        "models": cold._command("cold_models", cold.V2),
        "mount": cold._command("cold_mount_strato", _event("/legacy/items/7", "tag=a")),
        "mangum": cold._command("cold_mount_mangum", _event("/legacy/items/7", "tag=a")),
    }
    scalars = cold.imports("cold_scalars", cold.V2)
    if "pydantic" in {m.split(".")[0] for m in scalars["third-party"]}:
        raise RuntimeError("an HTTP app without models imported pydantic on its cold start")
    print(f"cold start, typed parameters without models: third-party {scalars['third-party'] or '-'}", file=sys.stderr)
    for command in variants.values():
        cold._timed(command)  # bytecode caches warm
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(9 if quick else 31):
        for name, command in variants.items():
            w, c = cold._timed(command)
            wall[name].append(w)
            cpu[name].append(c)
    ms = {name: statistics.median(v) for name, v in wall.items()}
    cpu_ms = {name: statistics.median(v) for name, v in cpu.items()}
    print("cold start medians, ms wall / cpu: " + ", ".join(f"{n} {ms[n]:.1f} / {cpu_ms[n]:.1f}" for n in ms),
          file=sys.stderr)  # fmt: skip
    return [
        Row("http ecosystem", "cold start, mounted FastAPI vs Mangum, wall", ms["mount"], ms["mangum"], "Mangum", "ms",
            "≥ 1.0x (no slower)", higher_is_better=False),
        Row("http ecosystem", "cold start, mounted FastAPI vs Mangum, cpu", cpu_ms["mount"], cpu_ms["mangum"], "Mangum",
            "ms", "≥ 1.0x (no slower)", higher_is_better=False),
        Row("http ecosystem", "cold start, typed params without models (no pydantic)", ms["scalars"], ms["plain"],
            "plain tiny app", "ms", "≥ 0.95x", higher_is_better=False),
        Row("http ecosystem", "cold start, with a pydantic model", ms["models"], ms["plain"], "plain tiny app", "ms",
            "(measured)", higher_is_better=False),
    ]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    return _cold_rows(quick) + _mount_rows(quick) + _typed_rows(quick)


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run(quick="--quick" in sys.argv))
