"""What tracing costs in CPU instructions (valgrind's callgrind): the figure that does not move with the
machine's load.

wrk's throughput on a shared 2-core VM swings by more than the 5 % being measured, and even CPU time per
request moves with caches and the other core. Callgrind counts instructions, the same for the same code
and inputs. Each case runs with no thread or timer deciding how much work is done: HTTP requests go
through ``strato dev``'s ASGI app in one process (no sockets: uvicorn's share of a request is left out,
so the ratio is stricter than wrk's), queue messages are sent and drained by hand (``strato.testing``'s
drain), and the span writer's interval is an hour, its work done by one ``flush`` inside the measured
part. A case runs twice, with ``WARM`` and ``WARM + COUNT`` items, and the difference over ``COUNT`` is
the cost of one item: imports, start-up and warm-up cancel out. ``http-uvicorn`` is the whole server
(uvicorn's parsing and writing included), the ratio wrk would see on an idle machine. Usage counts are
stored when a round ends, not by their 2 s timer, whose work grows with the run's wall time (which under
callgrind grows with the machine's load). Left: strato's write group commit batches by timing, so
counts move by about 0.3 % between runs.

``python -m benchmarks.tracing_instructions CASE MODE COUNT`` is one run (what callgrind runs).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .support import ROOT

WARM = 1000
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
CASES = {
    "http-async": "/async/hello/world",
    "http-sync": "/hello/world",
    "queue": "",
    "http-uvicorn": "/async/hello/world",
}


def _no_timers() -> None:
    """Counts land in usage.db and messaging.db's WAL is checkpointed when ``_flushed`` says, not every 2 s
    and 0.2 s: a timer's work grows with the run's wall time, which under callgrind grows with the
    machine's load and with the instructions counted (a slower mode got more checkpoints, each copying
    pages a real-time interval would have copied once), not with the requests."""
    from strato.core import usage
    from strato.runtime import checkpointer

    usage.FLUSH_EVERY_S = 3600.0
    checkpointer.INTERVAL_S = 3600.0


def _flushed(app: Any, store: Any) -> None:
    """The work left for background threads, done here: spans written, usage counts stored, messaging.db
    checkpointed (what its checkpointer thread runs, as one round of it)."""
    import sqlite3

    store.flush()
    app.usage.flush()
    messaging = Path(app.config.data_dir) / "messaging.db"
    if messaging.exists():
        conn = sqlite3.connect(messaging, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


def _http(path: str, traced: bool, count: int) -> None:
    from strato.local.server import build_asgi
    from strato.trace import setup

    from .tracing_inprocess import _load_app, _requests, serving

    async def main(app: Any) -> None:
        asgi = build_asgi(app)
        async with serving(asgi) as tracer:
            store = asgi.spans
            store.flush_every = 3600.0
            await asyncio.sleep(0.3)  # the writer's current wait ends; its next one outlasts the run
            setup.install(tracer if traced else None)
            for n in (WARM, count):
                if n:
                    await _requests(asgi, path, n)
                    _flushed(app, store)

    _no_timers()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a late SQLite file may land
        asyncio.run(main(_load_app(tmp)))


def _http_uvicorn(path: str, traced: bool, count: int) -> None:
    """The whole server's share of a request: ``strato dev``'s uvicorn set-up on a loopback socket, one
    keep-alive client in a child process (not counted: callgrind does not follow it) sending one request
    at a time, so each request is one read, one dispatch and one write whatever the timing."""
    import socket

    import uvicorn

    from strato.local.http_protocol import bounded
    from strato.local.server import build_asgi
    from strato.trace import setup

    from .tracing_inprocess import _load_app

    async def main(app: Any, listener: socket.socket) -> None:
        asgi = build_asgi(app)
        config = uvicorn.Config(
            asgi, log_level="warning", access_log=False, lifespan="on", http=bounded(60.0, 60.0), proxy_headers=False
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            await asyncio.sleep(0.01)
        store = asgi.spans
        store.flush_every = 3600.0
        await asyncio.sleep(0.3)  # the writer's current wait ends; its next one outlasts the run
        tracer = setup.installed()
        setup.install(tracer if traced else None)
        port = listener.getsockname()[1]
        client = await asyncio.create_subprocess_exec(sys.executable, "-c", _CLIENT, str(port), path, str(WARM + count))
        if await client.wait():
            raise RuntimeError("the benchmark's HTTP client failed")
        _flushed(app, store)
        setup.install(tracer)
        server.should_exit = True
        await serving

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    _no_timers()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a late SQLite file may land
        asyncio.run(main(_load_app(tmp), listener))


#: one keep-alive connection, one request at a time, every answer checked
_CLIENT = """
import http.client, sys
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(count):
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{path} answered {response.status}")
"""


def _queue(traced: bool, count: int) -> None:
    import strato
    from strato.testing.drain import Drain
    from strato.trace import SpanStore, Tracer, install

    _no_timers()
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
            _flushed(app, store)
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
    runs = [
        (case, mode, n, i)
        for case in CASES
        for mode in ("on", "off")
        for n in (0, count)
        for i in range(_REPEATS[case])
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        counts = pool.map(lambda run: _instructions(*run[:3]), runs)
        counted: dict[tuple[str, str, int], list[int]] = {}
        for run, instructions in zip(runs, counts, strict=True):
            counted.setdefault(run[:3], []).append(instructions)
    middle = {run: statistics.median(values) for run, values in counted.items()}
    return {
        case: {mode: (middle[(case, mode, count)] - middle[(case, mode, 0)]) / count for mode in ("on", "off")}
        for case in CASES
    }


#: runs a count is the median of: the queue's SQLite WAL checkpoints differ by up to ~1.5M instructions
#: from one run to the next (what readers held at each checkpoint), and the whole server's counts by up to
#: ~4M (uvicorn's 0.1 s ticks and timers follow the wall clock, which callgrind stretches unevenly)
_REPEATS = {"http-async": 1, "http-sync": 1, "queue": 3, "http-uvicorn": 3}


if __name__ == "__main__":
    case, mode, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if case == "queue":
        _queue(mode == "on", number)
    elif case == "http-uvicorn":
        _http_uvicorn(CASES[case], mode == "on", number)
    else:
        _http(CASES[case], mode == "on", number)
