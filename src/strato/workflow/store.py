"""Where local executions live: one SQLite file in the data dir shared by ``strato dev``, ``strato worker``
and tests (WAL, a connection per thread: ``strato.runtime.sqlite``).

``executions`` is DescribeExecution; ``events`` is GetExecutionHistory, appended in the same transaction
as the move it records; ``frames`` is where each running thread of control stands (the execution itself,
a Parallel branch, a Map iteration): its state, input, due time (a Wait or a retry back-off is a due time,
not a sleeping thread) and the worker holding it. A worker that dies leaves its claims behind; the next one
takes them over (the owner's process is gone, or its lease ran out) and runs that state again from the
recorded input, so each transition is recorded exactly once.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..runtime.sqlite import Database
from .dataflow import encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY, workflow TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT,
    started REAL NOT NULL, stopped REAL, seq INTEGER NOT NULL DEFAULT 0, transitions INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workflow, name)
);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (workflow, status, started);
CREATE TABLE IF NOT EXISTS events (
    arn TEXT NOT NULL, id INTEGER NOT NULL, previous INTEGER NOT NULL, ts REAL NOT NULL, type TEXT NOT NULL,
    details TEXT NOT NULL, PRIMARY KEY (arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL, workflow TEXT NOT NULL, parent INTEGER, slot INTEGER NOT NULL,
    state TEXT NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL, due REAL NOT NULL, phase TEXT NOT NULL,
    retries TEXT NOT NULL DEFAULT '{}', result TEXT, entered REAL NOT NULL,
    owner TEXT, lease REAL NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    vars TEXT
);
CREATE INDEX IF NOT EXISTS frames_due ON frames (workflow, status, due);
CREATE INDEX IF NOT EXISTS frames_children ON frames (parent, status, slot);
"""

LEASE = 60.0  # seconds a claim stands without its owner's process being seen gone
FRAME_COLUMNS = (
    "id, arn, workflow, parent, slot, state, input, status, due, phase, retries, result, entered, version, "
    "pending, running, failed, vars"
)
_FRAME_NAMES = tuple(c.strip() for c in FRAME_COLUMNS.split(","))


_BATCHING = threading.local()  # per thread: the appends of the transaction being recorded


