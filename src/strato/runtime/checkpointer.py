"""WAL checkpoints off the request path, for a SQLite file written by short hot transactions.

SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past 1,000 pages: that
commit copies every page changed since the last checkpoint back into the database file and fsyncs
it. On a deep queue those pages are scattered, and one send or receive in ~70 took 5-10 ms (the
receive p99). Here a background thread checkpoints (PASSIVE: it never blocks a reader or the
writer) on its own connection, so request threads do no checkpoint work; their automatic
checkpoint stays on at a much larger size only as a backstop, should this thread fall behind.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

BACKSTOP_PAGES = 20_000  # the request connections' own automatic checkpoint (80 MB of WAL at 4 KB pages)
INTERVAL_S = 0.2  # a checkpoint every 0.2 s copies a page changed 100 times once, and fsyncs 5 times a second


class Checkpointer:
    """A daemon thread that checkpoints ``path`` every ``interval`` seconds."""

    def __init__(self, path: Path, interval: float | None = None) -> None:
        self.path = Path(path)
        self.interval = INTERVAL_S if interval is None else interval  # read now: a benchmark may set it
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread unless it runs (the store's first connection calls this)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(
                    target=self._run, args=(self._stop,), name=f"checkpoint:{self.path.name}", daemon=True
                )
                thread.start()
                self._thread = thread

    def _run(self, stop: threading.Event) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=1.0)
        try:
            while not stop.wait(self.interval):
                try:  # nothing to copy costs a look at the WAL index, no I/O
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # busy or closing: the next round (or the backstop) checkpoints
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop the thread (its connection closes with it); a later ``start`` makes a new one."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        with self._lock:
            self._thread, self._stop = None, threading.Event()
