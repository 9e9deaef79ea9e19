"""The jobs reference app end to end: `strato dev --no-worker` + `strato worker`, N jobs submitted by 20
clients over HTTP (examples/jobs/load.py), until every job is completed or failed.

Every 50th job fails on purpose and is retried by the queue until it lands in the DLQ; the visibility
timeout that spaces those retries is ``JOBS_RETRY_SECONDS`` (30 s by default, set to 1 here — with the
default the planted failures alone make a run take about a minute)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

from .support import ROOT, Row, free_port, process

APP = "examples/jobs/app.py"
RETRY_SECONDS = "1"


def run(quick: bool = False) -> list[Row]:
    jobs = 200 if quick else 1000
    port = free_port()
    env = {"JOBS_RETRY_SECONDS": RETRY_SECONDS, "STRATO_PROVIDER": "local"}
    with tempfile.TemporaryDirectory() as data:
        dev = [sys.executable, "-m", "strato.cli", "dev", APP, "--port", str(port), "--data", data]
        worker = [sys.executable, "-m", "strato.cli", "worker", APP, "--data", data, "--poll-wait", "0.2"]
        with process([*dev, "--no-worker", "--log-level", "warning"], port, env):
            consumer = subprocess.Popen(worker, cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.DEVNULL)
            try:
                out = subprocess.run(
                    [sys.executable, "examples/jobs/load.py", "--url", f"http://127.0.0.1:{port}", "--jobs", str(jobs)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            finally:
                consumer.terminate()
                consumer.wait(30)
    if out.returncode:
        raise RuntimeError(f"jobs load failed: {out.stdout}{out.stderr}")
    submit = re.search(r"submit: ([\d,]+) jobs/s; latency p50 ([\d.]+) ms, p95 ([\d.]+) ms", out.stdout)
    finished = re.search(r"all finished after ([\d.]+) s \(([\d,]+) jobs/s", out.stdout)
    if not submit or not finished:
        raise RuntimeError(f"unexpected load output: {out.stdout}")
    label = f"{jobs:,} jobs, {jobs // 50} planted failures, JOBS_RETRY_SECONDS={RETRY_SECONDS}"
    return [
        Row("jobs app", f"submit over HTTP, 20 clients ({label})", float(submit[1].replace(",", "")), 0, "", "jobs/s"),
        Row("jobs app", "submit p95", float(submit[3]), 0, "", "ms", higher_is_better=False),
        Row("jobs app", f"all finished ({label})", float(finished[1]), 0, "", "s", higher_is_better=False),
        Row("jobs app", "end to end", float(finished[2].replace(",", "")), 0, "", "jobs/s"),
    ]
