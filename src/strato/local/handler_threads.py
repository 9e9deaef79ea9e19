"""The threads ``strato dev`` runs synchronous handlers on.

anyio's ``run_in_threadpool`` (what Starlette uses) costs about 45 µs a call in hand-offs; this pool
takes a job from the event loop with one queue put and hands the result back with one
``call_soon_threadsafe`` (about 12 µs). Threads start on demand up to ``size``: a few more than the
cores, since handlers mostly wait on I/O, but not anyio's 40, whose GIL contention under load costs
more in tail latency than it gains. Threads are daemons, so a handler stuck past its timeout never
holds up the server's exit; its late result is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

DEFAULT_SIZE = 16


def default_size() -> int:
    """``STRATO_DEV_THREADS`` if set, else ``DEFAULT_SIZE``."""
    raw = os.environ.get("STRATO_DEV_THREADS", "")
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_SIZE


class HandlerThreads:
    """``await pool.run(fn, *args)``: fn(*args) on a pool thread, in a copy of the caller's context."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or default_size()
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """A future of fn(*args); cancelling it (a timeout) leaves the thread to finish and drops its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((contextvars.copy_context(), fn, args, loop, future))
        if self._jobs.qsize() > self._idle and len(self._threads) < self.size:  # no thread free for it
            self._start()
        return future

    def close(self) -> None:
        """Let every thread finish its job in hand and exit."""
        for _ in self._threads:
            self._jobs.put(None)
        self._threads.clear()

    def _start(self) -> None:
        with self._lock:
            if len(self._threads) >= self.size:
                return
            thread = threading.Thread(target=self._work, name=f"strato-handler-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            context, fn, args, loop, future = job
            try:
                result = context.run(fn, *args)
            except BaseException as exc:  # handed to the awaiting request, as the handler raised it
                outcome: tuple[Any, ...] = (_fail, future, exc)
            else:
                outcome = (_succeed, future, result)
            try:
                loop.call_soon_threadsafe(*outcome)
            except RuntimeError:  # the loop closed while the handler ran
                pass
            del job, future, outcome


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
