"""Background work of local backends, as the worker runs it.

AWS runs some things for you: topic deliveries, S3 event notifications, stream event source mappings,
TTL deletion, lifecycle expiry, alarm evaluation. Locally a backend that stands in for one of them
offers ``background(resource)`` loops, and the worker runs each loop in a thread; ``sweep(now)`` is the
slow housekeeping (TTL, lifecycle) the dev server also runs on a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass
class Loop:
    """``step()`` is called again and again until the worker stops; it returns how much it did, and
    when that is nothing the worker waits ``idle`` seconds before the next call (0: call at once,
    the step waits itself). ``close()``, if given, runs once after the last step (e.g. to save
    positions kept in memory). ``drain``, if given, is one pass over the work that is due now that never
    waits (deliveries, stream records): the test kit's ``drain()`` calls it until nothing is left; loops
    without one (TTL, lifecycle, alarms) follow the clock instead."""

    name: str
    step: Callable[[], int | None]
    idle: float = 0.0
    close: Callable[[], None] | None = None
    drain: Callable[[], int | None] | None = None


@runtime_checkable
class HasBackgroundWork(Protocol):
    def background(self, resource: Any) -> list[Loop]: ...


@runtime_checkable
class Sweepable(Protocol):
    def sweep(self, now: float) -> int: ...


@runtime_checkable
class RunsDue(Protocol):
    """Work waiting on the clock that a test's ``Timekeeper.advance`` runs once the time has come."""

    def run_due(self) -> int: ...
    def next_due(self) -> float | None: ...
