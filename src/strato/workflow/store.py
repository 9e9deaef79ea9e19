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
import time
from pathlib import Path
from typing import Any

from ..runtime.sqlite import Database

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
    pending INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS frames_due ON frames (workflow, status, due);
CREATE INDEX IF NOT EXISTS frames_children ON frames (parent, status, slot);
"""

LEASE = 60.0  # seconds a claim stands without its owner's process being seen gone
FRAME_COLUMNS = (
    "id, arn, workflow, parent, slot, state, input, status, due, phase, retries, result, entered, version, "
    "pending, running, failed"
)


class WorkflowStore:
    def __init__(self, data_dir: Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "workflows.sqlite", durability)
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if "trace" not in {row[1] for row in conn.execute("PRAGMA table_info(executions)")}:
                conn.execute("ALTER TABLE executions ADD COLUMN trace TEXT")  # the starter's X-Amzn-Trace-Id
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        self._swept_owners = 0.0

    # -- events ---------------------------------------------------------------------------------
    @staticmethod
    def append(
        conn: sqlite3.Connection, arn: str, events: list[tuple[str, dict[str, Any]]], now: float, transitions: int = 0
    ) -> int:
        """Append events (type, details) to ``arn``'s history, counting ``transitions``; returns the last id."""
        row = conn.execute(
            "UPDATE executions SET seq = seq + ?, transitions = transitions + ? WHERE arn = ? RETURNING seq",
            (len(events), transitions, arn),
        ).fetchone()
        if row is None:
            from .executor import Lost

            raise Lost()  # stopped meanwhile: its frames are gone too
        last = int(row[0])
        first = last - len(events)
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            [
                (arn, first + i + 1, first + i, now, kind, json.dumps(details, separators=(",", ":")))
                for i, (kind, details) in enumerate(events)
            ],
        )
        return last

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
        with self.db.write() as conn:
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
            with self.db.write() as conn:
                conn.executemany("UPDATE frames SET owner = NULL, lease = 0 WHERE owner = ?", [(o,) for o in dead])

    def next_due(self, workflow: str) -> float | None:
        row = self.db.conn.execute(
            "SELECT MIN(due) FROM frames WHERE workflow = ? AND status = 'ready'", (workflow,)
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def drop(self, workflow: str) -> None:
        with self.db.write() as conn:
            arns = [a for (a,) in conn.execute("SELECT arn FROM executions WHERE workflow = ?", (workflow,))]
            conn.executemany("DELETE FROM events WHERE arn = ?", [(a,) for a in arns])
            conn.execute("DELETE FROM executions WHERE workflow = ?", (workflow,))
            conn.execute("DELETE FROM frames WHERE workflow = ?", (workflow,))

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
    names = [c.strip() for c in FRAME_COLUMNS.split(",")]
    frame = dict(zip(names, row, strict=True))
    frame["version"] += bump
    return frame
