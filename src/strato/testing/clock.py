"""``clock``: the test's virtual time. Installed for the whole test (every thread of the process sees
it), frozen until the test moves it; moving it does what AWS would have done meanwhile for the app under
test (``strato.local.timekeeping.Timekeeper``: due schedule slots, TTL / lifecycle / retention sweeps,
alarms)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core import clock as strato_clock

if TYPE_CHECKING:
    from ..app import App
    from ..local.timekeeping import Elapsed, Timekeeper


class Clock:
    """``clock.now()``, ``clock.advance(seconds)``, ``clock.set(datetime)``, ``clock.datetime()``."""

    def __init__(self, app_of: Callable[[], App | None], start: float | dt.datetime | None = None) -> None:
        self.virtual = strato_clock.VirtualClock(start)
        self._app_of = app_of
        self._keepers: dict[int, Timekeeper] = {}
        self._previous: strato_clock.VirtualClock | None = None

    def start(self) -> Clock:
        self._previous = strato_clock.install(self.virtual)
        return self

    def stop(self) -> None:
        for keeper in self._keepers.values():
            keeper.close()
        strato_clock.install(self._previous)

    def now(self) -> float:
        """Seconds since the epoch, as ``strato.now()`` reads them in the app."""
        return self.virtual.now()

    def datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.virtual.now(), dt.UTC)

    def advance(self, seconds: float, *, max_slots: int | None = None) -> Elapsed | None:
        """Move time ``seconds`` forward: schedule slots that fall due fire in order (a handler's exception
        is raised here), then expired items, objects and messages go and alarms are evaluated. Returns what
        was done (None when no app is loaded: only the time moved)."""
        keeper = self._keeper()
        if keeper is None:
            self.virtual.advance(seconds)
            return None
        return keeper.advance(seconds, max_slots=max_slots)

    def set(self, when: float | dt.datetime, *, max_slots: int | None = None) -> Elapsed | None:
        """Move time to ``when`` (a naive datetime is UTC); never backwards."""
        keeper = self._keeper()
        if keeper is None:
            self.virtual.set(when)
            return None
        return keeper.set(when, max_slots=max_slots)

    def _keeper(self) -> Timekeeper | None:
        app = self._app_of()
        if app is None:
            return None
        keeper = self._keepers.get(id(app))
        if keeper is None:
            from ..local.timekeeping import Timekeeper

            keeper = self._keepers[id(app)] = Timekeeper(app, self.virtual)
        return keeper

    def __repr__(self) -> str:
        return f"<Clock {self.datetime().isoformat()}>"
