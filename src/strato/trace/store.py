"""The local span store: ``traces.db`` in the data directory, a ring buffer of the last N spans.

Spans are handed over in memory (``add`` appends to a deque: no lock, no I/O on the request's path)
and written in batches by one background thread, which also deletes what falls out of the ring
(``STRATO_TRACE_SPANS``, 10,000 by default). ``strato dev`` and ``strato worker`` write the same file;
each store's thread notices the other process's commits (SQLite's ``data_version``) and tells its
subscribers about them as it tells them about its own, so a console can push every new span live.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ValidationError
from ..runtime.sqlite import Database
from .span import Span

DEFAULT_CAPACITY = 10_000
FLUSH_EVERY_S = 0.1  # the writer's pace: spans reach the file (and subscribers) within about this
COLUMNS = "seq, trace_id, span_id, parent_id, kind, resource, handler, outcome, start, duration, error, attributes"
SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT,
    kind TEXT NOT NULL, resource TEXT NOT NULL, handler TEXT NOT NULL, outcome TEXT NOT NULL,
    start REAL NOT NULL, duration REAL NOT NULL, error TEXT, attributes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id, start);
"""

Listener = Callable[[list[Span]], None]
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode  # one encoder, not one per span


def capacity_from_env() -> int:
    raw = os.environ.get("STRATO_TRACE_SPANS", "")
    if not raw:
        return DEFAULT_CAPACITY
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError(f"STRATO_TRACE_SPANS must be a positive whole number of spans, got {raw!r}")
    return int(raw)


def _row(row: tuple[Any, ...]) -> Span:
    seq, *fields, attributes = row
    return Span(*fields, attributes=json.loads(attributes) if attributes != "{}" else {}, seq=seq)


class SpanStore:
    """Spans of this data directory. Writers call ``add`` (the tracer's sink); readers call ``recent``,
    ``trace``, ``since`` and ``subscribe``. ``close`` writes what is pending and stops the thread."""

    def __init__(self, data_dir: Path | str, capacity: int | None = None, flush_every: float = FLUSH_EVERY_S) -> None:
        self.capacity = capacity_from_env() if capacity is None else capacity
        if self.capacity < 1:
            raise ValidationError("a span store keeps at least 1 span")
        self.db = Database(Path(data_dir) / "traces.db")
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        self.flush_every = flush_every
        # bounded: a flood the writer cannot keep up with loses its oldest spans, never the app's memory
        self._pending: deque[Span] = deque(maxlen=self.capacity)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # one flush at a time (the thread, or a caller's flush())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self.last_seq()
        self._pruned = 0  # spans up to this seq are deleted (the ring keeps at most capacity + 2 %)

    # -- writing --------------------------------------------------------------------------------
    def add(self, span: Span) -> None:
        """Hand one finished span over (the tracer's sink): an append; the thread writes it."""
        self._pending.append(span)
        if self._thread is None:
            self.start()

    def start(self) -> SpanStore:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="strato-span-writer", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.flush_every):
            try:
                self.flush()
            except sqlite3.Error:  # a locked or vanished file must not end tracing for the process
                import logging

                logging.getLogger("strato.trace").exception("could not write spans; will retry")

    def flush(self) -> int:
        """Write every pending span now and tell subscribers (also what they missed from other
        processes); returns how many spans this call wrote."""
        with self._lock:
            batch = []
            while self._pending:
                batch.append(self._pending.popleft())
            if batch:
                self._write(batch)
            if self._listeners:
                self._tell()
            return len(batch)

    def _write(self, batch: list[Span]) -> None:
        rows = [
            (
                s.trace_id,
                s.span_id,
                s.parent_id,
                s.kind,
                s.resource,
                s.handler,
                s.outcome,
                s.start,
                s.duration,
                s.error,
                _encode(s.attributes) if s.attributes else "{}",
            )
            for s in batch
        ]
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO spans (trace_id, span_id, parent_id, kind, resource, handler, outcome, start, duration, "
                "error, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            last = conn.execute("SELECT max(seq) FROM spans").fetchone()[0]
            if last - self.capacity >= self._pruned + self.capacity // 50:  # a delete per 2 % of the ring
                conn.execute("DELETE FROM spans WHERE seq <= ?", (last - self.capacity,))
                self._pruned = last - self.capacity

    def _tell(self) -> None:
        """Tell subscribers about spans stored since they last heard, whoever wrote them (one indexed
        ``max(seq)`` per flush: other processes' commits show up the same way as ours)."""
        if self.last_seq() <= self._seen:
            return
        fresh = self.since(self._seen, limit=self.capacity)
        if not fresh:
            return
        self._seen = fresh[-1].seq
        for listener in list(self._listeners):
            try:
                listener(fresh)
            except Exception:
                import logging

                logging.getLogger("strato.trace").exception("span subscriber failed")

    # -- reading --------------------------------------------------------------------------------
    def last_seq(self) -> int:
        """The position of the newest stored span (0: none yet)."""
        return int(self.db.conn.execute("SELECT coalesce(max(seq), 0) FROM spans").fetchone()[0])

    def recent(self, limit: int = 100, before: int | None = None) -> list[Span]:
        """The newest spans first, ``limit`` of them; ``before``: only spans older than that ``seq``
        (the ``seq`` of the last span of the previous page)."""
        limit = _limit(limit)
        sql = f"SELECT {COLUMNS} FROM spans"
        args: tuple[Any, ...] = (limit,)
        if before is not None:
            sql += " WHERE seq < ?"
            args = (before, limit)
        rows = self.db.conn.execute(sql + " ORDER BY seq DESC LIMIT ?", args).fetchall()
        return [_row(r) for r in rows]

    def trace(self, trace_id: str) -> list[Span]:
        """Every stored span of one trace, earliest start first (empty when none is kept)."""
        rows = self.db.conn.execute(
            f"SELECT {COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start, seq", (trace_id,)
        ).fetchall()
        return [_row(r) for r in rows]

    def since(self, seq: int, limit: int = 1000) -> list[Span]:
        """Spans stored after position ``seq``, oldest first: a reader's catch-up after a reconnect."""
        rows = self.db.conn.execute(
            f"SELECT {COLUMNS} FROM spans WHERE seq > ? ORDER BY seq LIMIT ?", (seq, _limit(limit, 100_000))
        ).fetchall()
        return [_row(r) for r in rows]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(spans)`` (on the writer thread; keep it quick, e.g. hand over to an event loop
        with ``call_soon_threadsafe``) with each batch of new spans, this process's and others'; returns
        the function that unsubscribes."""
        with self._lock:
            self._seen = max(self._seen, self.last_seq())
            self._listeners.append(listener)
        self.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5.0)
        try:
            self.flush()
        finally:
            self.db.close()


def _limit(limit: Any, high: int = 10_000) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= high:
        raise ValidationError(f"limit must be a whole number from 1 to {high}, got {limit!r}")
    return limit
