"""Queue send + receive + delete throughput (single and batches of 10): strato's SQLite provider vs
SQS on moto_server; the same at depth 200,000 vs depth 100 (cost per message must stay flat); and
publish-to-handler latency of a local topic subscription."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path

from .support import Row, ScalePoint, moto_server, paced_latencies


def _app(provider: str, data: Path):
    import strato

    app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
    app.config.auto_create = provider == "aws"
    return app


def round_trips(queue, n: int, batch: int) -> float:
    """Messages per second through send + receive + delete, `batch` at a time."""
    body = {"job": "x" * 100}
    started = time.perf_counter()
    done = 0
    while done < n:
        if batch == 1:
            queue.send(body)
        else:
            queue.send_batch([body] * batch)
        got = []
        while len(got) < batch:
            got += queue.receive(batch)
        if batch == 1:
            queue.delete(got[0])
        else:
            queue.delete_batch(got)
        done += batch
    return done / (time.perf_counter() - started)


def at_depth(data: Path, depth: int, n: int) -> float:
    """Single send + receive + delete per second with ``depth`` messages already waiting in the queue."""
    app = _app("local", data)
    queue = app.queue("deep")
    for start in range(0, depth, 10):
        queue.send_batch([{"job": i} for i in range(start, start + 10)])
    rate = round_trips(queue, n, 1)
    app.close()
    return rate


def publish_latency(data: Path, count: int) -> tuple[float, float]:
    """p50 / p95 milliseconds from publish() returning to the subscribed handler starting."""

    app = _app("local", data)
    topic = app.topic("events")
    latencies: list[float] = []
    done = threading.Event()

    @topic.subscribe()
    def handler(note):
        latencies.append((time.perf_counter() - float(note.body)) * 1000)
        if len(latencies) >= count:
            done.set()

    return paced_latencies(app, lambda _: topic.publish(repr(time.perf_counter())), count, done, latencies)


def run(quick: bool = False) -> list[Row]:
    n_local, n_aws = (1000, 60) if quick else (4000, 150)
    with tempfile.TemporaryDirectory() as tmp:
        app = _app("local", Path(tmp))
        local_single = round_trips(app.queue("single"), n_local, 1)
        local_batch = round_trips(app.queue("batched"), n_local * 5, 10)
        app.close()
        p50, p95 = publish_latency(Path(tmp) / "latency", 100 if quick else 300)
        deep = 20_000 if quick else 200_000  # the cost per message must not grow with the queue's depth
        shallow_rate = at_depth(Path(tmp) / "shallow", 100, n_local // 2)
        deep_rate = at_depth(Path(tmp) / "deep", deep, n_local // 2)
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        app = _app("aws", Path(tmp))
        aws_single = round_trips(app.queue("single"), n_aws, 1)
        aws_batch = round_trips(app.queue("batched"), n_aws * 5, 10)
    return [
        Row("queue", "send+receive+delete, single", local_single, aws_single, "SQS on moto", "msgs/s", "≥ 50x"),
        Row("queue", "send+receive+delete, batches of 10", local_batch, aws_batch, "SQS on moto", "msgs/s", "≥ 50x"),
        Row(
            "queue",
            f"single round trip at depth {deep:,} vs 100",
            deep_rate,
            shallow_rate,
            "depth 100",
            "msgs/s",
            "≥ 0.8x",
        ),
        Row("topic", "publish → handler p50", p50, 0, "", "ms", "", higher_is_better=False),
        Row("topic", "publish → handler p95", p95, 0, "", "ms", "", higher_is_better=False),
    ]


def scale(quick: bool = False) -> list[ScalePoint]:
    """Queue depth sweep: µs per single send + receive + delete with that many messages waiting."""
    depths = [100, 10_000, 50_000] if quick else [100, 10_000, 100_000, 1_000_000]
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for depth in depths:
            rate = at_depth(Path(tmp) / f"d{depth}", depth, 500 if quick else 2000)
            points.append(ScalePoint("queue: standard round trip by depth", depth, 1e6 / rate))
    return points
