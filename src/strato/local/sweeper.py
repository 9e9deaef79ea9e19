"""The dev server's timer for slow housekeeping AWS does by itself (TTL deletion, lifecycle expiry):
every backend that can ``sweep`` is swept every ``sweep_every`` seconds."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from ..app import App
from ..core import clock
from ..runtime.work import RunsDue, Sweepable

log = logging.getLogger("strato.dev")


def sweep_all(app: App, now: float) -> int:
    """What AWS deletes by itself as of ``now`` (expired TTL items, objects past lifecycle, messages past
    retention), for every resource that has such work; returns how many went."""
    count = 0
    for resource in list(app.resources.values()):
        if resource.background_work() and isinstance(resource.backend, Sweepable):
            count += resource.backend.sweep(now)
    return count


def run_due(app: App) -> int:
    """Run the background work that was waiting for the clock (a workflow's Wait) as of now."""
    count = 0
    for resource in list(app.resources.values()):
        if resource.background_work() and isinstance(resource.backend, RunsDue):
            count += resource.backend.run_due()
    return count


def next_due(app: App) -> float | None:
    """The earliest time background work waits for (a workflow's Wait or retry), or None."""
    times = [
        due
        for resource in list(app.resources.values())
        if resource.background_work() and isinstance(resource.backend, RunsDue)
        for due in [resource.backend.next_due()]
        if due is not None
    ]
    return min(times, default=None)


class Runtime:
    """Background housekeeping of the dev server: sweeps expired items and objects."""

    def __init__(self, app: App, sweep_every: float = 30.0) -> None:
        self.app = app
        self.sweep_every = sweep_every
        self.swept = 0

    def sweep(self) -> int:
        count = sweep_all(self.app, clock.now())
        self.swept += count
        return count

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await run_in_threadpool(self.sweep)
            except Exception:
                log.exception("TTL sweep failed")
