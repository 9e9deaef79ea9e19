"""The local span store: ``traces.db`` in the data directory, a ring buffer of the last N spans.

Spans are handed over in memory (their fields are appended to one flat list: no lock, no I/O and no
object per span the garbage collector must visit on the request's path) and written by one background
thread, a batch at a time: each batch is one row holding its spans as one ``marshal`` blob (the flat list
of their fields; several times cheaper to write and read than JSON), numbered
``first``..``last`` (a span's ``seq``), so writing costs one C-level encode per batch rather than a row,
a bind and an index entry per span. The file is the app's own local data, like every file beside it; a
batch this Python cannot read (written by a newer one) is skipped. Batches that fell wholly out of the ring
(``STRATO_TRACE_SPANS``, 10,000 by default) are deleted; reads never show a span older than the ring.
``strato dev`` and ``strato worker`` write the same file (numbering is taken inside the write
transaction); each store's thread notices the other process's batches as it notices its own and tells
its subscribers, so a console can push every new span live.
"""

from __future__ import annotations

import marshal
import operator
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..core.errors import ValidationError
from ..runtime.sqlite import Database
from .span import SLOTS, Span, pairs
from .tracer import Tracer

DEFAULT_CAPACITY = 10_000
PAGE_SIZE = 16384
FLUSH_EVERY_S = 0.1  # the writer's pace: spans reach the file (and subscribers) within about this
SCHEMA = """
CREATE TABLE IF NOT EXISTS span_blobs (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, spans BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS span_blobs_last ON span_blobs (last);
"""

Listener = Callable[[list[Span]], None]
_row = operator.attrgetter(*SLOTS)  # a finished span's stored fields, as ``Tracer.finish`` records them


def capacity_from_env() -> int:
    raw = os.environ.get("STRATO_TRACE_SPANS", "")
    if not raw:
        return DEFAULT_CAPACITY
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError(f"STRATO_TRACE_SPANS must be a positive whole number of spans, got {raw!r}")
    return int(raw)


WIDTH = len(SLOTS)  # fields a span takes in the flat list


def _encode(flat: list[Any]) -> bytes:
    try:
        return marshal.dumps(flat)
    except ValueError:  # an attribute value marshal cannot write: keep its text
        plain = list(flat)
        for at in range(WIDTH - 1, len(plain), WIDTH):
            plain[at] = {k: _plain(v) for k, v in _details(plain[at]).items()}
        return marshal.dumps(plain)


def _details(attributes: Any) -> dict[str, Any]:
    """A record's attributes as a dict (None, a dict, or the flat tuple ``Span.attributes`` explains)."""
    if not attributes:
        return {}
    return attributes if isinstance(attributes, dict) else pairs(attributes)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _spans(first: int, blob: bytes) -> Iterator[Span]:
    """The spans of one stored batch, with their positions."""
    try:
        flat = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return
    if flat and isinstance(flat[0], tuple):  # a batch written before 2026-12 held a tuple a span
        flat = [field for row in flat for field in row]
    for offset, at in enumerate(range(0, len(flat) - WIDTH + 1, WIDTH)):
        span = Span(*flat[at : at + WIDTH])
        span.seq = first + offset
        yield span


