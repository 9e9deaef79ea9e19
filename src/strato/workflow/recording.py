"""How the executor records a move: the history events, the frame's new state or the execution's end,
written in the transaction ``Executor.step`` holds, with Retry and Catch applied first. A frame that moved on
meanwhile (stopped, cancelled, taken over) raises ``Lost`` and nothing of the move is written."""

from __future__ import annotations

import json
import random
import sqlite3
from typing import TYPE_CHECKING, Any, cast

from . import callbacks, dataflow, jsonata_states, nested, states, variables
from .children import finish_child, spawn
from .errors import StatesError, matches

if TYPE_CHECKING:
    from .executor import Executor
    from .store import WorkflowStore


class Lost(Exception):
    """The frame moved on without us (stopped, cancelled, or taken over): drop this work."""


class Recorder:
    """The recording half of ``Executor`` (a mixin: its methods take the executor as ``self``)."""

    if TYPE_CHECKING:  # what Executor provides
        store: WorkflowStore
        definition: dict[str, Any]
        by_name: dict[str, dict[str, Any]]
        _inputs: dict[str, tuple[Any, dict[str, Any]]]

        def _scope(self, frame: dict[str, Any]) -> variables.Scope: ...

    def _record(self, conn: sqlite3.Connection, frame: dict[str, Any], outcome: states.Outcome, now: float) -> bool:
        """Write the move in ``conn``'s transaction; True when the frame may go on at once in this thread."""
        state = self.by_name[frame["state"]]
        kind = state["Type"]
        events = list(outcome.events)
        if outcome.kind == "timeout":
            self._check(conn, frame)
            self.timed_out(conn, frame["arn"], now)
            return False
        if outcome.kind == "fail":
            assert outcome.cause is not None
            outcome = self._handle(frame, state, outcome.cause, events, now)
            if outcome.kind == "retry":
                frame["retries"] = outcome.output
                due = min(outcome.due, self._deadline(conn, frame["arn"]))
                self._update(conn, frame, due=due, phase="run", owner=None)
                self.store.append(conn, frame["arn"], events, now, transitions=1)  # a retry is billed as one
                return False
        if outcome.kind in ("spawn", "fail") or (outcome.target is None and frame["parent"] is None):
            self._check(conn, frame)  # the other paths check in _update, a child's end in children._done_one
        if outcome.kind == "callback":  # waits for a task token or a child execution (callbacks.py)
            phase, due = callbacks.arm(conn, frame, outcome.output, now, self._deadline(conn, frame["arn"]))
            self._update(conn, frame, due=due, phase=phase, owner=None)
            self.store.append(conn, frame["arn"], events, now)
            return False
        if outcome.kind == "wait":
            deadline = self._deadline(conn, frame["arn"])
            self._update(conn, frame, due=min(outcome.due, deadline), phase="waited", owner=None)
            return False
        if outcome.kind == "spawn":
            spawn(cast("Executor", self), conn, frame, state, outcome.children, now, limit=outcome.limit)
            return False
        text = dataflow.encode(outcome.output)
        details = {"name": frame["state"], "output": text}
        if outcome.assigned:  # the frame's scope keeps them (the next state on reads them)
            details.update(variables.history_details(outcome.assigned))
            frame["vars"] = variables.merge(frame.get("vars"), outcome.assigned)
        exited = (f"{kind}StateExited", {"stateExitedEventDetails": details})
        if outcome.kind == "fail" or (outcome.kind == "next" and outcome.target is None):
            if outcome.kind == "next" and kind != "Fail":
                events.append(exited)
            if frame["parent"] is not None:  # the child's end and its parent's bookkeeping: one append
                finish_child(cast("Executor", self), conn, frame, outcome, now, events)
                return False
            self.store.append(conn, frame["arn"], events, now)
            return self._finish(conn, frame, outcome, now)
        target = self.by_name[outcome.target]  # type: ignore[index]
        events.append(exited)
        entered = {"stateEnteredEventDetails": {"name": outcome.target, "input": text}}
        events.append((f"{target['Type']}StateEntered", entered))
        frame.update(state=outcome.target, input=text, retries="{}", entered=now, result=None)
        self._update(conn, frame, due=now, phase="run", owner=self.store.owner)
        self.store.append(conn, frame["arn"], events, now, transitions=1)
        return True

    def _handle(
        self,
        frame: dict[str, Any],
        state: dict[str, Any],
        error: StatesError,
        events: list[tuple[str, dict[str, Any]]],
        now: float,
    ) -> states.Outcome:
        """Retry, then Catch, as the state declares them; else the failure goes up."""
        from_task = state["Type"] in ("Task", "Parallel", "Map")
        retries = json.loads(frame["retries"])
        for index, retrier in enumerate(state.get("Retry", [])):
            if matches(retrier["ErrorEquals"], error.error, from_task=from_task):
                count = retries.get(str(index), 0)
                if count < retrier.get("MaxAttempts", 3):
                    delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** count
                    delay = min(delay, retrier.get("MaxDelaySeconds", delay))
                    if retrier.get("JitterStrategy") == "FULL":
                        delay = random.uniform(0, delay)
                    retries[str(index)] = count + 1
                    return states.Outcome("retry", output=json.dumps(retries), due=now + delay)
                break
        for catcher in state.get("Catch", []):
            if matches(catcher["ErrorEquals"], error.error, from_task=from_task):
                raw = json.loads(frame["input"])
                caught = {"Error": error.error, "Cause": error.cause}
                try:
                    context = self._scope(frame)
                    if context.jsonata:  # Output and Assign with $states.errorOutput
                        output = jsonata_states.caught(catcher, raw, caught, context)
                    else:  # ResultPath, and Assign where $ is the error output
                        output = dataflow.combine(catcher.get("ResultPath", "$"), raw, caught)
                        if "Assign" in catcher:
                            dataflow.assign(catcher["Assign"], caught, context)
                    if context.assigned is not None:
                        variables.check_sizes(context.assigned, context.variables)
                except StatesError as exc:
                    events += jsonata_states.failed_events(frame["state"], exc, self.store.db.conn, frame["arn"])
                    return states.Outcome("fail", cause=exc)
                outcome = states.Outcome("next", catcher["Next"], output)
                outcome.assigned = context.assigned
                return outcome
        return states.Outcome("fail", cause=error)

    def _finish(self, conn: sqlite3.Connection, frame: dict[str, Any], outcome: states.Outcome, now: float) -> bool:
        """The frame's scope ended (success or failure): the execution ends, or the parent hears of it."""
        if frame["parent"] is not None:
            finish_child(cast("Executor", self), conn, frame, outcome, now, [])
            return False
        arn = frame["arn"]
        conn.execute("DELETE FROM frames WHERE arn = ?", (arn,))
        if outcome.kind == "fail":
            assert outcome.cause is not None
            error, cause = outcome.cause.error, outcome.cause.cause
            self.store.append(
                conn, arn, [("ExecutionFailed", {"executionFailedEventDetails": {"error": error, "cause": cause}})], now
            )
            conn.execute(
                "UPDATE executions SET status = 'FAILED', error = ?, cause = ?, stopped = ? WHERE arn = ?",
                (error, cause, now, arn),
            )
        else:
            text = dataflow.encode(outcome.output)
            self.store.append(
                conn, arn, [("ExecutionSucceeded", {"executionSucceededEventDetails": {"output": text}})], now
            )
            conn.execute(
                "UPDATE executions SET status = 'SUCCEEDED', output = ?, stopped = ? WHERE arn = ?", (text, now, arn)
            )
        self._inputs.pop(arn, None)
        nested.ended(conn, arn, now)
        return False

    def _deadline(self, conn: sqlite3.Connection, arn: str) -> float:
        timeout = self.definition.get("TimeoutSeconds")
        if timeout is None:
            return float("inf")
        (started,) = conn.execute("SELECT started FROM executions WHERE arn = ?", (arn,)).fetchone()
        return float(started) + timeout

    def _check(self, conn: sqlite3.Connection, frame: dict[str, Any]) -> None:
        row = conn.execute("SELECT version, status FROM frames WHERE id = ?", (frame["id"],)).fetchone()
        if row is None or row[0] != frame["version"] or row[1] != "ready":
            raise Lost()

    def _update(
        self, conn: sqlite3.Connection, frame: dict[str, Any], *, due: float, phase: str, owner: str | None
    ) -> None:
        """Move the frame if it is still ours at the version we claimed (else Lost: nothing is written)."""
        frame["version"] += 1
        frame["phase"] = phase
        moved = conn.execute(
            "UPDATE frames SET state = ?, input = ?, phase = ?, retries = ?, entered = ?, due = ?, owner = ?, "
            "version = ?, result = ?, vars = ? WHERE id = ? AND version = ? AND status = 'ready'",
            (
                frame["state"],
                frame["input"],
                phase,
                frame["retries"],
                frame["entered"],
                due,
                owner,
                frame["version"],
                frame.get("result"),
                frame.get("vars"),
                frame["id"],
                frame["version"] - 1,
            ),
        ).rowcount
        if not moved:
            raise Lost()

    def _release(self, frame: dict[str, Any]) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE frames SET owner = NULL WHERE id = ? AND version = ?", (frame["id"], frame["version"]))

    def timed_out(self, conn: sqlite3.Connection, arn: str, now: float) -> None:
        conn.execute("DELETE FROM frames WHERE arn = ?", (arn,))
        self.store.append(
            conn,
            arn,
            [
                (
                    "ExecutionTimedOut",
                    {
                        "executionTimedOutEventDetails": {
                            "error": "States.Timeout",
                            "cause": "The execution ran longer than its TimeoutSeconds",
                        }
                    },
                )
            ],
            now,
        )
        conn.execute(
            "UPDATE executions SET status = 'TIMED_OUT', error = 'States.Timeout', stopped = ? WHERE arn = ?",
            (now, arn),
        )
        nested.ended(conn, arn, now)
