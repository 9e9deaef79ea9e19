"""The local runtime of background work: queue consumers (and, as they land, topic deliveries,
schedules and stream tailers). ``strato dev`` runs it beside the HTTP server; ``strato worker``
runs only it, in another process against the same data.

Each consumer polls its queue, wraps what it received in the SQS event Lambda would get, hands it
to the same dispatcher ``app.lambda_handler`` uses, and deletes what did not fail. Stopping lets
every batch in hand finish; a batch received after the stop began goes straight back to the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .aws import region
from .dispatch import QueueDispatcher
from .events import LocalContext

log = logging.getLogger("strato.worker")


class Worker:
    def __init__(self, app: Any, *, poll_wait: float = 1.0) -> None:
        self.app = app
        self.poll_wait = poll_wait
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.loops: list[tuple[str, Callable[[], None], float]] = []
        self.processed = 0
        self.failed = 0
        self.fired = 0
        self.scheduler: Any = None
        self._count_lock = threading.Lock()
        self.queue_dispatcher = QueueDispatcher(app)

    # -- wiring ---------------------------------------------------------------------------------
    def add_loop(self, name: str, step: Callable[[], None], idle: float = 0.0) -> None:
        """Run ``step`` repeatedly in its own thread until stop; errors are logged, never fatal."""
        self.loops.append((name, step, idle))

    def start(self) -> Worker:
        for queue in self.app.queues():
            for consumer in queue.consumers:
                for n in range(consumer.max_concurrency):
                    self.add_loop(f"consumer:{queue.name}:{n}", self._poll_step(consumer))
        from .dispatch import TopicDispatcher

        topics = TopicDispatcher(self.app)
        for topic in self.app.topics():
            if "handler_delivery" in topic.capabilities and hasattr(topic.backend, "deliver_due"):
                self.add_loop(f"deliveries:{topic.name}", self._delivery_step(topic.backend, topics))
        from .dispatch import BucketDispatcher, StreamDispatcher
        from .table.local import LocalTableBackend
        from .table.stream import StreamTailer

        streams = StreamDispatcher(self.app)
        for table in list(self.app.resources.values()):
            for spec in getattr(table, "stream_handlers", []) or []:
                if isinstance(table.backend, LocalTableBackend):
                    self.add_loop(f"stream:{spec.name}", self._stream_step(StreamTailer(spec, streams)))
        from .metrics.local import LocalMetricsBackend

        for metrics in [r for (kind, _), r in self.app.resources.items() if kind == "metrics"]:
            if isinstance(metrics.backend, LocalMetricsBackend):
                self.add_loop(f"metrics:{metrics.name}", self._metrics_step(metrics), idle=1.0)
        buckets = BucketDispatcher(self.app)
        for bucket in self.app.buckets():
            if bucket.watchers and hasattr(bucket.backend, "deliver_due"):
                backend = bucket.backend
                self.add_loop(f"object-events:{bucket.name}", lambda b=backend: b.deliver_due(buckets), idle=0.05)
        if self.app.schedules:
            self._start_scheduler()
        for name, step, idle in self.loops:
            thread = threading.Thread(target=self._run, args=(name, step, idle), name=f"strato-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, grace: float = 30.0) -> bool:
        """Finish batches in hand (up to ``grace`` seconds); True if every thread stopped in time."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.scheduler is not None:
            self.scheduler.close()
        return not any(t.is_alive() for t in self.threads)

    def _run(self, name: str, step: Callable[[], None], idle: float) -> None:
        while not self.stopping.is_set():
            try:
                busy = step()
            except Exception:  # a poller must outlive any one failure
                log.exception("%s failed; retrying in 1 s", name)
                self.stopping.wait(1.0)
                continue
            if idle and not busy:
                self.stopping.wait(idle)

    def _stream_step(self, tailer: Any) -> Callable[[], int]:
        changed = tailer.backend.store.changed

        def step() -> int:
            seen = changed.generation
            done = tailer.step()
            if not done:  # a commit in this process wakes us at once; other processes within 10 ms
                changed.wait(seen, 0.01)
            return done

        return step

    def _metrics_step(self, metrics: Any) -> Callable[[], int]:
        """Alarms every second (only complete periods count, so this is as often as it can matter);
        downsampling and retention hourly."""
        next_compact = [0.0]

        def step() -> int:
            if time.monotonic() >= next_compact[0]:
                next_compact[0] = time.monotonic() + 3600
                metrics.compact()
            if metrics.alarms:
                metrics.evaluate_alarms()
            return 0

        return step

    def _delivery_step(self, backend: Any, dispatcher: Any) -> Callable[[], int]:
        def step() -> int:
            seen = backend.store.sent.generation
            done = backend.deliver_due(dispatcher)
            if not done:  # a publish in this process wakes us at once; other processes within 50 ms
                backend.store.sent.wait(seen, 0.05)
            return done

        return step

    # -- schedules ------------------------------------------------------------------------------
    def _start_scheduler(self) -> None:
        from .dispatch import ScheduleDispatcher
        from .events import ACCOUNT_ID
        from .schedule import scheduled_event
        from .scheduler import Scheduler

        dispatcher = ScheduleDispatcher(self.app)

        def run(schedule: Any, slot: Any) -> None:
            physical = self.app.config.physical_name("schedule", schedule.name)
            dispatcher.run(schedule, scheduled_event(physical, slot, region(), ACCOUNT_ID))
            with self._count_lock:
                self.fired += 1

        self.scheduler = Scheduler(self.app, run)
        self.add_loop("scheduler", self.scheduler.tick, idle=0.2)

    # -- queue consumers ------------------------------------------------------------------------
    def _poll_step(self, consumer: Any) -> Callable[[], None]:
        queue = consumer.queue
        visibility = consumer.visibility_timeout or queue.visibility_timeout

        def step() -> None:
            messages = queue._runtime_receive(consumer.batch_size, visibility, self.poll_wait)
            if not messages:
                return
            if self.stopping.is_set():
                for message in messages:  # not started: hand back at once rather than after the timeout
                    queue._runtime_release(message)
                return
            event = {"Records": [m.to_record(queue.arn, region()) for m in messages]}
            result = self.queue_dispatcher.handle(event, LocalContext(f"{self.app.name}-{queue.name}", visibility))
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            done = [m for m in messages if m.id not in failed]
            if done:
                queue._runtime_ack(done)
            with self._count_lock:
                self.processed += len(done)
                self.failed += len(failed)

        return step
