"""SQLite files shared by the local providers (and by two processes: `strato dev` + `strato worker`).

WAL mode lets readers run beside one writer; a busy timeout makes a second process wait for
the write lock instead of failing. ``durability="process"`` (synchronous=NORMAL) means a commit
that returned survives the process being killed; ``"power"`` (synchronous=FULL) also survives
power loss, at the cost of an fsync per commit.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")

# sqlite3 binds an exact int, float or str as it is, but looks any other parameter up as an adapter
# first, and that failed lookup raises and clears two AttributeErrors (``__adapt__``, ``__conform__``)
# per parameter: for the bytes of every table key and every NULL it cost more than the statement. An
# identity adapter each (C callables: ``bytes(b)`` is ``b``, ``{}.get(None)`` is None, ``int(True)`` is 1,
# what sqlite3 binds for a bool anyway) makes them bind as directly as the rest, for every local provider.
sqlite3.register_adapter(bytes, bytes)
_same_none: Any = {}.get  # a C callable giving None for None
sqlite3.register_adapter(type(None), _same_none)
sqlite3.register_adapter(bool, int)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying: two processes opening a new file race here and SQLite does not
    apply the busy timeout to a journal-mode change."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class Database:
    """One SQLite file; a connection per thread, explicit write transactions."""

    def __init__(
        self, path: Path, durability: str = "process", pragmas: tuple[str, ...] = (), page_size: int | None = None
    ) -> None:
        self.path = Path(path)
        self.pragmas = pragmas  # run once on each new connection (not before every statement)
        self.page_size = page_size  # for a new file only (SQLite fixes it once the file is in WAL mode)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.synchronous = "FULL" if durability == "power" else "NORMAL"
        self._local = threading.local()
        self._lock = threading.Lock()
        # writers of this process queue here: SQLite's busy handler would make them sleep 1, 2, 5... ms
        # and poll, while a lock hands over the moment the writer before commits
        self._writer = threading.RLock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._group = _GroupCommit(self)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            if self.page_size is not None:
                conn.execute(f"PRAGMA page_size={int(self.page_size)}")
            _enable_wal(conn)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            for pragma in self.pragmas:
                conn.execute(pragma)
            self._local.conn = conn
            with self._lock:
                self._connections = [*self._forget_ended(), (threading.current_thread(), conn)]
        return conn

    def _forget_ended(self) -> list[tuple[threading.Thread, sqlite3.Connection]]:
        """Close the connections of threads that ended (thread pools come and go: a reload of
        ``strato dev`` starts new ones); the others, still in use, are returned."""
        alive = []
        for thread, conn in self._connections:
            if thread.is_alive():
                alive.append((thread, conn))
            else:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        return alive

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE takes the lock up front, so no upgrade deadlocks."""
        conn = self.conn
        # past the busy timeout, go on anyway: BEGIN IMMEDIATE then fails as it always did ("locked")
        queued = self._writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if queued:
                self._writer.release()

    def grouped(self, sql: str, params: tuple) -> int:
        """One write statement, committed together with those other threads run meanwhile (one commit for
        many, as a relay's per-message puts are): returns its rowcount once it is committed."""
        return int(self._group.run(_Slot(lambda conn: conn.execute(sql, params).rowcount, statement=True)))

    def together(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(conn)`` in a write transaction shared with the work other threads hand in meanwhile, each
        in a savepoint of its own (one that raises is undone alone, and raises in its caller); returns once
        committed. A burst of writers (twenty ingest calls at once) then takes one lock hand-over and one
        commit instead of twenty: under load each hand-over waited for the GIL, and the queue grew with them.
        ``work`` runs in its caller's context (contextvars) but maybe on another thread, so it must touch
        the database only through ``conn``."""
        return cast(T, self._group.run(_Slot(work, statement=False, context=contextvars.copy_context())))

    def close(self) -> None:
        with self._lock:
            for _, conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()


class _Slot:
    __slots__ = ("context", "done", "error", "result", "statement", "work")

    def __init__(
        self,
        work: Callable[[sqlite3.Connection], Any],
        statement: bool,
        context: contextvars.Context | None = None,
    ) -> None:
        self.work, self.statement, self.context = work, statement, context
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, conn: sqlite3.Connection) -> Any:
        return self.work(conn) if self.context is None else self.context.run(self.work, conn)


class _GroupCommit:
    """Group commit without a thread of its own: a writer that finds no commit under way leads one, taking
    every statement or piece of work queued by then into one transaction (a statement alone autocommits);
    the others wait for it and are answered with their own result or error. A failed statement is undone
    alone (SQLite undoes a statement atomically), a piece of work that raises is rolled back to its own
    savepoint; a commit that fails fails them all."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cv = threading.Condition()
        self._queue: list[_Slot] = []
        self._leading = False

    def run(self, slot: _Slot) -> Any:
        if self.db.conn.in_transaction:  # inside this thread's own transaction: part of it, not of a group
            return slot.run(self.db.conn)
        with self._cv:
            self._queue.append(slot)
            while self._leading and not slot.done:
                self._cv.wait()
            if not slot.done:
                self._leading = True
                batch, self._queue = self._queue, []
        if not slot.done:
            try:
                self._commit(batch)
            finally:
                with self._cv:
                    for queued in batch:
                        queued.done = True
                    self._leading = False
                    self._cv.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _commit(self, batch: list[_Slot]) -> None:
        try:
            if len(batch) == 1 and batch[0].statement:
                batch[0].result = batch[0].run(self.db.conn)
                return
            with self.db.write() as conn:
                if len(batch) == 1:  # alone: the transaction is its own, no savepoint needed
                    batch[0].result = batch[0].run(conn)
                    return
                for queued in batch:
                    if queued.statement:
                        try:
                            queued.result = queued.run(conn)
                        except sqlite3.Error as exc:
                            queued.error = exc
                        continue
                    conn.execute("SAVEPOINT strato_group")
                    try:
                        queued.result = queued.run(conn)
                    except BaseException as exc:
                        conn.execute("ROLLBACK TO strato_group")
                        queued.error = exc
                    conn.execute("RELEASE strato_group")
        except BaseException as exc:
            for queued in batch:
                queued.error = queued.error or exc
