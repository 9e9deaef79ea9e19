"""The threads ``strato dev`` runs synchronous handlers on.

anyio's ``run_in_threadpool`` (what Starlette uses) costs about 45 µs a call in hand-offs; this pool
takes a job from the event loop with one queue put and hands the result back with one
``call_soon_threadsafe`` (about 12 µs).

How many threads: handlers share one GIL, so threads beyond the few that keep it busy only add hand-
overs (a webhook doing a few SQLite writes and one outbound call served 20-40 % more updates a second on
2 threads than on 16: fewer threads queueing for the GIL at every statement). But a handler that waits
(a slow upstream, ``time.sleep``) must not hold up the others. So ``core`` threads start on demand, and
past them the pool grows, up to ``size``, only when jobs wait while the pool's threads and the event loop
are *not* using a CPU (running or queued for one, over the last ``CHECK_S``): computing, one more thread
would only queue for the GIL; waiting on I/O, it gets the job done. A job that has waited ``STARVED_S``
adds a thread whatever the CPU says when every thread has been on its job that long too (handlers
spinning past their timeout must not starve the rest; a long queue of short jobs is not starvation).
Threads past ``core`` retire after ``IDLE_S`` without work. Threads are daemons, so a handler stuck
past its timeout never holds up the server's exit; its late result is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("strato.dev")

DEFAULT_SIZE = 16
DEFAULT_CORE = 2
CHECK_S = 0.02  # how long a job waits before the pool asks whether to grow (the CPU is measured over it)
STARVED_S = 0.25  # a job waiting this long adds a thread even while the process is busy
BUSY_CPU = 0.5  # the pool and the loop ran or waited for a CPU this share of the time: computing, not waiting
IDLE_S = 10.0  # a thread past ``core`` with no job for this long ends


def default_size() -> int:
    """``STRATO_DEV_THREADS`` if set, else ``DEFAULT_SIZE``: the most threads the pool grows to."""
    raw = os.environ.get("STRATO_DEV_THREADS", "")
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_SIZE


class HandlerThreads:
    """``await pool.run(fn, *args)``: fn(*args) on a pool thread, in a copy of the caller's context."""

    def __init__(self, size: int | None = None, core: int | None = None, idle_s: float = IDLE_S) -> None:
        self.size = size or default_size()
        self.core = max(1, min(core or DEFAULT_CORE, self.size))
        self.idle_s = idle_s
        self._jobs: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._check: asyncio.TimerHandle | None = None
        self._check_loop: asyncio.AbstractEventLoop | None = None  # a pending check on a closed loop never runs
        self._check_from = (0.0, 0.0)  # (monotonic, ``_demand()``) when the pending check was set
        self._tids: set[int] = set()  # the pool's threads, as the kernel numbers them
        self._queued: deque[list[Any]] = deque()  # jobs queued while every thread was busy, oldest first
        self._started: dict[int, float] = {}  # thread id -> when its job in hand began (monotonic)

    @property
    def threads(self) -> int:
        return len(self._threads)

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """A future of fn(*args); cancelling it (a timeout) leaves the thread to finish and drops its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        # a list: the worker marks it taken (its last slot) so a growth check can tell it was served
        self._queue([contextvars.copy_context(), fn, args, loop, future, time.monotonic(), False], loop)
        return future

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """fn(*args) on a pool thread, in a copy of the caller's context, with no result to wait for (the
        WebSocket gateway's inboxes: fn handles its own errors; one escaping is logged). On the loop."""
        loop = asyncio.get_running_loop()
        self._queue([contextvars.copy_context(), fn, args, loop, None, time.monotonic(), False], loop)

    def _queue(self, job: list[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._jobs.put(job)
        if self._jobs.qsize() > self._idle:  # no thread free for it
            if len(self._threads) < self.core:
                self._start()
            elif len(self._threads) < self.size:
                self._queued.append(job)  # watched: it may wait for a thread that is only waiting
                if self._check is None or self._check_loop is not loop:  # none pending on this loop
                    self._check_loop = loop
                    self._check_from = (time.monotonic(), self._demand())
                    self._check = loop.call_later(CHECK_S, self._grow_if_waiting)

    def _grow_if_waiting(self) -> None:
        """Jobs still queued: start a thread if the process left the CPU idle meanwhile (its threads are
        waiting, not computing) or a job has waited ``STARVED_S``; check again while jobs wait."""
        self._check = None
        waiting = self._jobs.qsize() - self._idle
        if waiting <= 0 or len(self._threads) >= self.size:
            self._queued.clear()
            return
        started, cpu = self._check_from
        now = time.monotonic()
        spent = self._demand()
        busy = (spent - cpu) / max(now - started, 1e-6)
        if busy < BUSY_CPU or (now - self._oldest_wait(now) >= STARVED_S and self._all_held(now)):
            self._start()
        self._check_from = (now, spent)
        self._check = asyncio.get_running_loop().call_later(CHECK_S, self._grow_if_waiting)

    def _demand(self) -> float:
        """Seconds the pool's threads and the event loop's have spent running or ready to run (waiting
        for a CPU): a pool whose jobs wait while this grows at wall-clock pace is computing (or the loop
        is), and one more thread would only queue for the GIL; one whose threads sleep in I/O is not. The
        run-queue wait counts so that a machine too loaded to give the server a whole CPU does not make
        busy threads look idle. Linux's per-thread schedstat; elsewhere the process's CPU time."""
        if not _SCHEDSTAT:
            return time.process_time()
        with self._lock:
            tids = [*self._tids, threading.get_native_id()]
        total = 0
        for tid in tids:
            try:
                with open(f"/proc/self/task/{tid}/schedstat", "rb") as stat:
                    running, waiting, _ = stat.read().split()
            except (OSError, ValueError):  # the thread just ended
                continue
            total += int(running) + int(waiting)
        return total / 1e9

    def _all_held(self, now: float) -> bool:
        """Every thread has been on its current job for ``STARVED_S``: handlers that spin or hang, which a
        thread more gets past. (A long queue of short jobs on a saturated CPU is not that: more threads
        would only queue for the GIL, and each hand-over costs a wake-up.)"""
        with self._lock:
            started = list(self._started.values())
        return len(started) >= len(self._threads) and all(now - t >= STARVED_S for t in started)

    def _oldest_wait(self, now: float) -> float:
        """When the oldest job no thread has taken yet was queued (``now`` if there is none). Jobs are
        taken in queue order, so the taken ones are dropped from the front (only the loop touches it)."""
        queued = self._queued
        while queued and queued[0][6]:
            queued.popleft()
        return queued[0][5] if queued else now

    def close(self) -> None:
        """Let every thread finish its job in hand and exit."""
        if self._check is not None:
            self._check.cancel()
            self._check = None
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)

    def _start(self) -> None:
        with self._lock:
            if len(self._threads) >= self.size:
                return
            thread = threading.Thread(target=self._work, name=f"strato-handler-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _retire(self) -> bool:
        """Whether this idle thread should end: the pool is past ``core`` (it leaves the list now)."""
        with self._lock:
            me = threading.current_thread()
            if len(self._threads) <= self.core or me not in self._threads:
                return False
            self._threads.remove(me)
            self._idle -= 1
            return True

    def _work(self) -> None:
        me = threading.get_native_id()
        with self._lock:
            self._tids.add(me)
        try:
            self._serve()
        finally:
            with self._lock:
                self._tids.discard(me)

    def _serve(self) -> None:
        me = threading.get_ident()
        while True:
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                if self._retire():
                    return
                with self._lock:
                    self._idle -= 1
                continue
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            context, fn, args, loop, future, _, _ = job
            job[6] = True
            self._started[me] = time.monotonic()
            if future is None:  # submitted: nobody waits for the result
                try:
                    context.run(fn, *args)
                except BaseException:  # logged, and the thread goes on serving (nobody else would see it)
                    log.exception("a job on strato dev's handler threads failed")
                finally:
                    self._started.pop(me, None)
                del job
                continue
            try:
                result = context.run(fn, *args)
            except BaseException as exc:  # handed to the awaiting request, as the handler raised it
                outcome: tuple[Any, ...] = (_fail, future, exc)
            else:
                outcome = (_succeed, future, result)
            finally:
                self._started.pop(me, None)
            try:
                loop.call_soon_threadsafe(*outcome)
            except RuntimeError:  # the loop closed while the handler ran
                pass
            del job, future, outcome


#: per-thread run and run-queue times (Linux with scheduler statistics)
_SCHEDSTAT = os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat")


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
