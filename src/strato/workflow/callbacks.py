"""Tasks that wait for someone else: the callback pattern (``.waitForTaskToken``) and nested executions run
to their end (``states:startExecution.sync`` / ``.sync:2``), in the local executor.

A waiting Task is a frame in the ``callback`` phase whose due time is its deadline (TimeoutSeconds,
HeartbeatSeconds, or none): no thread waits, and a restarted worker finds it where it was. The
``callbacks`` table maps the key the world answers with (a task token, or the child execution's ARN) to
that frame. An answer that arrives before the frame is recorded as waiting (the SQS consumer was quicker
than the commit) is kept in the row and taken up when the frame is. A token is derived from the frame's
attempt (execution, frame, entry time, retry counts), so a task run again after a crash sends the same
token, and a token of an attempt that has moved on (answered, timed out, retried) is TaskTimedOut."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from typing import Any

from ..core.errors import NotFound, ValidationError
from .errors import StatesError

SCHEMA = """
CREATE TABLE IF NOT EXISTS callbacks (
    key TEXT PRIMARY KEY, workflow TEXT NOT NULL, arn TEXT NOT NULL, frame INTEGER NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, result TEXT, heartbeat REAL, deadline REAL
);
CREATE INDEX IF NOT EXISTS callbacks_by_arn ON callbacks (arn, status)
"""
WAIT_FOR_TOKEN = ".waitForTaskToken"
FAR = 4.0e12  # "no deadline": a due time no clock reaches (SQLite and JSON both keep it exact)
MAX_OUTPUT = 256 * 1024
_TOKEN = re.compile(r"^AQ[0-9a-f]{64}$")


class TaskDoesNotExist(NotFound):
    """SendTask* with a well-formed token this app never handed out."""

    code = "TaskDoesNotExist"


class InvalidToken(ValidationError):
    """SendTask* with a string that is not a task token at all."""

    code = "InvalidToken"


class TaskTimedOut(ValidationError):
    """SendTask* with a token whose task has closed: answered already, timed out, retried, or stopped."""

    status = 409
    code = "TaskTimedOut"


class InvalidOutput(ValidationError):
    code = "InvalidOutput"


def is_waiting(resource: str) -> bool:
    """Whether a Task's Resource makes the execution wait for an answer from outside."""
    return resource.endswith((WAIT_FOR_TOKEN, ".sync", ".sync:2"))


def token_for(frame: dict[str, Any]) -> str:
    """The task token of this attempt of the frame's state (the same when the attempt runs again)."""
    text = f"{frame['arn']}\n{frame['id']}\n{frame['state']}\n{frame['entered']!r}\n{frame['retries']}"
    return "AQ" + hashlib.sha256(text.encode()).hexdigest()


def register(
    conn: sqlite3.Connection, key: str, frame: dict[str, Any], kind: str, state: dict[str, Any], now: float
) -> None:
    """Before the task runs: the key answers reach this frame (a re-run of the same attempt keeps its row).
    TimeoutSeconds counts from this attempt's start, as each Retry attempt gets its own."""
    beat, timeout = state.get("HeartbeatSeconds"), state.get("TimeoutSeconds")
    heartbeat = float(beat) if beat is not None else None
    deadline = now + timeout if timeout is not None else FAR
    conn.execute(
        "INSERT OR IGNORE INTO callbacks (key, workflow, arn, frame, kind, status, heartbeat, deadline) "
        "VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
        (key, frame["workflow"], frame["arn"], frame["id"], kind, heartbeat, deadline),
    )


def arm(conn: sqlite3.Connection, frame: dict[str, Any], key: str, now: float, limit: float) -> tuple[str, float]:
    """The task was sent: the frame waits (phase, due) unless its answer came already."""
    row = conn.execute("SELECT status, result, heartbeat, deadline FROM callbacks WHERE key = ?", (key,)).fetchone()
    if row is not None and row[0] == "done":
        frame["result"] = row[1]
        return "called", now
    heartbeat, deadline = (row[2], row[3]) if row is not None else (None, FAR)
    due = min(deadline, limit, now + heartbeat if heartbeat is not None else FAR)
    frame["result"] = key
    return "callback", due


