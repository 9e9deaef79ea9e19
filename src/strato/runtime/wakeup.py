"""Wakes pollers in this process the moment new work is committed, without a lost-wakeup window.

A bare Condition loses a notify that lands between a poller finding nothing and starting to wait
(it then sleeps its whole poll interval); a generation counter read before looking closes that gap.
Other processes are not notified: their pollers re-check after ``timeout``.
"""

from __future__ import annotations

import threading


class Wakeup:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Sleep up to ``timeout`` unless something was committed since ``seen`` (a ``generation``)."""
        with self._cond:
            if self.generation == seen:
                self._cond.wait(timeout)
