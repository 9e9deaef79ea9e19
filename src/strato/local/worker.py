"""The local runtime of background work. ``strato dev`` runs it beside the HTTP server; ``strato worker``
runs only it, in another process against the same data.

It runs what AWS would run for the app: an event source mapping per queue consumer (poll, hand the
SQS event to the same dispatcher ``app.lambda_handler`` uses, delete what did not fail), the loops
local backends offer for what AWS does by itself (topic deliveries, S3 notifications, stream tailers,
TTL, alarms; see ``strato.runtime.work``), and the schedules. Stopping lets every batch in hand
finish; a batch received after the stop began goes straight back to the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.config import region
from ..runtime.work import HasBackgroundWork, Loop

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("strato.local.worker")


class Worker:
    def __init__(self, app: App, *, poll_wait: float = 1.0) -> None:
        self.app = app
        self.poll_wait = poll_wait
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.loops: list[Loop] = []
        self.processed = 0
        self.failed = 0
        self.fired = 0
        self.scheduler: Any = None
        self._count_lock = threading.Lock()

    # -- wiring ---------------------------------------------------------------------------------
    def add_loop(self, name: str, step: Callable[[], int | None], idle: float = 0.0) -> None:
        """Run ``step`` repeatedly in its own thread until stop; errors are logged, never fatal."""
        self.loops.append(Loop(name, step, idle))

    def plan(self) -> list[Loop]:
        """The loops of the app's background work, not started: an event source mapping per queue
        consumer (``max_concurrency`` pollers each) and what backends run for AWS's own jobs."""
        loops = []
        for queue in self.app.of_kind("queue"):
            for consumer in queue.consumers:
                step = self._poll_step(consumer)
                for n in range(consumer.max_concurrency):
                    loops.append(Loop(f"consumer:{queue.name}:{n}", step, drain=step if n == 0 else None))
        for resource in list(self.app.resources.values()):  # what AWS itself would run for them
            if resource.background_work() and isinstance(resource.backend, HasBackgroundWork):
                loops += resource.backend.background(resource)
        return loops

    def start(self) -> Worker:
        self.loops += self.plan()
        if self.app.schedules:
            self._start_scheduler()
        for loop in self.loops:
            thread = threading.Thread(target=self._run, args=(loop,), name=f"strato-{loop.name}", daemon=True)
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

    def _run(self, loop: Loop) -> None:
        while not self.stopping.is_set():
            try:
                busy = loop.step()
            except Exception:  # a poller must outlive any one failure
                log.exception("%s failed; retrying in 1 s", loop.name)
                self.stopping.wait(1.0)
                continue
            if loop.idle and not busy:
                self.stopping.wait(loop.idle)
        if loop.close is not None:
            try:
                loop.close()
            except Exception:
                log.exception("%s failed to close", loop.name)

    # -- schedules ------------------------------------------------------------------------------
    def _start_scheduler(self) -> None:
        from .scheduler import Scheduler, fire

        def run(schedule: Any, slot: Any) -> None:
            fire(self.app, schedule, slot)
            with self._count_lock:
                self.fired += 1

        self.scheduler = Scheduler(self.app, run)
        self.add_loop("scheduler", self.scheduler.tick, idle=0.2)

    # -- queue consumers: the event source mapping ----------------------------------------------
    def _poll_step(self, consumer: Any) -> Callable[[], int]:
        from ..dispatch import sqs as dispatch

        queue = consumer.queue
        visibility = consumer.visibility_timeout or queue.visibility_timeout

        def step() -> int:
            messages = queue._runtime_receive(consumer.batch_size, visibility, self.poll_wait)
            if not messages:
                return 0
            if self.stopping.is_set():
                for message in messages:  # not started: hand back at once rather than after the timeout
                    queue._runtime_release(message)
                return 0
            event = {"Records": [m.to_record(queue.arn, region()) for m in messages]}
            result = dispatch.handle(consumer, event, self.app.usage)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            done = [m for m in messages if m.id not in failed]
            if done:
                queue._runtime_ack(done)
            with self._count_lock:
                self.processed += len(done)
                self.failed += len(failed)
            return len(messages)

        return step
