"""CPU per request with tracing on vs off, in one process, through ``strato dev``'s ASGI app (no sockets).

wrk's throughput on a shared 2-core machine moves by more than the 5 % being measured; the CPU this
process spends per request (``time.process_time``: every thread, the span writer's included) moves far
less. One app, one lifespan: rounds of ``count`` requests alternate between the tracer installed and
not (on, off, off, on, ...), so both see the same heap, caches and machine load; each round pairs an
on with an off measured next to it, and the median of those ratios is the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .support import ROOT

APP = ROOT / "benchmarks" / "apps" / "hello_strato.py"
CONCURRENCY = 20  # requests in flight, as wrk's connections


def _load_app(data_dir: str) -> Any:
    spec = importlib.util.spec_from_file_location("tracing_bench_hello", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.app.config.data_dir = Path(data_dir)
    return module.app


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _requests(asgi: Any, path: str, count: int) -> None:
    scope = _scope(path)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def client(n: int) -> None:
        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        for _ in range(n):
            await asgi(dict(scope), receive, send)
            if status.pop() != 200:
                raise RuntimeError(f"{path} did not answer 200")

    await asyncio.gather(*(client(count // CONCURRENCY) for _ in range(CONCURRENCY)))


@contextlib.asynccontextmanager
async def serving(asgi: Any) -> AsyncIterator[Any]:
    """``strato dev``'s ASGI app between its lifespan startup and shutdown; yields the tracer it installed
    (put back on the way out)."""
    from strato.trace import setup

    stop = asyncio.Event()
    started = asyncio.Event()
    pending = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.startup.failed":
            raise RuntimeError(message.get("message"))

    life = asyncio.create_task(asgi({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await started.wait()
    tracer = setup.installed()
    if tracer is None:
        raise RuntimeError("strato dev's tracing did not start (STRATO_TRACE=0 in the environment?)")
    try:
        yield tracer
    finally:
        setup.install(tracer)
        stop.set()
        await life


async def _measure(asgi: Any, paths: list[str], count: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    from strato.trace import setup

    out: dict[str, dict[str, list[float]]] = {path: {"on": [], "off": []} for path in paths}
    async with serving(asgi) as tracer:
        for path in paths:
            await _requests(asgi, path, min(count, 2000))  # warm up: imports, threads, caches
            for i in range(rounds):
                for traced in (True, False) if i % 2 == 0 else (False, True):
                    setup.install(tracer if traced else None)
                    await asyncio.sleep(0.15)  # the writer catches up with the previous round's spans
                    before = time.process_time()
                    await _requests(asgi, path, count)
                    cpu = time.process_time() - before
                    out[path]["on" if traced else "off"].append(cpu / count * 1e6)
    return out


def cpu_per_request(paths: list[str], count: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """{path: {"on": [µs per request, a round each], "off": [...]}}, rounds interleaved."""
    from strato.local.server import build_asgi

    previous = os.environ.pop("STRATO_TRACE", None)
    try:
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
            app = _load_app(tmp)
            asgi = build_asgi(app)
            return asyncio.run(_measure(asgi, paths, count, rounds))
    finally:
        if previous is not None:
            os.environ["STRATO_TRACE"] = previous


def paired_ratio(on: list[float], off: list[float], higher_is_better: bool) -> float:
    """The median over rounds of on/off (throughput) or off/on (cost): 1.0 is free, 0.95 costs 5 %."""
    pairs = [(a / b if higher_is_better else b / a) for a, b in zip(on, off, strict=True) if a and b]
    return statistics.median(pairs) if pairs else float("nan")
