"""Helpers shared by the benchmarks: free ports, server processes, timing, the results table."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Row:
    section: str
    metric: str
    strato: float
    baseline: float
    baseline_name: str
    unit: str
    target: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        if not self.baseline:
            return float("nan")
        if self.higher_is_better:
            return self.strato / self.baseline if self.baseline else float("inf")
        return self.baseline / self.strato if self.strato else float("inf")


@dataclass
class ScalePoint:
    """One size of a growth sweep: what one operation cost at that size (``--scale``)."""

    sweep: str
    size: int
    us_per_op: float
    unit: str = "µs/op"


def growth_exponent(points: list[ScalePoint]) -> float:
    """k in cost ∝ size^k between the smallest and the largest size: 0 is flat, 1 is linear per operation."""
    import math

    first, last = min(points, key=lambda p: p.size), max(points, key=lambda p: p.size)
    if last.size == first.size or first.us_per_op <= 0 or last.us_per_op <= 0:
        return 0.0
    return math.log(last.us_per_op / first.us_per_op) / math.log(last.size / first.size)


def verdict(exponent: float) -> str:
    """Flat under 0.05 (noise), logarithmic-looking under 0.15, anything steeper is flagged."""
    if exponent < 0.05:
        return "flat"
    if exponent < 0.15:
        return "≈ log"
    return f"GROWS (size^{exponent:.2f})"


def print_scale(points: list[ScalePoint]) -> None:
    """One line per sweep: cost per operation at each size, the growth exponent and a verdict."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="strato growth sweeps (cost per operation at each size, same run)")
    for col in ("sweep", "cost at each size", "largest / smallest", "verdict"):
        table.add_column(col)
    sweeps: dict[str, list[ScalePoint]] = {}
    for point in points:
        sweeps.setdefault(point.sweep, []).append(point)
    for name, sweep in sweeps.items():
        sweep.sort(key=lambda p: p.size)
        sizes = "  ".join(f"{p.size:,}: {p.us_per_op:,.1f}" for p in sweep)
        ratio = sweep[-1].us_per_op / sweep[0].us_per_op if sweep[0].us_per_op else float("nan")
        table.add_row(f"{name} ({sweep[0].unit})", sizes, f"{ratio:.2f}x", verdict(growth_exponent(sweep)))
    Console(width=max(200, shutil.get_terminal_size().columns)).print(table)  # rows stay whole in a log file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


@contextmanager
def process(
    args: list[str],
    port: int,
    env: dict | None = None,
    cwd: Path = ROOT,
    timeout: float = 30,
    new_session: bool = False,
):
    """A server process until the block ends, once its port accepts; killed if it ignores SIGTERM."""
    proc = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        start_new_session=new_session,
    )
    try:
        wait_port(port, timeout)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def fake_aws(**extra: str):
    """Fake credentials and a region in os.environ (plus ``extra``) while open; restored after."""
    values = {**FAKE_AWS, **extra}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def moto_server():
    """A moto_server on a free port with fake credentials; sets AWS_ENDPOINT_URL while open."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with fake_aws(AWS_ENDPOINT_URL=endpoint), process(moto, port):
        yield endpoint


def paced_latencies(app, emit, count: int, done, latencies: list[float], warmup: float = 0.3) -> tuple[float, float]:
    """Start a worker, call ``emit(i)`` every 5 ms, wait for ``done``; p50 / p95 of ``latencies`` in ms."""
    import statistics

    from strato.local.worker import Worker

    worker = Worker(app, poll_wait=0.2).start()
    time.sleep(warmup)
    for i in range(count):
        emit(i)
        time.sleep(0.005)
    done.wait(30)
    worker.stop(5)
    app.close()
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def rate(fn, n: int) -> float:
    """Operations per second of fn(i) over n calls."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def print_rows(rows: list[Row]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        for r in rows:
            print(r)
        return
    table = Table(title="strato benchmarks (same machine, same run)")
    for col in ("section", "metric", "strato", "baseline", "ratio", "target"):
        table.add_column(col, justify="right" if col in ("strato", "baseline", "ratio") else "left")
    for r in rows:
        baseline = f"{r.baseline:,.1f} [{r.baseline_name}]" if r.baseline else "—"
        ratio = f"{r.ratio:.2f}x" if r.baseline else "—"
        table.add_row(r.section, f"{r.metric} ({r.unit})", f"{r.strato:,.1f}", baseline, ratio, r.target)
    Console(width=max(200, shutil.get_terminal_size().columns)).print(table)  # rows stay whole in a log file
