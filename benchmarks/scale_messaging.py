"""Growth sweeps of the messaging suite: queue depth (standard and FIFO) and topic subscriptions."""

from __future__ import annotations

import statistics
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


class DeepQueue:
    """A queue with ``depth`` messages waiting; ``measure`` runs single send + receive + delete round trips.
    On a FIFO queue one group has a message in flight throughout (a consumer busy with it): a receive
    must pass over that group, which the old scan by seq did message by message."""

    def __init__(self, app: Any, depth: int, fifo: bool = False) -> None:
        self.app, self.depth, self.fifo = app, depth, fifo
        self.queue = app.queue("deep", fifo=fifo, content_dedup=fifo)
        _preload(self.queue, depth)
        if fifo:
            self.queue.receive(1, visibility_timeout=3600)
        self.sent = 0
        self.receives: list[float] = []  # seconds, every measured receive

    def measure(self, n: int) -> float:
        """Round trips per second over ``n`` of them."""
        queue = self.queue
        started = time.perf_counter()
        for _ in range(n):
            i = self.sent = self.sent + 1
            queue.send(BODY, **({"group": f"g{i % GROUPS}", "dedup_id": f"n{i}"} if self.fifo else {}))
            before = time.perf_counter()
            got = queue.receive(1)
            self.receives.append(time.perf_counter() - before)
            queue.delete(got[0])
        return n / (time.perf_counter() - started)

    def p99(self) -> float:
        """The receive p99 in µs."""
        ordered = sorted(self.receives)
        return ordered[int(len(ordered) * 0.99)] * 1e6


def interleaved_depths(queues: list[DeepQueue], n: int, rounds: int = 5) -> list[float]:
    """Median round trips/s of each queue, measured in turns (a, b, c, a, b, c, ...) so noise hits all."""
    rates: list[list[float]] = [[] for _ in queues]
    for _ in range(rounds):
        for queue, measured in zip(queues, rates, strict=True):
            measured.append(queue.measure(max(1, n // rounds)))
    return [statistics.median(r) for r in rates]


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
            queues = [DeepQueue(make_app("local", Path(tmp) / f"{kind}{d}"), d, fifo) for d in depths]
            rates = interleaved_depths(queues, 500 if quick else 2000)
            for queue, rate in zip(queues, rates, strict=True):
                points.append(ScalePoint(f"queue: {kind} round trip by depth", queue.depth, 1e6 / rate))
                points.append(
                    ScalePoint(f"queue: {kind} receive p99 by depth", queue.depth, queue.p99(), "µs p99 receive")
                )
                queue.app.close()
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