def answer(conn: sqlite3.Connection, key: str, result: dict[str, Any], now: float) -> str:
    """Deliver ``result`` ({"output": ...} or {"error", "cause"}) for ``key``; returns the workflow to wake.
    Raises TaskDoesNotExist / TaskTimedOut as SendTaskSuccess does."""
    row = conn.execute("SELECT workflow, frame, status FROM callbacks WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise TaskDoesNotExist(f"TaskDoesNotExist: no task has the token {key[:16]}...")
    workflow, frame_id, status = row
    if status != "open" or not _current(conn, frame_id, key):
        raise TaskTimedOut(f"TaskTimedOut: the task of token {key[:16]}... has closed (answered, timed out or stopped)")
    text = json.dumps(result, separators=(",", ":"))
    conn.execute("UPDATE callbacks SET status = 'done', result = ? WHERE key = ?", (text, key))
    conn.execute(
        "UPDATE frames SET phase = 'called', result = ?, due = ?, owner = NULL, version = version + 1 "
        "WHERE id = ? AND phase = 'callback' AND result = ? AND status = 'ready'",
        (text, now, frame_id, key),
    )
    return str(workflow)


def heartbeat(conn: sqlite3.Connection, key: str, now: float) -> None:
    row = conn.execute("SELECT frame, status, heartbeat, deadline FROM callbacks WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise TaskDoesNotExist(f"TaskDoesNotExist: no task has the token {key[:16]}...")
    frame_id, status, beat, deadline = row
    if status != "open" or not _current(conn, frame_id, key):
        raise TaskTimedOut(f"TaskTimedOut: the task of token {key[:16]}... has closed")
    if beat is not None:
        conn.execute(
            "UPDATE frames SET due = ? WHERE id = ? AND phase = 'callback' AND result = ?",
            (min(deadline, now + beat), frame_id, key),
        )


def _current(conn: sqlite3.Connection, frame_id: int, key: str) -> bool:
    """The frame still stands at the attempt the key belongs to (waiting for it, or about to)."""
    row = conn.execute(
        "SELECT arn, id, state, entered, retries, phase, result, workflow FROM frames WHERE id = ?", (frame_id,)
    ).fetchone()
    if row is None:
        return False
    arn, fid, state, entered, retries, phase, result, workflow = row
    if phase == "callback":
        return bool(result == key)
    if phase != "run":
        return False
    kind = conn.execute("SELECT kind FROM callbacks WHERE key = ?", (key,)).fetchone()
    if kind is not None and kind[0] != "token":
        return True  # a child execution's ARN: the frame is about to wait for it
    frame = {"arn": arn, "id": fid, "state": state, "entered": entered, "retries": retries, "workflow": workflow}
    return token_for(frame) == key


def outcome_of(
    state: dict[str, Any], frame: dict[str, Any], now: float, deadline: float
) -> tuple[Any, StatesError | None]:
    """A claimed waiting frame: (the task's result, None), or (None, the error) when it was failed or its
    time ran out (HeartbeatSeconds or TimeoutSeconds: States.Timeout)."""
    if frame["phase"] == "called":
        given = json.loads(frame["result"])
        if "error" in given:
            return None, StatesError(given["error"], given.get("cause", ""))
        return given["output"], None
    beat = state.get("HeartbeatSeconds")
    why = (
        f"no heartbeat for HeartbeatSeconds ({beat} s)"
        if beat is not None and now < deadline
        else f"the task ran longer than its TimeoutSeconds ({state.get('TimeoutSeconds')} s)"
    )
    return None, StatesError("States.Timeout", why)


def check_output(output: Any) -> str:
    """SendTaskSuccess's output: JSON (a string is taken as JSON text), at most 256 KB."""
    if isinstance(output, str | bytes):
        try:
            text = output.decode() if isinstance(output, bytes) else output
            json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidOutput(f"InvalidOutput: the output is not JSON ({exc})") from None
    else:
        try:
            text = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise InvalidOutput(f"InvalidOutput: the output is not JSON ({exc})") from None
    if len(text.encode()) > MAX_OUTPUT:
        raise InvalidOutput(f"InvalidOutput: the output is {len(text.encode()):,} bytes, over {MAX_OUTPUT:,}")
    return text


def check_token(token: Any) -> str:
    if not isinstance(token, str) or not 1 <= len(token) <= 2048:
        raise InvalidToken("InvalidToken: a task token is a string of 1-2048 characters")
    return token


def well_formed(token: str) -> None:
    """Locally issued tokens have one shape; anything else is InvalidToken (not TaskDoesNotExist)."""
    if not _TOKEN.match(token):
        raise InvalidToken(f"InvalidToken: {token[:24]!r}... is not a task token")


__all__ = [
    "FAR",
    "InvalidOutput",
    "InvalidToken",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "answer",
    "arm",
    "check_output",
    "check_token",
    "heartbeat",
    "is_waiting",
    "outcome_of",
    "register",
    "token_for",
]