class SpanStore:
    """Spans of this data directory. Writers call ``add`` (the tracer's sink); readers call ``recent``,
    ``trace``, ``since`` and ``subscribe``. ``close`` writes what is pending and stops the thread."""

    def __init__(self, data_dir: Path | str, capacity: int | None = None, flush_every: float = FLUSH_EVERY_S) -> None:
        self.capacity = capacity_from_env() if capacity is None else capacity
        if self.capacity < 1:
            raise ValidationError("a span store keeps at least 1 span")
        # a batch is one blob (about 150 bytes a span) stored as a chain of overflow pages: 16 KB pages
        # make the chain a quarter as long, and the pages a dropped batch frees go back unzeroed (Debian's
        # SQLite zeroes them by default; spans are diagnostics). Writing 650 KB batches into a ring of
        # three: 0.54 µs a span with 4 KB pages and zeroing, 0.20 µs without either (same machine).
        self.db = Database(Path(data_dir) / "traces.db", page_size=PAGE_SIZE, pragmas=("PRAGMA secure_delete=OFF",))
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        self.flush_every = flush_every
        # the fields of spans not written yet, WIDTH a span (``list.extend``: atoms a collection never
        # visits, where a tuple a span was visited until written). A flood the writer cannot keep up with
        # loses its oldest spans at the next write: what waits is at most what arrives between two writes.
        self._pending: list[Any] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # one flush at a time (the thread, or a caller's flush())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = self.last_seq()

    # -- writing --------------------------------------------------------------------------------
    def add(self, span: Span) -> None:
        """Hand one finished span over (a tracer's sink): its fields wait in a list (no lock, no I/O on the
        request's path) for the writer thread. ``attach`` is the faster way for a tracer of this store."""
        self.record(_row(span))

    def attach(self, tracer: Tracer) -> None:
        """Make ``tracer`` hand its finished spans' fields straight to this store (``Tracer.record``)."""
        tracer.record = self.record

    @property
    def record(self) -> Callable[[tuple[Any, ...]], None]:
        """The list's own ``extend``, once the writer runs: what a tracer calls with a span's fields."""
        if self._thread is None:
            self.start()
        return self._pending.extend

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
            pending = self._pending
            taken = len(pending) - len(pending) % WIDTH  # whole spans (an extend is atomic: always all)
            batch = pending[:taken]  # copied and cut in C; spans added meanwhile go after these
            del pending[:taken]
            if len(batch) > self.capacity * WIDTH:  # a flood: the ring would drop the oldest anyway
                del batch[: len(batch) - self.capacity * WIDTH]
            if batch:
                self._write(batch)
            if self._listeners:
                self._tell()
            return len(batch) // WIDTH

    def _write(self, batch: list[Any]) -> None:
        blob = _encode(batch)
        with self.db.write() as conn:  # BEGIN IMMEDIATE: another process's batch cannot take our numbers
            first = int(conn.execute("SELECT coalesce(max(last), 0) FROM span_blobs").fetchone()[0]) + 1
            last = first + len(batch) // WIDTH - 1
            conn.execute("INSERT INTO span_blobs (first, last, spans) VALUES (?, ?, ?)", (first, last, blob))
            conn.execute("DELETE FROM span_blobs WHERE last <= ?", (last - self.capacity,))

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
        return int(self.db.conn.execute("SELECT coalesce(max(last), 0) FROM span_blobs").fetchone()[0])

    def _floor(self) -> int:
        """Spans at or below this position have left the ring (their batch may not be deleted yet)."""
        return self.last_seq() - self.capacity

    def recent(self, limit: int = 100, before: int | None = None) -> list[Span]:
        """The newest spans first, ``limit`` of them; ``before``: only spans older than that ``seq``
        (the ``seq`` of the last span of the previous page)."""
        limit = _limit(limit)
        floor = self._floor()
        ceiling = before if before is not None else self.last_seq() + 1
        out: list[Span] = []
        rows = self.db.conn.execute(
            "SELECT first, spans FROM span_blobs WHERE first < ? AND last > ? ORDER BY first DESC", (ceiling, floor)
        )
        for first, blob in rows:
            out += [s for s in reversed(list(_spans(first, blob))) if floor < s.seq < ceiling][: limit - len(out)]
            if len(out) >= limit:
                break
        return out

    def trace(self, trace_id: str) -> list[Span]:
        """Every kept span of one trace, earliest start first (empty when none is kept)."""
        if not isinstance(trace_id, str) or not trace_id:
            raise ValidationError("trace_id must be an X-Ray trace id such as 1-5759e988-bd862e3fe1be46a994272793")
        floor = self._floor()
        rows = self.db.conn.execute(  # instr() in C picks the batches that mention it; only those are decoded
            "SELECT first, spans FROM span_blobs WHERE last > ? AND instr(spans, ?) > 0 ORDER BY first",
            (floor, trace_id.encode()),  # marshal keeps an ASCII string's bytes as they are
        )
        found = [s for first, blob in rows for s in _spans(first, blob) if s.trace_id == trace_id and s.seq > floor]
        return sorted(found, key=lambda s: (s.start, s.seq))

    def since(self, seq: int, limit: int = 1000) -> list[Span]:
        """Spans stored after position ``seq``, oldest first: a reader's catch-up after a reconnect."""
        limit = _limit(limit, 100_000)
        after = max(seq, self._floor())
        out: list[Span] = []
        for first, blob in self.db.conn.execute(
            "SELECT first, spans FROM span_blobs WHERE last > ? ORDER BY first", (after,)
        ):
            out += [s for s in _spans(first, blob) if s.seq > after][: limit - len(out)]
            if len(out) >= limit:
                break
        return out

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
