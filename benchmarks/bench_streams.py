"""Change-stream lag: from a table write returning to each ``@table.on_change`` handler starting, with
one handler and with several on the same table (one reader per table delivers to all of them)."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from .support import Row, ScalePoint, paced_latencies


def stream_lag(data: Path, count: int, handlers: int = 1) -> tuple[float, float]:
    """p50 / p95 milliseconds over every (record, handler) delivery, the local reader inside the worker
    (the same one `strato dev` runs), writes paced every 5 ms."""
    import strato

    app = strato.App("bench-streams", data_dir=data)
    docs = app.table("docs", key="id")
    lags: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    expected = count * handlers

    def make(n: int):
        def changed(record):
            lag = (time.perf_counter() - float(record.new["sent"])) * 1000
            with lock:
                lags.append(lag)
                if len(lags) >= expected:
                    done.set()

        changed.__name__ = f"changed{n}"  # each handler is its own consumer, with its own checkpoint
        return changed

    for n in range(handlers):
        docs.on_change()(make(n))
    docs.ensure()
    return paced_latencies(
        app, lambda n: docs.put({"id": f"d{n % 50}", "sent": repr(time.perf_counter())}), count, done, lags, warmup=0.2
    )


def run(quick: bool = False) -> list[Row]:
    count = 200 if quick else 1000
    rows = []
    for handlers in (1, 5):
        with tempfile.TemporaryDirectory() as tmp:
            p50, p95 = stream_lag(Path(tmp), count, handlers)
        label = "1 handler" if handlers == 1 else f"{handlers} handlers"
        rows += [
            Row("streams", f"write → on_change p50, {label}", p50, 0, "", "ms", "", higher_is_better=False),
            Row(
                "streams",
                f"write → on_change p95, {label}",
                p95,
                0,
                "",
                "ms",
                "< 50 ms" if handlers == 1 else "< 2 ms",
                higher_is_better=False,
            ),
        ]
    return rows


def scale(quick: bool = False) -> list[ScalePoint]:
    """p95 lag as handlers on one table grow: one reader serves them all, so it should stay flat."""
    count = 200 if quick else 500
    points = []
    for handlers in (1, 2, 5, 10):
        with tempfile.TemporaryDirectory() as tmp:
            _, p95 = stream_lag(Path(tmp), count, handlers)
        points.append(ScalePoint("stream handlers on one table", handlers, p95, "ms p95"))
    return points
