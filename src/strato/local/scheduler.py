"""The local scheduler: fires ``@app.schedule`` handlers on time, once per slot across processes.

Both ``strato dev`` and ``strato worker`` may run it against the same data: a firing is claimed by
inserting its (schedule, slot) row, so only one process runs it. Rate schedules share an origin
stored beside the claims, so every process computes the same slots. Missed slots while nothing
was running are not replayed, as on EventBridge.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..core import clock as strato_clock
from ..runtime.messaging import MessagingStore
from ..schedule import UTC, Schedule

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("strato.local.scheduler")

SCHEMA = """
CREATE TABLE IF NOT EXISTS s_origins (schedule TEXT PRIMARY KEY, origin REAL NOT NULL);
CREATE TABLE IF NOT EXISTS s_fired (schedule TEXT NOT NULL, slot REAL NOT NULL, fired_at REAL NOT NULL,
                                    PRIMARY KEY (schedule, slot)) WITHOUT ROWID
"""


class Scheduler:
    def __init__(
        self, app: App, run: Callable[[Schedule, dt.datetime], None], clock: Callable[[], float] = strato_clock.now
    ) -> None:
        self.app = app
        self.run = run
        self.clock = clock
        self.db = app.registry.local_store(MessagingStore).db
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="strato-schedule")
        self.next: dict[str, dt.datetime | None] = {}
        self.origins: dict[str, dt.datetime] = {}
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
        for schedule in app.schedules:
            self.track(schedule)

    def track(self, schedule: Schedule) -> None:
        """Follow ``schedule`` from now on: its rate origin (the first process to see it stores it, so every
        process computes the same slots) and its first slot after now."""
        now = self.clock()
        with self.db.write() as conn:
            conn.execute("INSERT OR IGNORE INTO s_origins VALUES (?, ?)", (schedule.name, now))
            origin = conn.execute("SELECT origin FROM s_origins WHERE schedule = ?", (schedule.name,)).fetchone()[0]
        self.origins[schedule.name] = dt.datetime.fromtimestamp(origin, UTC)
        self.next[schedule.name] = schedule.next_after(dt.datetime.fromtimestamp(now, UTC), self.origins[schedule.name])

    def claim(self, schedule: Schedule, slot: dt.datetime, now: float) -> bool:
        """Record that ``slot`` of ``schedule`` fires; False if another process (or call) already has."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    "INSERT OR IGNORE INTO s_fired VALUES (?, ?, ?)", (schedule.name, slot.timestamp(), now)
                ).rowcount
            )

    def tick(self) -> int:
        """Fire every schedule that is due; returns how many this process claimed."""
        now = dt.datetime.fromtimestamp(self.clock(), UTC)
        fired = 0
        for schedule in self.app.schedules:
            slot = self.next.get(schedule.name)
            if slot is None or slot > now:
                continue
            self.next[schedule.name] = schedule.next_after(now, self.origins[schedule.name])
            if self.claim(schedule, slot, now.timestamp()):
                fired += 1
                self.pool.submit(self._fire, schedule, slot)
        return fired

    def _fire(self, schedule: Schedule, slot: dt.datetime) -> None:
        try:
            self.run(schedule, slot)
        except Exception:
            log.exception("schedule %s (%s) failed at %s", schedule.name, schedule.expression, slot.isoformat())

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def fire(app: App, schedule: Schedule, slot: dt.datetime) -> None:
    """Run ``schedule``'s handler for ``slot`` as EventBridge would: its Scheduled Event, through the
    dispatcher ``app.lambda_handler`` uses; the handler's exception propagates."""
    from ..core.config import region
    from ..dispatch import schedule as dispatch
    from ..events import ACCOUNT_ID
    from ..events.eventbridge import scheduled_event

    physical = app.config.physical_name("schedule", schedule.name)
    dispatch.handle(schedule, scheduled_event(physical, slot, region(), ACCOUNT_ID), app.usage)
