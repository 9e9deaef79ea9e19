"""``arn:aws:states:::states:startExecution`` (fire and forget), ``.sync`` and ``.sync:2`` (wait for the
child) and ``.waitForTaskToken``: a Task starts an execution of another workflow of the app.

The result shapes are Step Functions': StartExecution's ``{ExecutionArn, StartDate}``, and for ``.sync``
DescribeExecution's fields with ``Input`` / ``Output`` as JSON text (``.sync:2``: parsed). A child that
fails, times out or is aborted fails the Task with ``States.TaskFailed`` and that description as the
cause. ``AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`` in the Input stays in the child's input, as on
AWS; strato checks it is an execution ARN (it links the child to its parent)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from ..core.errors import ValidationError
from .errors import StatesError

START = "states:startExecution"
PARAMETERS = ("StateMachineArn", "Input", "Name")
STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
_MISSING = "StepFunctions.StateMachineDoesNotExistException"


def find(given: Any, workflows: list[Any]) -> Any:
    """The workflow a StateMachineArn names: its ARN, its physical name, or (locally) its strato name."""
    if not isinstance(given, str) or not given:
        return None
    name = given.split(":stateMachine:")[-1].split(":")[0] if ":stateMachine:" in given else given
    for wf in workflows:
        if name == wf.physical_name:
            return wf
    for wf in workflows:
        if name == wf.name:
            return wf
    return None


def check(name: str, state: dict[str, Any]) -> None:
    from .integrations import check_fields

    check_fields(name, START, state.get("Parameters"), PARAMETERS[:1], PARAMETERS[1:])


def epoch_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def plan(params: Any, workflows: list[Any], default_name: str) -> tuple[Any, str, Any]:
    """(child workflow, execution name, input) from the Task's Parameters."""
    params = params if isinstance(params, dict) else {}
    child = find(params.get("StateMachineArn"), workflows)
    if child is None:
        raise StatesError(_MISSING, f"State Machine Does Not Exist: {params.get('StateMachineArn')!r}")
    given = params.get("Input", {})
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except ValueError:
            raise StatesError("StepFunctions.InvalidExecutionInputException", "Input is not JSON text") from None
    if isinstance(given, dict) and STARTED_BY in given:
        parent = given[STARTED_BY]
        if not isinstance(parent, str) or (":execution:" not in parent and ":express:" not in parent):
            raise StatesError(
                "StepFunctions.InvalidExecutionInputException",
                f"{STARTED_BY} must be an execution ARN ($$.Execution.Id)",
            )
    name = params.get("Name", default_name)
    if not isinstance(name, str):
        raise StatesError("StepFunctions.InvalidNameException", f"Name must be a string, not {name!r}")
    return child, name, given


def launch(child: Any, name: str, given: Any) -> str:
    """Start the child (the same name and input again is the same execution: a task re-run after a crash)."""
    try:
        return str(child.start(given, name=name))
    except ValidationError as exc:
        if "ExecutionAlreadyExists" in str(exc):
            arn = child.backend.arn_for(name) if hasattr(child.backend, "arn_for") else None
            if arn is not None and child.describe(arn).input == given:
                return str(arn)
            raise StatesError("StepFunctions.ExecutionAlreadyExistsException", str(exc)) from None
        raise StatesError("StepFunctions.InvalidExecutionInputException", str(exc)) from None


def default_name(token: str) -> str:
    """A generated execution name derived from the task's attempt, so a re-run starts no second child."""
    return str(uuid.UUID(hex=token[2:34]))


def described(row: dict[str, Any], machine_arn: str, parsed: bool) -> dict[str, Any]:
    """The child as ``.sync`` (JSON text) or ``.sync:2`` (parsed) reports it."""
    out: dict[str, Any] = {
        "ExecutionArn": row["executionArn"],
        "Input": json.loads(row["input"]) if parsed else row["input"],
        "InputDetails": {"Included": True},
        "Name": row["name"],
        "StartDate": epoch_ms(row["startDate"]),
        "StateMachineArn": machine_arn,
        "Status": row["status"],
        "StopDate": epoch_ms(row["stopDate"]),
    }
    if row["status"] == "SUCCEEDED":
        out["Output"] = json.loads(row["output"]) if parsed else row["output"]
        out["OutputDetails"] = {"Included": True}
    else:
        if row.get("error"):
            out["Error"] = row["error"]
        if row.get("cause"):
            out["Cause"] = row["cause"]
    return out


def abort(conn: sqlite3.Connection, arn: str, error: str, cause: str, now: float) -> bool:
    """StopExecution in ``conn``'s transaction; False when the execution had ended already."""
    from .store import WorkflowStore

    row = conn.execute("SELECT status FROM executions WHERE arn = ?", (arn,)).fetchone()
    if row is None or row[0] != "RUNNING":
        return False
    conn.execute("DELETE FROM frames WHERE arn = ?", (arn,))
    details = {"error": error, "cause": cause}
    WorkflowStore.append(conn, arn, [("ExecutionAborted", {"executionAbortedEventDetails": details})], now)
    conn.execute(
        "UPDATE executions SET status = 'ABORTED', error = ?, cause = ?, stopped = ? WHERE arn = ?",
        (error or None, cause or None, now, arn),
    )
    ended(conn, arn, now)
    return True


def stop_child(conn: sqlite3.Connection, child: str, cause: str, now: float) -> None:
    """Stop a child nobody waits for any more (its row closed first: its end answers no one)."""
    conn.execute("UPDATE callbacks SET status = 'done' WHERE key = ?", (child,))
    abort(conn, child, "", cause, now)


def ended(conn: sqlite3.Connection, arn: str, now: float) -> None:
    """An execution ended (in ``conn``'s transaction): a parent waiting on it with ``.sync`` goes on, and
    children it was still waiting for are stopped (the best-effort stop of a .sync job whose Task ended)."""
    children = conn.execute(
        "SELECT key FROM callbacks WHERE arn = ? AND kind IN ('sync', 'sync:2') AND status = 'open'", (arn,)
    ).fetchall()
    for (child,) in children:
        stop_child(conn, child, f"stopped with its parent execution {arn}", now)
    row = conn.execute("SELECT kind, status FROM callbacks WHERE key = ?", (arn,)).fetchone()
    if row is None or row[1] != "open" or row[0] not in ("sync", "sync:2"):
        return
    from . import callbacks
    from .store import _execution

    found = conn.execute(
        "SELECT arn, workflow, name, type, status, input, output, error, cause, started, stopped, transitions "
        "FROM executions WHERE arn = ?",
        (arn,),
    ).fetchone()
    execution = _execution(found)
    machine = arn.replace(":execution:", ":stateMachine:").replace(":express:", ":stateMachine:").rsplit(":", 1)[0]
    description = described(execution, machine, row[0] == "sync:2")
    if execution["status"] == "SUCCEEDED":
        result: dict[str, Any] = {"output": description}
    else:
        result = {"error": "States.TaskFailed", "cause": json.dumps(description, separators=(",", ":"))}
    try:
        callbacks.answer(conn, arn, result, now)
    except callbacks.TaskTimedOut:
        pass  # the parent moved on (stopped, timed out): nobody waits any more


__all__ = ["START", "STARTED_BY", "abort", "check", "default_name", "described", "ended", "find", "launch", "plan"]
