"""Metric ingest (local SQLite store vs CloudWatch on moto_server) and a day's query over 1 M points
(rollups vs a plain SQLite GROUP BY over the raw points, measured in the same run)."""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from .support import Row, moto_server

DAY = 86_400


def _metrics(provider: str, data: Path):
    import strato

    app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
    app.config.auto_create = provider == "aws"
    return app.metrics("Bench/Ingest")


def ingest_rate(metrics, n: int, batch: int) -> float:
    """Points per second through put_many in batches, 10 series over the last hour."""
    now = time.time()
    points = [
        {
            "name": "Latency",
            "value": random.random() * 100,
            "unit": "Milliseconds",
            "dimensions": {"route": f"/r{i % 10}"},
            "timestamp": now - (i % 3600),
        }
        for i in range(n)
    ]
    started = time.perf_counter()
    for i in range(0, n, batch):
        metrics.put_many(points[i : i + batch])
    return n / (time.perf_counter() - started)


def day_query(data: Path, n: int) -> tuple[float, float, float]:
    """Milliseconds to answer a day at 1-minute granularity (5 statistics + p99) over ``n`` points, the
    same answer from a raw-points table with GROUP BY, and the ingest rate of those points."""
    metrics = _metrics("local", data)
    now = time.time() // 60 * 60
    rng = random.Random(7)
    raw = sqlite3.connect(data / "baseline.db")
    raw.execute("CREATE TABLE raw (ts REAL, value REAL)")
    raw.execute("CREATE INDEX raw_ts ON raw (ts)")
    started = time.perf_counter()
    for _chunk in range(0, n, 50_000):
        points = [(now - DAY + rng.random() * (DAY - 1), rng.expovariate(1 / 40)) for _ in range(50_000)]
        metrics.put_many(
            [
                {"name": "Latency", "value": v, "unit": "Milliseconds", "dimensions": {"app": "a"}, "timestamp": t}
                for t, v in points
            ]
        )
        raw.executemany("INSERT INTO raw VALUES (?, ?)", points)
    ingest = n / (time.perf_counter() - started)
    raw.commit()

    def ours() -> None:
        got = metrics.query(
            "Latency",
            statistics=["Average", "Sum", "Minimum", "Maximum", "SampleCount", "p99"],
            period=60,
            start=now - DAY,
            end=now,
            dimensions={"app": "a"},
        )
        assert len(got) == 1440

    def baseline() -> None:
        got = raw.execute(
            "SELECT CAST(ts / 60 AS INTEGER), avg(value), sum(value), min(value), max(value), "
            "count(*) FROM raw WHERE ts >= ? AND ts < ? GROUP BY 1",
            (now - DAY, now),
        ).fetchall()
        assert len(got) == 1440

    return _median_ms(ours), _median_ms(baseline), ingest


def _median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(quick: bool = False) -> list[Row]:
    n_local, n_aws = (20_000, 2_000) if quick else (100_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        local = ingest_rate(_metrics("local", Path(tmp)), n_local, 1000)
        local_single = ingest_rate(_metrics("local", Path(tmp) / "single"), n_local // 20, 1)
    with tempfile.TemporaryDirectory() as tmp:
        ours, baseline, bulk = day_query(Path(tmp), 200_000 if quick else 1_000_000)
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        aws = ingest_rate(_metrics("aws", Path(tmp)), n_aws, 1000)
        aws_single = ingest_rate(_metrics("aws", Path(tmp)), n_aws // 20, 1)
    points = "200 k" if quick else "1 M"
    return [
        Row("metrics", "put_many ingest, batches of 1000", local, aws, "CloudWatch on moto", "points/s"),
        Row("metrics", "put ingest, one point a call", local_single, aws_single, "CloudWatch on moto", "points/s"),
        Row("metrics", f"ingest of the {points}-point day", bulk, 0, "", "points/s"),
        Row(
            "metrics",
            f"day at 1 min over {points} points, 5 stats + p99",
            ours,
            baseline,
            "SQLite GROUP BY on raw points",
            "ms",
            "< 200 ms",
            higher_is_better=False,
        ),
    ]
