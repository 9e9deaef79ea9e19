"""Workflows on the local executor, each against a baseline measured in the same run:

- transitions/s through a chain of Pass states (goal >= 5,000/s), against bare SQLite recording the same
  thing (one event row + one position update per transition, one commit each: the floor of a durable
  recorder);
- a 10,000-item Map with MaxConcurrency 40 over a no-op task, run by the worker's threads, against a
  40-thread pool calling the same no-op and committing one SQLite row per item;
- start -> first task latency p95 (goal < 10 ms) with a worker running, against a bare durable hand-off
  (insert a row, wake a polling thread, it reads the row).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .support import Row


def _app(data: str):
    import strato

    return strato.App("bench", provider="local", data_dir=data)


def _chain(length: int) -> dict:
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(length - 1)}
    states[f"P{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "P0", "States": states}


def pass_chain(executions: int, length: int) -> float:
    from strato.testing.drain import Drain

    with tempfile.TemporaryDirectory() as data:
        app = _app(data)
        wf = app.workflow("chain", definition=_chain(length))
        drain = Drain(app)
        arns = [wf.start({"n": n}) for n in range(executions)]
        started = time.perf_counter()
        drain(timeout=600)
        elapsed = time.perf_counter() - started
        assert all(wf.describe(a).status == "SUCCEEDED" for a in arns)
        app.close()
    return executions * length / elapsed


def bare_recorder(transitions: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        conn = sqlite3.connect(Path(data) / "bare.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE events (arn TEXT, id INTEGER, type TEXT, details TEXT, PRIMARY KEY (arn, id))")
        conn.execute("CREATE TABLE frames (id INTEGER PRIMARY KEY, state TEXT, input TEXT)")
        conn.execute("INSERT INTO frames VALUES (1, 'P0', '{}')")
        started = time.perf_counter()
        for i in range(transitions):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO events VALUES ('a', ?, 'PassStateExited', '{\"name\":\"P\"}')", (i,))
            conn.execute("UPDATE frames SET state = ?, input = '{}' WHERE id = 1", (f"P{i}",))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return transitions / elapsed


def big_map(items: int) -> float:
    from strato.local.worker import Worker

    with tempfile.TemporaryDirectory() as data:
        app = _app(data)
        wf = app.workflow(
            "map",
            definition={
                "StartAt": "M",
                "States": {
                    "M": {
                        "Type": "Map",
                        "MaxConcurrency": 40,
                        "End": True,
                        "ResultPath": None,
                        "ItemProcessor": {
                            "StartAt": "T",
                            "States": {"T": {"Type": "Task", "Resource": "Noop", "End": True}},
                        },
                    }
                },
            },
        )
        wf.task("Noop")(lambda item: None)
        worker = Worker(app, poll_wait=0.05).start()
        try:
            started = time.perf_counter()
            arn = wf.start(list(range(items)))
            while wf.describe(arn).status == "RUNNING":
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            assert wf.describe(arn).status == "SUCCEEDED"
        finally:
            worker.stop(30)
            app.close()
    return items / elapsed


def bare_pool(items: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        path = Path(data) / "pool.sqlite"
        setup = sqlite3.connect(path, isolation_level=None)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE done (item INTEGER PRIMARY KEY)")
        local = threading.local()

        def one(item: int) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO done VALUES (?)", (item,))
            conn.execute("COMMIT")

        started = time.perf_counter()
        with ThreadPoolExecutor(40) as pool:
            list(pool.map(one, range(items)))
        elapsed = time.perf_counter() - started
        setup.close()
    return items / elapsed


def first_task_latency(samples: int) -> float:
    from strato.local.worker import Worker

    with tempfile.TemporaryDirectory() as data:
        app = _app(data)
        wf = app.workflow(
            "first", definition={"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "Mark", "End": True}}}
        )
        reached: dict[int, float] = {}
        wf.task("Mark")(lambda event: reached.setdefault(event["n"], time.perf_counter()))
        worker = Worker(app, poll_wait=0.05).start()
        latencies = []
        try:
            for n in range(samples):
                started = time.perf_counter()
                wf.start({"n": n})
                while n not in reached:
                    time.sleep(0.0002)
                latencies.append((reached[n] - started) * 1000)
        finally:
            worker.stop(30)
            app.close()
    return statistics.quantiles(latencies, n=20)[18]


def bare_handoff(samples: int) -> float:
    from strato.runtime.wakeup import Wakeup

    with tempfile.TemporaryDirectory() as data:
        path = Path(data) / "handoff.sqlite"
        writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE work (n INTEGER PRIMARY KEY, taken INTEGER DEFAULT 0)")
        wakeup, stop = Wakeup(), threading.Event()
        reached: dict[int, float] = {}

        def poller() -> None:
            reader = sqlite3.connect(path, isolation_level=None)
            while not stop.is_set():
                seen = wakeup.generation
                rows = reader.execute("SELECT n FROM work WHERE taken = 0").fetchall()
                for (n,) in rows:
                    reader.execute("UPDATE work SET taken = 1 WHERE n = ?", (n,))
                    reached[n] = time.perf_counter()
                if not rows:
                    wakeup.wait(seen, 0.25)

        thread = threading.Thread(target=poller, daemon=True)
        thread.start()
        latencies = []
        for n in range(samples):
            started = time.perf_counter()
            writer.execute("INSERT INTO work (n) VALUES (?)", (n,))
            wakeup.notify()
            while n not in reached:
                time.sleep(0.0002)
            latencies.append((reached[n] - started) * 1000)
        stop.set()
        wakeup.notify()
        thread.join(5)
        writer.close()
    return statistics.quantiles(latencies, n=20)[18]


def run(quick: bool = False) -> list[Row]:
    executions, length = (20, 50) if quick else (50, 100)
    items = 2_000 if quick else 10_000
    samples = 100 if quick else 300
    return [
        Row(
            "workflow",
            f"Pass chain ({executions} x {length} states)",
            pass_chain(executions, length),
            bare_recorder(executions * length),
            "bare SQLite event+position commit",
            "transitions/s",
            "≥ 5,000/s",
        ),
        Row(
            "workflow",
            f"Map of {items:,} no-op tasks, MaxConcurrency 40",
            big_map(items),
            bare_pool(items),
            "40-thread pool, 1 SQLite commit per item",
            "items/s",
        ),
        Row(
            "workflow",
            "start -> first task p95",
            first_task_latency(samples),
            bare_handoff(samples),
            "SQLite insert + woken poller",
            "ms",
            "< 10 ms",
            higher_is_better=False,
        ),
    ]


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run())
