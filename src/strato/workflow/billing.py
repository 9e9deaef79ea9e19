"""What Step Functions bills, counted as the local executor records it, for ``strato cost``
(https://aws.amazon.com/step-functions/pricing/):

- Standard: "a state transition each time a step of your workflow is executed ... including retries";
- Express: a request each time an execution starts, and its duration "rounded up to the nearest 100ms"
  times the memory it uses, "billed in 64-MB chunks" (what the definition and the payloads take here:
  one chunk unless they are large), as GB-seconds."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

STANDARD = "stepfunctions"
EXPRESS = "stepfunctions_express"
CHUNK = 64 * 1024 * 1024
ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


def gb_seconds(seconds: float, size: int) -> float:
    """An Express execution's billed duration: 100 ms steps (at least one) x 64 MB chunks, in GB-seconds."""
    steps = max(1, math.ceil(round(max(seconds, 0.0) * 10, 6)))
    chunks = max(1, math.ceil(size / CHUNK))
    return steps * 0.1 * chunks * 64 / 1024


def started(usage: Any, express: bool) -> None:
    """An execution started: an Express request, or the Standard transition into its first state."""
    if usage is not None:
        usage.add(*((EXPRESS, "requests") if express else (STANDARD, "state_transitions")), 1)


def recorded(usage: Any, express: bool, conn: sqlite3.Connection, pending: list[Any], definition_size: int) -> None:
    """After a committed transaction: its transitions (Standard), or the duration of the Express executions
    it ended. ``pending`` holds the appends of the transaction (arn, events, now, transitions)."""
    if usage is None:
        return
    if not express:
        count = sum(entry[3] for entry in pending)
        if count:
            usage.add(STANDARD, "state_transitions", count)
        return
    for arn in {entry[0] for entry in pending if any(kind in ENDS for kind, _ in entry[1])}:
        ended(usage, conn, arn, definition_size)


def ended(usage: Any, conn: sqlite3.Connection, arn: str, definition_size: int) -> None:
    """An Express execution's duration, once it has stopped."""
    row = conn.execute(
        "SELECT started, stopped, length(input) + coalesce(length(output), 0) FROM executions WHERE arn = ?", (arn,)
    ).fetchone()
    if usage is not None and row is not None and row[1] is not None:
        usage.add(EXPRESS, "gb_seconds", gb_seconds(row[1] - row[0], definition_size + int(row[2])))
