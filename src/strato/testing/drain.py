"""``drain()``: run the app's background work in the test's own thread until nothing is left — queue
consumers, topic deliveries, stream handlers, bucket events — and re-raise the first exception a handler
raised, with its traceback, instead of a log line in another thread.

It runs what is due now. A delayed message, a visibility timeout or a retry back-off waits for the
clock: ``clock.advance(...)``, then ``drain()``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..dispatch import base as dispatch

if TYPE_CHECKING:
    from ..app import App
    from ..runtime.work import Loop


class DrainTimeout(AssertionError):
    """Work kept coming for longer than drain's limit (a handler that feeds itself forever?)."""


class Drain:
    """The background loops of one App, run by hand. Build it when the app loads (as the worker of ``strato
    dev`` starts with it): a stream handler's reader starts at the change log's end when it is made."""

    def __init__(self, app: App) -> None:
        from ..local.worker import Worker

        self.app = app
        self.worker = Worker(app, poll_wait=0.0)
        self.loops: list[Loop] = [loop for loop in self.worker.plan() if loop.drain is not None]
        self.handled = 0

    def __call__(self, *, timeout: float = 30.0) -> int:
        """Run every loop's due work again and again until a whole pass finds none; returns how many
        messages, deliveries and records were handled. Raises the first handler exception."""
        errors: list[BaseException] = []
        previous = dispatch._observer

        def watch(invocation: dispatch.Invocation) -> None:
            errors.extend(invocation.errors)
            if previous is not None:
                previous(invocation)

        dispatch.observe(watch)
        deadline = time.monotonic() + timeout
        total = 0
        try:
            while True:
                done = 0
                for loop in self.loops:
                    done += (loop.drain or loop.step)() or 0
                    if errors:
                        raise errors[0]
                total += done
                if not done:
                    self.handled += total
                    return total
                if time.monotonic() > deadline:
                    raise DrainTimeout(
                        f"drain() still had work after {timeout:g} s ({total} handled): does a handler "
                        "send to its own queue or topic every time it runs?"
                    )
        finally:
            dispatch.observe(previous)

    def close(self) -> None:
        """Save what the loops keep in memory (stream positions), as the worker does when it stops."""
        for loop in self.loops:
            if loop.close is not None:
                loop.close()

    def __repr__(self) -> str:
        return f"<Drain {self.app.name}: {len(self.loops)} loops>"