class WorkflowStore:
    def __init__(self, data_dir: Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "workflows.sqlite", durability)
        self._writing = threading.Lock()
        with self.write() as conn:
            from .callbacks import SCHEMA as CALLBACKS
            from .express import SCHEMA as EXPRESS

            for statement in (SCHEMA + ";" + CALLBACKS + ";" + EXPRESS).split(";"):
                if statement.strip():
                    conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(frames)")}
            if "vars" not in columns:  # a data dir from before variables: the scope's variables (JSON)
                conn.execute("ALTER TABLE frames ADD COLUMN vars TEXT")
            if "trace" not in {row[1] for row in conn.execute("PRAGMA table_info(executions)")}:
                conn.execute("ALTER TABLE executions ADD COLUMN trace TEXT")  # the starter's X-Amzn-Trace-Id
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        self._swept_owners = 0.0

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken in turn by this process's threads: SQLite's own busy handler would
        make them poll with sleeps of up to 100 ms, so a loaded worker spent its time waiting for the lock
        (other processes, e.g. ``strato dev`` beside ``strato worker``, still meet at SQLite's lock)."""
        with self._writing, self.db.write() as conn:
            yield conn

    # -- events ---------------------------------------------------------------------------------
    @staticmethod
    def append(
        conn: sqlite3.Connection,
        arn: str,
        events: list[tuple[str, dict[str, Any]]],
        now: float,
        transitions: int = 0,
    ) -> None:
        """Append events (type, details) to ``arn``'s history, counting ``transitions``: at once, or at the
        end of the transaction when this thread is recording a batch (:meth:`batch`) — static, so the
        callback and nested-execution modules writing in the executor's transaction keep the order too."""
        pending = getattr(_BATCHING, "pending", None)
        if pending is not None:
            pending.append((arn, events, now, transitions))
            return
        if not WorkflowStore.flush(conn, [(arn, events, now, transitions)]):
            from .executor import Lost

            raise Lost()  # the execution is gone (dropped)

    @staticmethod
    @contextmanager
    def batch() -> Iterator[list[Any]]:
        """Appends made in this thread are kept (in order) until :meth:`flush`, so a transaction recording
        many frames of one execution updates its row and inserts its events once (the caller drops the
        entries of a frame it rolls back to its savepoint)."""
        pending: list[Any] = []
        _BATCHING.pending = pending
        try:
            yield pending
        finally:
            _BATCHING.pending = None

    @staticmethod
    def flush(conn: sqlite3.Connection, pending: list[Any]) -> bool:
        """Write the appends kept, grouped by execution in their order; False if an execution is gone."""
        by_arn: dict[str, tuple[list[tuple[float, str, dict[str, Any]]], list[int]]] = {}
        for arn, events, now, transitions in pending:
            items, counted = by_arn.setdefault(arn, ([], [0]))
            items.extend((now, kind, details) for kind, details in events)
            counted[0] += transitions
        rows = []
        found = True
        for arn, (items, counted) in by_arn.items():
            row = conn.execute(
                "UPDATE executions SET seq = seq + ?, transitions = transitions + ? WHERE arn = ? RETURNING seq",
                (len(items), counted[0], arn),
            ).fetchone()
            if row is None:
                found = False
                continue
            first = int(row[0]) - len(items)
            rows += [
                (arn, first + i + 1, first + i, now, kind, encode(details))
                for i, (now, kind, details) in enumerate(items)
            ]
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        return found

    def history(self, arn: str) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            "SELECT id, previous, ts, type, details FROM events WHERE arn = ? ORDER BY id", (arn,)
        ).fetchall()
        return [
            {"id": i, "previousEventId": p, "timestamp": ts, "type": kind, **json.loads(details)}
            for i, p, ts, kind, details in rows
        ]

    # -- executions -----------------------------------------------------------------------------
    def execution(self, arn: str) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            "SELECT arn, workflow, name, type, status, input, output, error, cause, started, stopped, transitions "
            "FROM executions WHERE arn = ?",
            (arn,),
        ).fetchone()
        return None if row is None else _execution(row)

    def trace_of(self, arn: str) -> str | None:
        """The ``X-Amzn-Trace-Id`` the execution was started in (None: started outside a trace)."""
        row = self.db.conn.execute("SELECT trace FROM executions WHERE arn = ?", (arn,)).fetchone()
        return row[0] if row is not None else None

    def executions(self, workflow: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        sql = (
            "SELECT arn, workflow, name, type, status, input, output, error, cause, started, stopped, transitions "
            "FROM executions WHERE workflow = ?"
        )
        args: list[Any] = [workflow]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY started DESC, arn DESC LIMIT ?"
        return [_execution(r) for r in self.db.conn.execute(sql, (*args, limit)).fetchall()]

    # -- frames ---------------------------------------------------------------------------------
    def claim(self, workflow: str, now: float, limit: int, arn: str | None = None) -> list[dict[str, Any]]:
        """Take up to ``limit`` frames that are due and free (or whose owner is gone)."""
        self._release_dead_owners()
        wall = time.time()
        sql = (
            f"SELECT {FRAME_COLUMNS} FROM frames WHERE workflow = ? AND status = 'ready' AND due <= ? "
            "AND (owner IS NULL OR lease < ?)"
        )
        args: list[Any] = [workflow, now, wall]
        if arn is not None:
            sql += " AND arn = ?"
            args.append(arn)
        sql += " ORDER BY due, id LIMIT ?"
        probe = f"SELECT 1 FROM ({sql})"
        if self.db.conn.execute(probe, (*args, 1)).fetchone() is None:
            return []  # nothing free: no write transaction (idle loops woken together would queue for it)
        with self.write() as conn:
            rows = conn.execute(sql, (*args, limit)).fetchall()
            if rows:
                conn.executemany(
                    "UPDATE frames SET owner = ?, lease = ?, version = version + 1 WHERE id = ?",
                    [(self.owner, wall + LEASE, r[0]) for r in rows],
                )
        return [_frame(r, +1) for r in rows]

    def _release_dead_owners(self) -> None:
        """Claims of a process on this host that no longer runs are free at once (a SIGKILLed worker)."""
        wall = time.time()
        if wall - self._swept_owners < 1.0:
            return
        self._swept_owners = wall
        host = socket.gethostname()
        owners = [o for (o,) in self.db.conn.execute("SELECT DISTINCT owner FROM frames WHERE owner IS NOT NULL")]
        dead = [o for o in owners if o != self.owner and o.split(":")[0] == host and not _alive(int(o.split(":")[1]))]
        if dead:
            from .express import orphaned

            with self.write() as conn:
                orphaned(conn, dead)  # Express executions start over (or fail, if synchronous): express.py
                conn.executemany("UPDATE frames SET owner = NULL, lease = 0 WHERE owner = ?", [(o,) for o in dead])

    def next_due(self, workflow: str) -> float | None:
        row = self.db.conn.execute(
            "SELECT MIN(due) FROM frames WHERE workflow = ? AND status = 'ready'", (workflow,)
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def drop(self, workflow: str) -> None:
        with self.write() as conn:
            arns = [a for (a,) in conn.execute("SELECT arn FROM executions WHERE workflow = ?", (workflow,))]
            conn.executemany("DELETE FROM events WHERE arn = ?", [(a,) for a in arns])
            conn.executemany("DELETE FROM sync_starts WHERE arn = ?", [(a,) for a in arns])
            conn.execute("DELETE FROM executions WHERE workflow = ?", (workflow,))
            conn.execute("DELETE FROM frames WHERE workflow = ?", (workflow,))
            conn.execute("DELETE FROM callbacks WHERE workflow = ?", (workflow,))

    def close(self) -> None:
        self.db.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _execution(row: tuple[Any, ...]) -> dict[str, Any]:
    arn, workflow, name, kind, status, given, output, error, cause, started, stopped, transitions = row
    return {
        "executionArn": arn,
        "workflow": workflow,
        "name": name,
        "type": kind,
        "status": status,
        "input": given,
        "output": output,
        "error": error,
        "cause": cause,
        "startDate": started,
        "stopDate": stopped,
        "transitions": transitions,
    }


def _frame(row: tuple[Any, ...], bump: int = 0) -> dict[str, Any]:
    frame = dict(zip(_FRAME_NAMES, row, strict=True))
    frame["version"] += bump
    return frame
