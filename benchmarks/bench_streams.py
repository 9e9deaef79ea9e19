"""Change-stream lag: from a table write returning to the ``@table.on_change`` handler starting."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from .support import Row, paced_latencies


def stream_lag(data: Path, count: int) -> tuple[float, float]:
    """p50 / p95 milliseconds, the local tailer inside the worker (the same one `strato dev` runs)."""
    import strato

    app = strato.App("bench-streams", data_dir=data)
    docs = app.table("docs", key="id")
    lags: list[float] = []
    done = threading.Event()

    @docs.on_change()
    def changed(record):
        lags.append((time.perf_counter() - float(record.new["sent"])) * 1000)
        if len(lags) >= count:
            done.set()

    docs.ensure()
    return paced_latencies(
        app, lambda n: docs.put({"id": f"d{n % 50}", "sent": repr(time.perf_counter())}), count, done, lags, warmup=0.2
    )


def run(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        p50, p95 = stream_lag(Path(tmp), 200 if quick else 1000)
    return [
        Row("streams", "write → on_change handler p50", p50, 0, "", "ms", "", higher_is_better=False),
        Row("streams", "write → on_change handler p95", p95, 0, "", "ms", "< 50 ms", higher_is_better=False),
    ]
