"""strato's one clock: every time strato itself reads for its semantics (TTL, visibility timeouts, delays,
retention, presigned URL and token expiry, schedules, metric timestamps) comes from ``now()``.

It is ``time.time()`` until a test installs a ``VirtualClock``; then time stands still until the test
moves it (``advance`` / ``set``), in every thread of the process. Waiting (long polls, timeouts, back-off
sleeps) and measuring (durations) stay on ``time.monotonic()`` / ``time.perf_counter()``: a frozen clock
must never make a wait loop spin or sleep forever. Code that calls ``time.time()`` itself, and AWS's own
clocks behind the AWS providers, are not affected.

``now()`` runs on the Lambda path: this module imports nothing but ``time`` (``datetime`` only when a
``datetime`` is handed in).
"""

from __future__ import annotations

import threading
import time

TYPE_CHECKING = False  # not typing's: it costs a Lambda cold start ~4 ms (see core/hints.py)
if TYPE_CHECKING:
    from datetime import datetime

_installed: VirtualClock | None = None
_install_lock = threading.Lock()


def now() -> float:
    """strato's wall time in seconds since the epoch: ``time.time()`` unless a virtual clock is installed."""
    clock = _installed
    return time.time() if clock is None else clock._now


def _seconds(when: float | datetime, what: str) -> float:
    """Seconds since the epoch of a number or a datetime (a naive datetime is UTC, as everywhere in AWS)."""
    if isinstance(when, bool):
        raise TypeError(f"{what} must be seconds since the epoch or a datetime, not a bool")
    if isinstance(when, int | float):
        seconds = float(when)
    else:
        import datetime as dt  # only when a datetime is handed in

        if not isinstance(when, dt.datetime):
            raise TypeError(f"{what} must be seconds since the epoch or a datetime, not {type(when).__name__}")
        seconds = (when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)).timestamp()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"{what} must be a finite time, got {seconds!r}")
    return seconds


class VirtualClock:
    """A clock that moves only when told: frozen at ``start`` (default: the real time now)."""

    def __init__(self, start: float | datetime | None = None) -> None:
        self._now = time.time() if start is None else _seconds(start, "start")
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def set(self, when: float | datetime) -> None:
        """Move the clock to ``when``; going backwards is refused (TTLs, leases and schedule claims already
        made would contradict each other, as no AWS clock ever does)."""
        target = _seconds(when, "the time")
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"the virtual clock cannot go backwards ({target!r} is {self._now - target:.3f} s before "
                    f"{self._now!r}): expiries, leases and fired schedule slots already recorded would be undone; "
                    "start a new VirtualClock at the earlier time instead"
                )
            self._now = target

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (zero is allowed; negative or non-finite is refused)."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"advance takes a number of seconds, not {type(seconds).__name__}")
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            raise ValueError(f"advance takes a finite number of seconds, got {seconds!r}")
        if seconds < 0:
            raise ValueError(f"advance takes seconds >= 0, got {seconds!r}: the virtual clock never goes backwards")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"VirtualClock({self._now!r})"


def install(clock: VirtualClock | None) -> VirtualClock | None:
    """Make ``clock`` strato's time for the whole process (every thread); ``None`` = real time again.
    Returns the clock installed before, so a caller can put it back."""
    global _installed
    if clock is not None and not isinstance(clock, VirtualClock):
        raise TypeError(f"install takes a VirtualClock or None, not {type(clock).__name__}")
    with _install_lock:
        previous, _installed = _installed, clock
    return previous


def installed() -> VirtualClock | None:
    """The virtual clock in force, or None when strato runs on real time."""
    return _installed
