"""Moving a test's virtual clock the way time passes on AWS: what AWS would have done meanwhile is done.

``Timekeeper(app).advance(3600)`` moves the installed ``VirtualClock`` an hour and, synchronously:

1. fires every schedule slot that falls due in the hour, in time order (ties in declaration order),
   each with the clock standing at its slot, through the same claims as ``strato dev``'s scheduler
   (a slot fires once even if a scheduler in another process saw it) and the same dispatcher as
   Lambda. A handler's exception propagates out of ``advance`` after its claim is recorded: the
   clock then stands at that slot, and the later slots, sweeps and alarms have not run yet (advance
   again to go on; the failed slot is not retried, as EventBridge does not re-run a slot whose
   target raised once its retry policy is spent);
2. then, with the clock at the new time, deletes what AWS deletes by itself (TTL items, objects past
   lifecycle expiry, messages past retention: every backend's ``sweep(now)``), runs the workflow steps
   that fell due (Waits that ended, retry back-offs that passed) until each execution waits again or
   ends, ages metrics (downsampling, retention) and evaluates alarms once.

A ``strato worker`` running in the same process shares the clock: its scheduler may claim a slot
first, and that slot then fires on the worker's thread instead of inside ``advance``.

Nothing needs doing for visibility timeouts, delays, presigned URL or token expiry, lockouts and
confirmation codes: reads compare against the clock, so they see the new time (long polls are woken).

A runaway guard: an advance that would fire more than ``max_slots`` slots (10,000 by default) is
refused with ``TooManySlots`` before anything moves. EventBridge itself fires every slot while time
passes (a year of ``rate(1 minute)`` is 525,600 invocations, and Scheduler never coalesces them), so
firing all of them is the faithful behaviour and the cap only stops a test that jumps a year by
mistake from running for minutes; raise ``max_slots`` (per call or per Timekeeper) to fire them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core import clock as strato_clock
from ..core.clock import VirtualClock, _seconds
from ..core.errors import StratoError
from ..schedule import UTC, Schedule
from .scheduler import Scheduler, fire
from .sweeper import next_due, run_due, sweep_all

if TYPE_CHECKING:
    from ..app import App

MAX_SLOTS = 10_000


class TooManySlots(StratoError):
    """An advance would fire more schedule slots than the Timekeeper's cap."""


@dataclass
class Elapsed:
    """What one ``advance`` / ``set`` did: slots fired, items / objects / messages swept, alarm changes."""

    fired: int = 0
    swept: int = 0
    alarms: list[tuple[str, str, str, str]] = field(default_factory=list)  # (namespace, alarm, old, new)
    steps: int = 0  # workflow transitions that fell due (Waits ended, retry back-offs over)


