"""What tracing costs: HTTP (sync and async handlers) and queue throughput with tracing on vs off, and
the CPU per request / message on and off, measured in one run.

Every figure is paired: rounds alternate on and off (on off, off on, ...), each round's on is divided
by the off measured next to it, and the row's ratio is the median of those per-round ratios (1.0: free;
0.95: tracing costs 5 %). HTTP over sockets: two ``strato dev`` servers of the same app, one with
``STRATO_TRACE=0``, wrk runs interleaved (bench_http's method), requests per second and the server
process's CPU per request (/proc). HTTP in-process: ``strato dev``'s ASGI app driven without sockets,
tracing installed and uninstalled between rounds in one process, CPU (all threads, the span writer's
included) per request: the steadiest figure on a shared machine. Queue: one process, the same app's
queue consumed by the worker with a tracer writing to a span store vs none; each message is sent inside
a trace, so it carries an AWSTraceHeader and its consumer span continues it.
Instructions: callgrind's counts per request and per message, on and off: the whole ``strato dev``
server (uvicorn, a loopback socket, one keep-alive client), then strato's own path (no sockets): the
figures a loaded machine does not move (tracing_instructions).
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

from .bench_http import Server, _strato, wrk
from .support import Row
from .tracing_inprocess import cpu_per_request, paired_ratio

TARGET = "≥ 0.95x"
PATHS = (("/hello/world", "sync"), ("/async/hello/world", "async"))


def paired_rows(label: str, on: list[float], off: list[float], unit: str, cpu_on: list[float], cpu_off: list[float]):
    """Two rows: the median per-round on/off ratio of ``on`` / ``off`` (throughputs in ``unit``, higher
    is better), and the median CPU µs per item on and off (printed too: the median per-round off/on)."""
    ratio = paired_ratio(on, off, True)
    cpu_ratio = paired_ratio(cpu_on, cpu_off, False)
    print(
        f"tracing: {label}: {unit} on/off {ratio:.3f}x (median of {len(on)} rounds: "
        f"{', '.join(f'{a / b:.3f}' for a, b in zip(on, off, strict=True))}); CPU µs on "
        f"{statistics.median(cpu_on):.1f} vs off {statistics.median(cpu_off):.1f} = {cpu_ratio:.3f}x"
    )
    return [
        Row("tracing", f"{label} throughput, on/off (median per round)", ratio, 1.0, "off", "x", TARGET),
        Row(
            "tracing",
            f"{label} CPU per item, on vs off (medians)",
            statistics.median(cpu_on),
            statistics.median(cpu_off),
            "off",
            "µs",
            "",
            higher_is_better=False,
        ),
    ]


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
        print("skipping the HTTP-over-sockets half of the tracing benchmark: install wrk (apt-get install wrk)")
        return []
    rounds, seconds = (3, 2) if quick else (7, 3)
    rows = []
    with ExitStack() as stack:
        on = _strato(stack, "benchmarks/apps/hello_strato.py", {"STRATO_TRACE": "1"})
        off = _strato(stack, "benchmarks/apps/hello_strato.py", {"STRATO_TRACE": "0"})
        for path, label in PATHS:
            ours, theirs = interleaved(on, off, path, rounds, seconds)
            rows += paired_rows(
                f"HTTP {label} (wrk)",
                [r[0] for r in ours],
                [r[0] for r in theirs],
                "req/s",
                [r[3] for r in ours],
                [r[3] for r in theirs],
            )
    return rows


def _in_process(quick: bool) -> list[Row]:
    count, rounds = (3000, 4) if quick else (10000, 8)
    measured = cpu_per_request([path for path, _ in PATHS], count, rounds)
    rows = []
    for path, label in PATHS:
        on, off = measured[path]["on"], measured[path]["off"]
        rate_on, rate_off = [1e6 / x for x in on], [1e6 / x for x in off]  # requests per CPU-second
        rows += paired_rows(f"HTTP {label} (in-process ASGI)", rate_on, rate_off, "req/CPU-s", on, off)
    return rows


def _queue_round(app, jobs, tracer, count: int) -> tuple[float, float]:
    """(messages per second, CPU µs per message of this process): ``count`` sent (inside a trace when
    tracing), then consumed by a worker."""
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
    cpu = time.process_time()
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
        cpu = time.process_time() - cpu
    finally:
        install(previous)
    return count / elapsed, cpu / count * 1e6


def _queue(quick: bool) -> list[Row]:
    import strato
    from strato.trace import SpanStore, Tracer

    count, rounds = (1000, 3) if quick else (3000, 5)
    on_runs: list[tuple[float, float]] = []
    off_runs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a checkpoint may land late
        app = strato.App("tracebench", data_dir=tmp)
        jobs = app.queue("jobs")
        store = SpanStore(tmp)
        tracer = Tracer()
        store.attach(tracer)  # as strato worker's tracer (trace.setup.LocalTracing)
        try:
            _queue_round(app, jobs, None, 200)  # warm up: files, indexes, imports
            for i in range(rounds):
                for traced in (True, False) if i % 2 == 0 else (False, True):
                    measured = _queue_round(app, jobs, tracer if traced else None, count)
                    (on_runs if traced else off_runs).append(measured)
            store.flush()
            spans = store.last_seq()
        finally:
            store.close()
            app.close()
    if spans < count:
        raise RuntimeError(f"tracing recorded {spans} spans for {count * rounds} traced messages")
    return paired_rows(
        "queue send + consume",
        [r[0] for r in on_runs],
        [r[0] for r in off_runs],
        "msg/s",
        [r[1] for r in on_runs],
        [r[1] for r in off_runs],
    )


def _instructions(quick: bool) -> list[Row]:
    """Instructions per request / message, on and off (callgrind: the same for the same code, whatever
    the machine's load): the whole server through uvicorn and a socket, then strato's own path only (no
    sockets, no uvicorn: the stricter ratio); see tracing_instructions."""
    from .tracing_instructions import per_item

    measured = per_item(500 if quick else 2000)
    if measured is None:
        print("skipping the instruction counts of the tracing benchmark: install valgrind")
        return []
    rows = []
    cases = (
        ("http-uvicorn", "HTTP async through uvicorn (whole server)"),
        ("http-async", "HTTP async"),
        ("http-sync", "HTTP sync"),
        ("queue", "queue send + consume"),
    )
    for case, label in cases:
        on, off = measured[case]["on"], measured[case]["off"]
        print(f"tracing: {label}: instructions per item on {on:,.0f} vs off {off:,.0f} = {off / on:.3f}x")
        rows.append(
            Row(
                "tracing",
                f"{label} instructions per item (callgrind), on vs off",
                on,
                off,
                "off",
                "instr",
                TARGET,
                False,
            )
        )
    return rows


def run(quick: bool = False) -> list[Row]:
    return _instructions(quick) + _in_process(quick) + _queue(quick) + _http(quick)
