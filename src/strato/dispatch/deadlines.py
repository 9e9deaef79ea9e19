"""API Gateway's integration timeout for requests dispatched on an event loop, with one timer for all.

Every request of an API gets the same timeout, so deadlines come due in the order requests arrived: a
FIFO of requests in flight and one timer for the oldest replace a timer (``asyncio.timeout``, 8 µs) or
a task (``asyncio.wait_for``, 22 µs) per request. When a deadline passes, the request's task is
cancelled where it waits for its handler, and the dispatcher turns that into the gateway's 503.
"""

from __future__ import annotations

from collections import deque

TYPE_CHECKING = False  # typing is not loaded at run time (Lambda cold start)

if TYPE_CHECKING:
    import asyncio


class Deadline:
    __slots__ = ("at", "cancelling", "done", "expired", "task")

    def __init__(self, at: float, task: asyncio.Task) -> None:
        self.at = at
        self.task = task
        self.cancelling = task.cancelling()  # cancellations requested before ours: not a timeout
        self.done = False
        self.expired = False

    def timed_out(self) -> bool:
        """After the task saw CancelledError: whether it was this deadline's (then withdrawn) rather than
        a cancellation from elsewhere (a client gone, a server stopping), which must propagate."""
        return self.expired and self.task.uncancel() <= self.cancelling


class Deadlines:
    """The requests in flight on one loop, oldest first, and the one timer for the oldest."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.pending: deque[Deadline] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def start(self, task: asyncio.Task) -> Deadline:
        deadline = Deadline(self.loop.time() + self.timeout, task)
        self.pending.append(deadline)
        if self.timer is None:
            self.timer = self.loop.call_at(deadline.at, self._expire)
        return deadline

    def finish(self, deadline: Deadline) -> None:
        deadline.done = True
        pending = self.pending
        while pending and pending[0].done:  # finished in order (the usual case): the FIFO stays short
            pending.popleft()

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        pending = self.pending
        while pending and (pending[0].done or pending[0].at <= now):
            deadline = pending.popleft()
            if not deadline.done:
                deadline.done = deadline.expired = True
                deadline.task.cancel()
        if pending:
            self.timer = self.loop.call_at(pending[0].at, self._expire)
