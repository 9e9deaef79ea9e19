"""Growth sweeps of the messaging suite: queue depth (standard and FIFO) and topic subscriptions."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .support import ScalePoint

BODY = {"job": "x" * 100}
GROUPS = 100  # a FIFO queue's messages spread over this many message groups


def _preload(queue: Any, depth: int) -> None:
    """Fill the queue through its provider in transactions of 1,000 (sends of 10 took minutes at 1M)."""
    from strato.queue import Outgoing

    now = time.time()
    for start in range(0, depth, 1000):
        outs = [
            Outgoing(f'{{"job":{i}}}', {}, 0, f"g{i % GROUPS}" if queue.fifo else None, f"d{i}" if queue.fifo else None)
            for i in range(start, min(start + 1000, depth))
        ]
        queue.backend.send(outs, now)


def at_depth(app: Any, depth: int, n: int, fifo: bool = False) -> tuple[float, float]:
    """Single send + receive + delete per second with ``depth`` messages waiting, and the receive p99 in µs.
    On a FIFO queue one group has a message in flight throughout (a consumer busy with it): a receive
    must pass over that group, which the old scan by seq did message by message."""
    queue = app.queue("deep", fifo=fifo, content_dedup=fifo)
    _preload(queue, depth)
    if fifo:
        queue.receive(1, visibility_timeout=3600)
    receives = []
    started = time.perf_counter()
    for i in range(n):
        queue.send(BODY, **({"group": f"g{i % GROUPS}", "dedup_id": f"n{i}"} if fifo else {}))
        before = time.perf_counter()
        got = queue.receive(1)
        receives.append(time.perf_counter() - before)
        queue.delete(got[0])
    rate = n / (time.perf_counter() - started)
    app.close()
    receives.sort()
    return rate, receives[int(len(receives) * 0.99)] * 1e6


def fan_out_app(app: Any, subscriptions: int, raw: bool) -> tuple[Any, Any]:
    """An app whose topic "news" has ``subscriptions`` standard queues subscribed (raw or enveloped)."""
    topic = app.topic("news")
    for i in range(subscriptions):
        topic.subscribe_queue(app.queue(f"sub{i}"), raw=raw)
    topic.publish(BODY)  # a warm-up: opens the backends, makes the signing key
    return app, topic


def depth_sweep(make_app: Callable[[str, Path], Any], quick: bool) -> list[ScalePoint]:
    depths = [100, 10_000, 50_000] if quick else [100, 10_000, 100_000, 1_000_000]
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for fifo in (False, True):
            kind = "FIFO" if fifo else "standard"
            for depth in depths:
                data = Path(tmp) / f"{kind}{depth}"
                rate, p99 = at_depth(make_app("local", data), depth, 500 if quick else 2000, fifo)
                points.append(ScalePoint(f"queue: {kind} round trip by depth", depth, 1e6 / rate))
                points.append(ScalePoint(f"queue: {kind} receive p99 by depth", depth, p99, "µs p99 receive"))
    return points


def subscriptions_sweep(make_app: Callable[[str, Path], Any], quick: bool) -> list[ScalePoint]:
    """µs per delivery of a publish to 1 .. 200 raw standard-queue subscriptions."""
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in [1, 10, 50] if quick else [1, 10, 50, 200]:
            app, topic = fan_out_app(make_app("local", Path(tmp) / f"subs{count}"), count, True)
            publishes = max(20, (2000 if quick else 10_000) // count)
            started = time.perf_counter()
            for _ in range(publishes):
                topic.publish(BODY)
            elapsed = time.perf_counter() - started
            app.close()
            points.append(ScalePoint("topic: publish by subscriptions", count, elapsed * 1e6 / (publishes * count),
                                     "µs per delivery"))  # fmt: skip
    return points
