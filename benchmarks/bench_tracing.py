"""What tracing costs: HTTP and queue throughput with tracing on vs off, measured in one run.

HTTP: two ``strato dev`` servers of the same app, one with ``STRATO_TRACE=0``, wrk runs interleaved
between them (bench_http's method), medians. Queue: one process, the same app's queue consumed by the
local event source mapping (the worker) with a tracer writing to a span store vs none, rounds alternated;
each message is sent inside a trace, so it carries an AWSTraceHeader and its consumer span continues it.
Target (issue 21): tracing on costs at most 5 % of either.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack

from .bench_http import Server, _strato, median, wrk
from .support import Row

TARGET = "≥ 0.95x"


def interleaved(a: Server, b: Server, path: str, rounds: int, seconds: float) -> tuple[list, list]:
    """bench_http's alternation, at 20 connections: on a shared 2-core machine 50 made wrk time out."""
    for server in (a, b):
        subprocess.run(["wrk", "-t1", "-c10", "-d1s", server.url + path], capture_output=True, check=True)
    runs: dict[Server, list] = {a: [], b: []}
    for i in range(rounds):
        for server in (a, b) if i % 2 == 0 else (b, a):
            runs[server].append(wrk(server, path, seconds, connections=20))
    return runs[a], runs[b]


def _http(quick: bool) -> list[Row]:
    if not shutil.which("wrk"):
        print("skipping the HTTP half of the tracing benchmark: install wrk (apt-get install wrk)")
        return []
    rounds, seconds = (3, 2) if quick else (7, 3)
    with ExitStack() as stack:
        on = _strato(stack, "benchmarks/apps/hello_strato.py", {"STRATO_TRACE": "1"})
        off = _strato(stack, "benchmarks/apps/hello_strato.py", {"STRATO_TRACE": "0"})
        rows = []
        for path, label in (("/hello/world", "sync"), ("/async/hello/world", "async")):
            ours, theirs = interleaved(on, off, path, rounds, seconds)
            rows.append(
                Row(
                    "tracing",
                    f"HTTP {label} throughput, on",
                    median(ours, 0),
                    median(theirs, 0),
                    "off",
                    "req/s",
                    TARGET,
                )
            )
            rows.append(
                Row(
                    "tracing",
                    f"HTTP {label} server CPU per request, on",
                    median(ours, 3),
                    median(theirs, 3),
                    "off",
                    "µs",
                    "",
                    higher_is_better=False,
                )
            )
    return rows


def _queue_round(app, jobs, tracer, count: int) -> float:
    """Messages per second: ``count`` sent (inside a trace when tracing), then consumed by a worker."""
    from strato.local.worker import Worker
    from strato.trace import install

    done = threading.Event()
    seen = [0]
    lock = threading.Lock()

    def work(message):
        with lock:
            seen[0] += 1
            if seen[0] == count:
                done.set()

    jobs.consumers.clear()
    jobs.consumer(batch_size=10, max_concurrency=2)(work)
    previous = install(tracer)
    try:
        for start in range(0, count, 10):
            if tracer is not None:
                with tracer.span("http", "http", "POST /jobs"):
                    jobs.send_batch([{"n": i} for i in range(start, start + 10)])
            else:
                jobs.send_batch([{"n": i} for i in range(start, start + 10)])
        worker = Worker(app, poll_wait=0.05).start()
        started = time.perf_counter()
        try:
            if not done.wait(120):
                raise RuntimeError(f"only {seen[0]} of {count} messages consumed")
            elapsed = time.perf_counter() - started
        finally:
            worker.stop(10)
    finally:
        install(previous)
    return count / elapsed


def _queue(quick: bool) -> list[Row]:
    import strato
    from strato.trace import SpanStore, Tracer

    count, rounds = (1000, 3) if quick else (3000, 5)
    on_runs, off_runs = [], []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a checkpoint may land late
        app = strato.App("tracebench", data_dir=tmp)
        jobs = app.queue("jobs")
        store = SpanStore(tmp)
        tracer = Tracer([store.add])
        try:
            _queue_round(app, jobs, None, 200)  # warm up: files, indexes, imports
            for i in range(rounds):
                for traced in (True, False) if i % 2 == 0 else (False, True):
                    rate = _queue_round(app, jobs, tracer if traced else None, count)
                    (on_runs if traced else off_runs).append(rate)
            store.flush()
            spans = store.last_seq()
        finally:
            store.close()
            app.close()
    if spans < count:
        raise RuntimeError(f"tracing recorded {spans} spans for {count * rounds} traced messages")
    on, off = statistics.median(on_runs), statistics.median(off_runs)
    return [Row("tracing", "queue consume throughput, on", on, off, "off", "msg/s", TARGET)]


def run(quick: bool = False) -> list[Row]:
    rows = _queue(quick) + _http(quick)
    for row in rows:
        if row.target:
            print(f"tracing: {row.metric}: {row.strato:,.0f} vs {row.baseline:,.0f} off = {row.ratio:.3f}x")
    return rows
