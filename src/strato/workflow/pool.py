"""The threads Task states run on: one bounded pool per app (``ProviderServices.shared``, so closed with the
app). A round's tasks are handed over as one batch (a queue entry each, one event for the whole batch),
lighter than a ``concurrent.futures`` Future (a Condition) per task; threads start as needed, up to
``TASK_THREADS``, and wait for work when idle."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

TASK_THREADS = 256  # Task states of an app's workflows running at once, at most


class _Batch:
    __slots__ = ("done", "errors", "left", "lock", "results")

    def __init__(self, size: int) -> None:
        self.results: list[Any] = [None] * size
        self.errors: list[BaseException | None] = [None] * size
        self.left = size
        self.lock = threading.Lock()
        self.done = threading.Event()

    def finish(self) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            self.done.set()


class TaskPool:
    def __init__(self, size: int = TASK_THREADS) -> None:
        self.size = size
        self.jobs: queue.SimpleQueue[tuple[Callable[[Any], Any], Any, int, _Batch] | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.idle = 0
        self.closed = False

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``fn`` of each item, at once: the first in this thread, the others on the pool; in order. An
        exception of ``fn`` is raised here (the first one, once all have ended)."""
        if self.closed:
            raise RuntimeError("the workflow task pool is closed")
        batch = _Batch(len(items) - 1)
        for index in range(1, len(items)):
            self._start_if_needed()
            self.jobs.put((fn, items[index], index - 1, batch))
        first = fn(items[0])
        if batch.left:
            batch.done.wait()
        for error in batch.errors:
            if error is not None:
                raise error
        return [first, *batch.results]

    def _start_if_needed(self) -> None:
        with self.lock:
            if self.idle > 0:
                self.idle -= 1  # that one takes this job
                return
            if len(self.threads) >= self.size:
                return  # the job waits for a thread to be free
            thread = threading.Thread(target=self._work, name=f"strato-workflow-task-{len(self.threads)}", daemon=True)
            self.threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            fn, item, index, batch = job
            try:
                batch.results[index] = fn(item)
            except BaseException as exc:
                batch.errors[index] = exc
            batch.finish()
            with self.lock:
                self.idle += 1

    def close(self) -> None:
        with self.lock:
            self.closed = True
            threads = list(self.threads)
        for _ in threads:
            self.jobs.put(None)
