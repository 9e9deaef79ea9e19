"""What an Express execution does when the worker running it dies, as Step Functions' execution guarantees
put it (https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html):
Express "execution state doesn't persist between state transitions", so

- an asynchronous Express execution (``start``) is at-least-once: it runs again from its StartAt with its
  original input (states that ran before the crash run again: they must be idempotent);
- a synchronous one (``start_sync``) is at-most-once: "workflows don't restart", so it fails
  (States.Runtime) rather than running a second time.

Standard executions go on from their last recorded transition (store.py). The store calls ``orphaned``
when it frees the claims of a process that is gone, in the same transaction."""

from __future__ import annotations

import json
import sqlite3

from ..core import clock

SCHEMA = "CREATE TABLE IF NOT EXISTS sync_starts (arn TEXT PRIMARY KEY)"
LOST = "the worker running this synchronous Express execution stopped; synchronous Express runs at most once"


def mark_sync(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("INSERT OR IGNORE INTO sync_starts (arn) VALUES (?)", (arn,))


def orphaned(conn: sqlite3.Connection, owners: list[str]) -> None:
    """The running Express executions with a frame held by one of these dead ``owners`` start over (or fail)."""
    marks = ",".join("?" * len(owners))
    arns = [
        a
        for (a,) in conn.execute(
            f"SELECT DISTINCT f.arn FROM frames f JOIN executions e ON e.arn = f.arn "
            f"WHERE f.owner IN ({marks}) AND e.type = 'EXPRESS' AND e.status = 'RUNNING'",
            owners,
        )
    ]
    now = clock.now()
    for arn in arns:
        _again(conn, arn, now)


def _again(conn: sqlite3.Connection, arn: str, now: float) -> None:
    from . import nested
    from .store import WorkflowStore

    conn.execute("DELETE FROM frames WHERE arn = ?", (arn,))
    if conn.execute("SELECT 1 FROM sync_starts WHERE arn = ?", (arn,)).fetchone() is not None:
        details = {"error": "States.Runtime", "cause": LOST}
        WorkflowStore.append(conn, arn, [("ExecutionFailed", {"executionFailedEventDetails": details})], now)
        conn.execute(
            "UPDATE executions SET status = 'FAILED', error = 'States.Runtime', cause = ?, stopped = ? WHERE arn = ?",
            (LOST, now, arn),
        )
        nested.ended(conn, arn, now)
        return
    workflow, given = conn.execute("SELECT workflow, input FROM executions WHERE arn = ?", (arn,)).fetchone()
    kind, details = conn.execute("SELECT type, details FROM events WHERE arn = ? AND id = 2", (arn,)).fetchone()
    start = json.loads(details)["stateEnteredEventDetails"]["name"]  # the StartAt state, entered at start
    entered = {"stateEnteredEventDetails": {"name": start, "input": given}}
    WorkflowStore.append(conn, arn, [(kind, entered)], now, transitions=1)
    conn.execute(
        "INSERT INTO frames (arn, workflow, parent, slot, state, input, status, due, phase, entered) "
        "VALUES (?, ?, NULL, 0, ?, ?, 'ready', ?, 'run', ?)",
        (arn, workflow, start, given, now, now),
    )


__all__ = ["mark_sync", "orphaned"]
