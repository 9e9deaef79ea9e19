"""Queue send + receive + delete throughput (single and batches of 10): strato's SQLite provider vs SQS on
moto_server and vs the same SQL on bare sqlite3 (interleaved); the same at depth 200,000 vs depth 100
(cost per message must stay flat); topic fan-out to 50 queue subscriptions (raw and enveloped) vs the
same SQL on sqlite3; publish-to-handler latency of a local topic subscription."""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from . import raw_messaging
from .scale_messaging import DeepQueue, fan_out_app, interleaved_depths
from .support import Row, ScalePoint, moto_server, paced_latencies

BODY = {"job": "x" * 100}


def _app(provider: str, data: Path):
    import strato

    app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
    app.config.auto_create = provider == "aws"
    return app


def round_trips(queue, n: int, batch: int) -> float:
    """Messages per second through send + receive + delete, `batch` at a time."""
    started = time.perf_counter()
    done = 0
    while done < n:
        if batch == 1:
            queue.send(BODY)
        else:
            queue.send_batch([BODY] * batch)
        got = []
        while len(got) < batch:
            got += queue.receive(batch)
        if batch == 1:
            queue.delete(got[0])
        else:
            queue.delete_batch(got)
        done += batch
    return done / (time.perf_counter() - started)


def interleaved(a: Callable[[], float], b: Callable[[], float], rounds: int = 5) -> tuple[float, float]:
    """Medians of a() and b() run alternately (a, b, a, b, ...), so machine noise hits both alike."""
    first, second = [], []
    for _ in range(rounds):
        first.append(a())
        second.append(b())
    return statistics.median(first), statistics.median(second)


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


def _queue_rows(tmp: Path, n: int) -> list[Row]:
    """strato vs the same SQL on sqlite3, single and batched round trips, interleaved."""
    app = _app("local", tmp / "strato")
    raw = raw_messaging.RawMessaging(tmp / "raw.db")
    text = json.dumps(BODY, separators=(",", ":"))
    single, batched = app.queue("single"), app.queue("batched")
    rounds = 5
    s1, r1 = interleaved(
        lambda: round_trips(single, n // rounds, 1), lambda: raw_messaging.round_trips(raw, n // rounds, 1, text)
    )
    s10, r10 = interleaved(
        lambda: round_trips(batched, n // rounds * 5, 10),
        lambda: raw_messaging.round_trips(raw, n // rounds * 5, 10, text),
    )
    app.close()
    raw.close()
    same = "same SQL, sqlite3"
    return [
        Row("queue", "send+receive+delete, single, vs its SQL alone", s1, r1, same, "msgs/s"),
        Row("queue", "send+receive+delete, batches of 10, vs its SQL alone", s10, r10, same, "msgs/s"),
    ]


def _topic_rows(tmp: Path, n: int, subscriptions: int = 50) -> list[Row]:
    """Publishes/s to 50 standard queue subscriptions, raw and enveloped, vs their SQL on sqlite3."""
    rows = []
    for raw_delivery in (True, False):
        app, topic = fan_out_app(_app("local", tmp / f"topic-{raw_delivery}"), subscriptions, raw_delivery)
        baseline = raw_messaging.RawMessaging(tmp / f"topic-raw-{raw_delivery}.db")
        body = json.dumps(BODY, separators=(",", ":"))
        if not raw_delivery:  # what an enveloped queue stores: the signed SNS envelope around the body
            body = topic.declared[0].handler.receive(1)[0].body  # the warm-up publish's
        queues = [f"sub{i}" for i in range(subscriptions)]

        def strato_rate(topic=topic) -> float:
            started = time.perf_counter()
            for _ in range(n):
                topic.publish(BODY)
            return n / (time.perf_counter() - started)

        strato, raw = interleaved(
            strato_rate,
            lambda baseline=baseline, body=body, queues=queues: raw_messaging.publishes(baseline, n, queues, body),
        )
        app.close()
        baseline.close()
        kind, goal = ("raw", "≥ 5,000/s") if raw_delivery else ("enveloped (signed)", "≥ 1,000/s")
        rows.append(
            Row(
                "topic",
                f"publish to {subscriptions} {kind} queue subscriptions",
                strato,
                raw,
                "same SQL, sqlite3",
                "publishes/s",
                goal,
            )
        )
    return rows


def run(quick: bool = False) -> list[Row]:
    n_local, n_aws = (1000, 60) if quick else (4000, 150)
    with tempfile.TemporaryDirectory() as tmp:
        app = _app("local", Path(tmp))
        local_single = round_trips(app.queue("single"), n_local, 1)
        local_batch = round_trips(app.queue("batched"), n_local * 5, 10)
        app.close()
        raw_rows = _queue_rows(Path(tmp) / "raw", n_local)
        topic_rows = _topic_rows(Path(tmp) / "topic", 100 if quick else 400)
        p50, p95 = publish_latency(Path(tmp) / "latency", 100 if quick else 300)
        deep = 20_000 if quick else 200_000  # the cost per message must not grow with the queue's depth
        queues = [DeepQueue(_app("local", Path(tmp) / f"d{d}"), d) for d in (100, deep)]
        shallow_rate, deep_rate = interleaved_depths(queues, n_local // 2)
        for queue in queues:
            queue.app.close()
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        app = _app("aws", Path(tmp))
        aws_single = round_trips(app.queue("single"), n_aws, 1)
        aws_batch = round_trips(app.queue("batched"), n_aws * 5, 10)
    return [
        Row("queue", "send+receive+delete, single", local_single, aws_single, "SQS on moto", "msgs/s", "≥ 50x"),
        Row("queue", "send+receive+delete, batches of 10", local_batch, aws_batch, "SQS on moto", "msgs/s", "≥ 50x"),
        *raw_rows,
        Row(
            "queue",
            f"single round trip at depth {deep:,} vs 100",
            deep_rate,
            shallow_rate,
            "depth 100",
            "msgs/s",
            "≥ 0.8x",
        ),
        *topic_rows,
        Row("topic", "publish → handler p50", p50, 0, "", "ms", "", higher_is_better=False),
        Row("topic", "publish → handler p95", p95, 0, "", "ms", "", higher_is_better=False),
    ]


def scale(quick: bool = False) -> list[ScalePoint]:
    """Queue depth sweeps (standard and FIFO: µs per send + receive + delete, and the receive p99 at
    each depth) and the topic subscriptions sweep (µs per delivery)."""
    from .scale_messaging import depth_sweep, subscriptions_sweep

    return [*depth_sweep(_app, quick), *subscriptions_sweep(_app, quick)]
