"""Static files: `strato dev` serving an app.site vs the same files served by Starlette's StaticFiles on
uvicorn (wrk, both servers up at once, runs interleaved as in bench_http), and the latency of a 304
revalidation (If-None-Match with the file's ETag) from a single client, where queueing adds nothing.

wrk sends no Accept-Encoding, so both serve the identity bytes: the comparison is of the serving path,
not of compression (strato compresses once per file and keeps the result)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .bench_http import LUA, Server, interleaved, median
from .support import Row, free_port, process

BASELINE = "Starlette StaticFiles+uvicorn"
ASSET = "/assets/index-BxYz12_a.js"


def build(root: Path) -> Path:
    """A small front end's build: a page, a 30 KB hashed bundle, a 20 KB image."""
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>bench</title>" + "<p>row</p>" * 200)
    (dist / "assets" / "index-BxYz12_a.js").write_text("export const row = (n) => n * 2;\n" * 900)
    (dist / "logo.png").write_bytes(os.urandom(20_000))
    return dist


def _server(stack: ExitStack, args: list[str], dist: Path) -> Server:
    port = free_port()
    env = {"STRATO_BENCH_SITE_DIR": str(dist)}
    proc = stack.enter_context(process([sys.executable, "-m", *args, "--port", str(port)], port, env))
    return Server(f"http://127.0.0.1:{port}", proc.pid)


def revalidation(server: Server, path: str, seconds: float) -> tuple[float, float]:
    """(p50 ms, p95 ms) of conditional GETs answered 304, one connection."""
    etag = subprocess.run(["curl", "-sI", server.url + path], capture_output=True, text=True, check=True).stdout
    tag = next(line.split(":", 1)[1].strip() for line in etag.splitlines() if line.lower().startswith("etag:"))
    out = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{seconds}s", "-s", LUA, "-H", f"If-None-Match: {tag}", server.url + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    _, p50, p95, bad, errors = next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
    if int(bad) or int(errors):
        raise RuntimeError(f"wrk saw errors against {server.url}{path}: {out}")
    return float(p50), float(p95)


def run(quick: bool = False) -> list[Row]:
    if not (shutil.which("wrk") and shutil.which("curl")):
        print("skipping site benchmark: install wrk and curl (apt-get install wrk curl)")
        return []
    rounds, seconds = (3, 2) if quick else (7, 3)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        dist = build(Path(tmp))
        data = stack.enter_context(tempfile.TemporaryDirectory())
        strato = _server(
            stack,
            ["strato.cli", "dev", "benchmarks/apps/site_strato.py", "--data", data, "--log-level", "warning"],
            dist,
        )
        bare = _server(stack, ["uvicorn", "benchmarks.apps.site_starlette:app", "--log-level", "warning"], dist)
        for path, label in ((ASSET, "30 KB bundle"), ("/", "index.html")):
            ours, theirs = interleaved(strato, bare, path, rounds, seconds)
            rows.append(
                Row("site", f"{label} throughput", median(ours, 0), median(theirs, 0), BASELINE, "req/s", "≥ 0.8x")
            )
            rows.append(
                Row(
                    "site",
                    f"{label} p95, 50 clients",
                    median(ours, 2),
                    median(theirs, 2),
                    BASELINE,
                    "ms",
                    "",
                    higher_is_better=False,
                )
            )
        ours_304 = [revalidation(strato, ASSET, seconds) for _ in range(rounds)]
        theirs_304 = [revalidation(bare, ASSET, seconds) for _ in range(rounds)]
        rows.append(
            Row(
                "site",
                "304 revalidation p95, 1 client",
                median(ours_304, 1),
                median(theirs_304, 1),
                BASELINE,
                "ms",
                "< 2 ms",
                higher_is_better=False,
            )
        )
    return rows
