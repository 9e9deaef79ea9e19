"""Billable operations counted while an app runs locally, for ``strato cost``.

Counters live in memory (an increment is a dict update under a lock) and are added to
``usage.db`` every few seconds and at exit, so `strato dev` and `strato worker` both contribute.
Nothing is counted inside Lambda: AWS bills that.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import defaultdict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Protocol
else:  # a Lambda handles events with OFF: typing (for a Protocol nothing checks at run time) stays unloaded
    Protocol = object

FLUSH_EVERY_S = 2.0


class Counter(Protocol):
    """What providers and dispatchers count billable units with (a no-op on AWS)."""

    def add(self, service: str, unit: str, amount: float = 1) -> None: ...
    def flush(self) -> None: ...


class Usage:
    def __init__(self, data_dir: Path) -> None:
        from pathlib import Path

        self.path = Path(data_dir) / "usage.db"
        self.counts: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()
        self._timer: threading.Timer | None = None
        atexit.register(self.flush)

    def add(self, service: str, unit: str, amount: float = 1) -> None:
        with self.lock:
            self.counts[(service, unit)] += amount
            due = time.monotonic() - self.last_flush > FLUSH_EVERY_S
            if not due and self._timer is None:  # counts reach usage.db within FLUSH_EVERY_S, idle or not
                self._timer = threading.Timer(FLUSH_EVERY_S, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            pending, self.counts = self.counts, defaultdict(float)
            self.last_flush = time.monotonic()
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if not pending:
            return
        import sqlite3  # only where counting is on: Lambda cold starts never load it

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS usage (service TEXT, unit TEXT, amount REAL, "
                    "PRIMARY KEY (service, unit))"
                )
                conn.executemany(
                    "INSERT INTO usage VALUES (?, ?, ?) ON CONFLICT (service, unit) DO UPDATE SET "
                    "amount = amount + excluded.amount",
                    [(s, u, a) for (s, u), a in pending.items()],
                )
            conn.close()
        except sqlite3.Error:  # counting must never break the app; the counts are lost, not the data
            pass


def read(data_dir: Path) -> dict[tuple[str, str], float]:
    import sqlite3
    from pathlib import Path

    path = Path(data_dir) / "usage.db"
    if not path.exists():
        return {}
    conn = sqlite3.connect(path)
    try:
        return {(s, u): a for s, u, a in conn.execute("SELECT service, unit, amount FROM usage")}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def reset(data_dir: Path) -> None:
    from pathlib import Path

    path = Path(data_dir) / "usage.db"
    if path.exists():
        path.unlink()


class _Off:
    def add(self, service: str, unit: str, amount: float = 1) -> None:
        pass

    def flush(self) -> None:
        pass


OFF = _Off()
