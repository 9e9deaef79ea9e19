"""What tracing costs in CPU instructions (valgrind's callgrind): the figure that does not move with the
machine's load.

wrk's throughput on a shared 2-core VM swings by more than the 5 % being measured, and even CPU time per
request moves with caches and the other core. Callgrind counts instructions, the same for the same code
and inputs. Each case runs with no thread or timer deciding how much work is done: HTTP requests go
through ``strato dev``'s ASGI app in one process (no sockets: uvicorn's share of a request is left out,
so the ratio is stricter than wrk's), queue messages are sent and drained by hand (``strato.testing``'s
drain), and the span writer's interval is an hour, its work done by one ``flush`` inside the measured
part. A case runs twice, with ``WARM`` and ``WARM + COUNT`` items, and the difference over ``COUNT`` is
the cost of one item: imports, start-up and warm-up cancel out.

``python -m benchmarks.tracing_instructions CASE MODE COUNT`` is one run (what callgrind runs).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .support import ROOT

WARM = 1000
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
CASES = {"http-async": "/async/hello/world", "http-sync": "/hello/world", "queue": ""}


def _http(path: str, traced: bool, count: int) -> None:
    from strato.local.server import build_asgi
    from strato.trace import setup

    from .tracing_inprocess import _load_app, _requests, serving

    async def main(asgi: Any) -> None:
        async with serving(asgi) as tracer:
            store = asgi.spans
            store.flush_every = 3600.0
            await asyncio.sleep(0.3)  # the writer's current wait ends; its next one outlasts the run
            setup.install(tracer if traced else None)
            for n in (WARM, count):
                if n:
                    await _requests(asgi, path, n)
                    store.flush()

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a late SQLite file may land
        asyncio.run(main(build_asgi(_load_app(tmp))))


def _queue(traced: bool, count: int) -> None:
    import strato
    from strato.testing.drain import Drain
    from strato.trace import SpanStore, Tracer, install

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a late SQLite file may land
        app = strato.App("tracebench", data_dir=tmp)
        jobs = app.queue("jobs")
        handled = [0]

        @jobs.consumer(batch_size=10)
        def work(message: Any) -> None:
            handled[0] += 1

        store = SpanStore(tmp, flush_every=3600)
        tracer = Tracer()
        store.attach(tracer)  # as strato worker's tracer
        drain = Drain(app)
        install(tracer if traced else None)
        for n in (WARM, count):
            for start in range(0, n, 10):
                batch = [{"n": i} for i in range(start, start + 10)]
                if traced:  # each batch sent from inside a trace, as from a traced request
                    with tracer.span("http", "http", "POST /jobs"):
                        jobs.send_batch(batch)
                else:
                    jobs.send_batch(batch)
            drain()
            store.flush()
        install(None)
        if handled[0] != WARM + count:
            raise RuntimeError(f"{handled[0]} of {WARM + count} messages handled")
        store.close()
        app.close()


def _instructions(case: str, mode: str, count: int) -> int:
    out = subprocess.run(
        [*VALGRIND, sys.executable, "-m", "benchmarks.tracing_instructions", case, mode, str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "STRATO_TRACE": "1", "PYTHONHASHSEED": "0"},  # the same dict layouts each run
    )
    said = "\n".join(line for line in out.stderr.splitlines() if not line.startswith("=="))
    if out.returncode:
        raise RuntimeError(f"{case} {mode} {count} under callgrind exited {out.returncode}: {said[-2000:]}")
    for line in out.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError(f"callgrind reported no count for {case} {mode}: {out.stderr[-500:]}")


def per_item(count: int) -> dict[str, dict[str, float]] | None:
    """{case: {"on": instructions per item, "off": ...}}, or None without valgrind."""
    if not shutil.which("valgrind"):
        return None
    runs = [(case, mode, n) for case in CASES for mode in ("on", "off") for n in (0, count)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        counted = dict(zip(runs, pool.map(lambda run: _instructions(*run), runs), strict=True))
    return {
        case: {mode: (counted[(case, mode, count)] - counted[(case, mode, 0)]) / count for mode in ("on", "off")}
        for case in CASES
    }


if __name__ == "__main__":
    case, mode, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if case == "queue":
        _queue(mode == "on", number)
    else:
        _http(CASES[case], mode == "on", number)