class Timekeeper:
    """Moves the virtual clock installed for ``app``'s test and does what AWS would have done meanwhile."""

    def __init__(self, app: App, clock: VirtualClock | None = None, *, max_slots: int = MAX_SLOTS) -> None:
        found = clock or strato_clock.installed()
        if found is None:
            raise RuntimeError("no virtual clock: strato.core.clock.install(VirtualClock()) before a Timekeeper")
        self.app = app
        self.clock = found
        self.max_slots = max_slots
        self._scheduler: Scheduler | None = None

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.now(), UTC)

    def advance(self, seconds: float, *, max_slots: int | None = None) -> Elapsed:
        """Move the clock ``seconds`` forward (>= 0) and do what AWS would have done meanwhile."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"advance takes a number of seconds, not {type(seconds).__name__}")
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"advance takes a finite number of seconds >= 0, got {seconds!r}")
        return self._move_to(self.clock.now() + seconds, max_slots)

    def set(self, when: float | dt.datetime, *, max_slots: int | None = None) -> Elapsed:
        """Move the clock to ``when`` (a naive datetime is UTC); never backwards."""
        target = _seconds(when, "the time")
        if target < self.clock.now():
            self.clock.set(target)  # refuses, saying why
        return self._move_to(target, max_slots)

    # -- the passing of time ----------------------------------------------------------------------
    def _move_to(self, target: float, max_slots: int | None) -> Elapsed:
        if strato_clock.installed() is not self.clock:
            raise RuntimeError("this Timekeeper's clock is not the installed one: strato would not see it move")
        elapsed = Elapsed()
        if self.app.schedules:
            elapsed.fired = self._fire_slots(target, self.max_slots if max_slots is None else max_slots)
        target = max(target, self.clock.now())  # a slot (a datetime: whole microseconds) may round up
        elapsed.steps = self._run_due_until(target)
        self.clock.set(target)
        elapsed.swept = sweep_all(self.app, target)
        elapsed.steps += run_due(self.app)
        for metrics in self.app.of_kind("metrics"):
            if "alarm_evaluation" not in metrics.capabilities:
                continue  # CloudWatch ages data and evaluates alarms on AWS by itself
            metrics.compact(target)
            if metrics.alarms:
                changes = metrics.evaluate_alarms(target)
                elapsed.alarms += [(metrics.namespace, name, old, new) for name, old, new in changes]
        return elapsed

    def _run_due_until(self, target: float) -> int:
        """Workflow steps waiting on the clock (Waits, retry back-offs), each with the clock standing at its
        due time, in time order: a retry that fails again is due later, maybe still before ``target``."""
        steps = 0
        while True:
            due = next_due(self.app)
            if due is None or due > target:
                return steps
            self.clock.set(max(due, self.clock.now()))
            steps += run_due(self.app)

    def _fire_slots(self, target: float, max_slots: int) -> int:
        scheduler = self._follow()
        until = dt.datetime.fromtimestamp(target, UTC)
        due = self._count_due(scheduler, until, max_slots)
        if due > max_slots:
            raise TooManySlots(
                f"advancing to {until.isoformat()} would fire more than {max_slots:,} schedule slots "
                f"({self._busiest(scheduler, until)}); EventBridge would fire every one of them. Advance in "
                "smaller steps, or pass max_slots= to fire them all"
            )
        fired = 0
        order = {s.name: i for i, s in enumerate(self.app.schedules)}
        while True:
            pending = [(slot, order[name], name) for name, slot in scheduler.next.items() if slot and slot <= until]
            if not pending:
                return fired
            slot, _, name = min(pending)
            schedule = self.app.schedules[order[name]]
            self.clock.set(slot.timestamp())
            scheduler.next[name] = schedule.next_after(slot, scheduler.origins[name])
            if scheduler.claim(schedule, slot, slot.timestamp()):
                fired += 1
                fire(self.app, schedule, slot)

    def _follow(self) -> Scheduler:
        """The scheduler's state for every schedule declared so far (one declared after the last advance
        starts from now, as a new EventBridge schedule does)."""
        if self._scheduler is None:
            self._scheduler = Scheduler(self.app, lambda schedule, slot: None, self.clock.now)
        current = {s.name for s in self.app.schedules}
        for name in [n for n in self._scheduler.next if n not in current]:  # gone after a reload
            del self._scheduler.next[name]
        for schedule in self.app.schedules:
            if schedule.name not in self._scheduler.next:
                self._scheduler.track(schedule)
        return self._scheduler

    def _count_due(self, scheduler: Scheduler, until: dt.datetime, limit: int) -> int:
        total = 0
        for schedule in self.app.schedules:
            total += _slots_until(schedule, scheduler, until, limit - total + 1)
            if total > limit:
                break
        return total

    def _busiest(self, scheduler: Scheduler, until: dt.datetime) -> str:
        counts = [(_slots_until(s, scheduler, until, self.max_slots + 1), s) for s in self.app.schedules]
        count, schedule = max(counts, key=lambda c: c[0])
        more = "+" if count > self.max_slots else ""
        return f"{schedule.expression} {schedule.name!r} alone: {count:,}{more}"

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.close()


def _slots_until(schedule: Schedule, scheduler: Scheduler, until: dt.datetime, limit: int) -> int:
    """How many slots of ``schedule`` fall due up to ``until`` (counting stops past ``limit``)."""
    slot = scheduler.next.get(schedule.name)
    if slot is None or slot > until:
        return 0
    if schedule.kind == "rate":  # evenly spaced: no need to walk them
        return int((until - slot).total_seconds() // schedule.every) + 1
    count = 0
    while slot is not None and slot <= until and count <= limit:
        count += 1
        slot = schedule.next_after(slot, scheduler.origins[schedule.name])
    return count
