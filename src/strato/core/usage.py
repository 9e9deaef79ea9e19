"""Billable operations counted while an app runs locally, for ``strato cost``.

Counters live in memory (an increment is one deque append, no lock) and are added to
``usage.db`` every few seconds and at exit, so `strato dev` and `strato worker` both contribute.
Nothing is counted inside Lambda: AWS bills that.
"""

from __future__ import annotations

import atexit
import threading
from collections import defaultdict, deque

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
        self.pending: deque[tuple[str, str, float]] = deque()  # counted, not yet in usage.db
        self.lock = threading.Lock()
        self._timer: threading.Timer | None = None
        atexit.register(self.flush)

    def add(self, service: str, unit: str, amount: float = 1) -> None:
        # on every table read and write, so no lock here: deque.append is atomic, and flush() drains
        # what was appended; the timer armed by the first count after a flush brings the counts to
        # usage.db within FLUSH_EVERY_S, busy or idle
        self.pending.append((service, unit, amount))
        if self._timer is None:
            self._arm()

    def _arm(self) -> None:
        with self.lock:
            if self._timer is None:
                self._timer = threading.Timer(FLUSH_EVERY_S, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self.lock:
            # clear the timer before draining: an add() that saw the old timer appended before the
            # drain below, and one that sees None arms a new timer for what it appends
            timer, self._timer = self._timer, None
            pending: defaultdict[tuple[str, str], float] = defaultdict(float)
            while self.pending:
                service, unit, amount = self.pending.popleft()
                pending[(service, unit)] += amount
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
