"""HTTP requests per second and latency at 50 concurrent clients (wrk): `strato dev` vs a bare
Starlette app on the same uvicorn serving the same handler."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile

from .support import ROOT, Row, free_port, process

LUA = str(ROOT / "benchmarks" / "apps" / "p95.lua")


def wrk(url: str, seconds: int, connections: int = 50) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) of a wrk run; fails loudly on errors."""
    subprocess.run(["wrk", "-t1", "-c10", "-d1s", url], capture_output=True, check=True)  # warm up
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", LUA, url], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    rps, p50, p95, bad_status, socket_errors = line.split()[1:]
    if int(bad_status) or int(socket_errors):
        raise RuntimeError(f"wrk saw errors against {url}: {out}")
    return float(rps), float(p50), float(p95)


def run(quick: bool = False) -> list[Row]:
    if not shutil.which("wrk"):
        print("skipping HTTP benchmark: install wrk (apt-get install wrk)")
        return []
    seconds = 4 if quick else 10
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        process(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "dev",
                "benchmarks/apps/hello_strato.py",
                "--port",
                str(port),
                "--data",
                tmp,
                "--log-level",
                "warning",
            ],
            port,
        ),
    ):
        strato_rps, strato_p50, strato_p95 = wrk(f"http://127.0.0.1:{port}/hello/world", seconds)
    port = free_port()
    with process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.apps.hello_starlette:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        port,
    ):
        bare_rps, bare_p50, bare_p95 = wrk(f"http://127.0.0.1:{port}/hello/world", seconds)
    return [
        Row("http", "strato dev throughput", strato_rps, bare_rps, "bare Starlette+uvicorn", "req/s", "≥ 0.6x"),
        Row(
            "http",
            "p50 latency, 50 clients",
            strato_p50,
            bare_p50,
            "bare Starlette+uvicorn",
            "ms",
            higher_is_better=False,
        ),
        Row(
            "http",
            "p95 latency, 50 clients",
            strato_p95,
            bare_p95,
            "bare Starlette+uvicorn",
            "ms",
            higher_is_better=False,
        ),
    ]
