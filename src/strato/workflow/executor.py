"""The local executor: takes due frames from the store, runs one state of each, and records the move (its
history events, the frame's new state, the execution's end) in one transaction before the next state
starts. A frame whose next state can run at once stays claimed and goes on in memory, so a chain of
Pass states costs one transaction per transition."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from typing import Any

from ..core import clock
from ..trace import context as trace_context
from . import dataflow, states
from .children import finish_child, spawn
from .errors import StatesError, matches
from .store import WorkflowStore

_RUNS = {"Pass": states.run_pass, "Choice": states.run_choice, "Succeed": states.run_succeed, "Fail": states.run_fail}
BURST = 200  # transitions a frame may make in one go before other frames get a turn


class Lost(Exception):
    """The frame moved on without us (stopped, cancelled, or taken over): drop this work."""


class Executor:
    """Runs the executions of one workflow. ``definition`` is validated; ``task(name)`` finds a handler."""

    def __init__(
        self,
        store: WorkflowStore,
        workflow: str,
        arn_prefix: str,
        definition: dict[str, Any],
        by_name: dict[str, dict[str, Any]],
        task: Callable[[str], Callable[..., Any]],
    ) -> None:
        self.store, self.workflow, self.arn_prefix = store, workflow, arn_prefix
        self.definition, self.by_name, self.task = definition, by_name, task
        self._inputs: dict[str, tuple[Any, dict[str, Any]]] = {}

    # -- the loop's pass --------------------------------------------------------------------------
    def step(self, limit: int = 16, arn: str | None = None) -> int:
        """Run the frames due now (at most ``limit`` claims); returns how many transitions were made.

        Group commit: each round runs one state of every frame in hand, then records all their moves in one
        transaction, so each frame's transition is durable before that frame's next state starts, and a
        busy worker pays one commit per round rather than one per transition."""
        done = 0
        active = self.store.claim(self.workflow, clock.now(), limit, arn)
        for _ in range(BURST):
            if not active:
                return done
            moves = self._run_all(active)
            active = []
            now = clock.now()
            with self.store.db.write() as conn:
                for frame, outcome in moves:
                    conn.execute("SAVEPOINT frame")
                    try:
                        again = self._record(conn, frame, outcome, now)
                    except Lost:  # stopped, cancelled or taken over meanwhile: drop this move alone
                        conn.execute("ROLLBACK TO frame")
                        conn.execute("RELEASE frame")
                        continue
                    conn.execute("RELEASE frame")
                    done += 1
                    if again:
                        active.append(frame)
        for frame in active:
            self._release(frame)
        return done

    def run_to_end(self, arn: str) -> None:
        """Drive one execution in this thread until it stops (Express ``start_sync``)."""
        while True:
            execution = self.store.execution(arn)
            if execution is None or execution["status"] != "RUNNING":
                return
            if not self.step(limit=64, arn=arn):
                due = self.store.next_due(self.workflow)
                if due is not None and due > clock.now():
                    import time

                    time.sleep(min(0.05, due - clock.now()))

    def _run_all(self, frames: list[dict[str, Any]]) -> list[tuple[dict[str, Any], states.Outcome]]:
        """One state of each frame; Task states of several frames run at once (each on its own thread, for
        this round only), as Map iterations and Parallel branches run concurrently on AWS."""
        tasks = [f for f in frames if self.by_name[f["state"]]["Type"] == "Task"]
        if len(tasks) < 2:
            return [(frame, self._run(frame)) for frame in frames]
        import threading

        found: dict[int, states.Outcome] = {}

        def run(frame: dict[str, Any]) -> None:
            found[frame["id"]] = self._run(frame)

        threads = [threading.Thread(target=run, args=(f,), name="strato-workflow-task") for f in tasks[1:]]
        for thread in threads:
            thread.start()
        run(tasks[0])
        for frame in frames:
            if frame["id"] not in found and self.by_name[frame["state"]]["Type"] != "Task":
                run(frame)
        for thread in threads:
            thread.join()
        return [(frame, found[frame["id"]]) for frame in frames]

    # -- one frame --------------------------------------------------------------------------------
    def _context(self, frame: dict[str, Any]) -> dict[str, Any]:
        arn = frame["arn"]
        if arn not in self._inputs:
            execution = self.store.execution(arn)
            if execution is None:
                raise StatesError("States.Runtime", "the execution is gone")
            self._inputs[arn] = (json.loads(execution["input"]), execution)
            if len(self._inputs) > 256:
                self._inputs.pop(next(iter(self._inputs)))
        given, execution = self._inputs[arn]
        retries = json.loads(frame["retries"])
        return {
            "Execution": {
                "Id": arn,
                "Input": given,
                "Name": execution["name"],
                "StartTime": _iso(execution["startDate"]),
                "RoleArn": f"{self.arn_prefix}:role/strato-local",
            },
            "StateMachine": {"Id": f"{self.arn_prefix}:stateMachine:{self.workflow}", "Name": self.workflow},
            "State": {
                "Name": frame["state"],
                "EnteredTime": _iso(frame["entered"]),
                "RetryCount": sum(retries.values()),
            },
        }

    def _run(self, frame: dict[str, Any]) -> states.Outcome:
        state = self.by_name[frame["state"]]
        kind = state["Type"]
        raw = json.loads(frame["input"])
        try:
            context = self._context(frame)
            timeout = self.definition.get("TimeoutSeconds")
            if timeout is not None and clock.now() >= self._inputs[frame["arn"]][1]["startDate"] + timeout:
                return states.Outcome("timeout")
            if kind in _RUNS:
                return _RUNS[kind](state, raw, context)
            if kind == "Task":
                if trace_context.tracer is not None:
                    return self._traced_task(frame, state, raw, context)
                return states.run_task(state, raw, context, self.task(state["Resource"]))
            if kind == "Wait":
                if frame["phase"] == "waited":
                    return states.Outcome("next", state.get("Next"), states._filtered(state, raw))
                return states.Outcome("wait", due=states.wait_until(state, raw, clock.now()))
            if frame["phase"] == "joined":
                result = json.loads(frame["result"])
                if isinstance(result, dict) and "__error__" in result:
                    return states.Outcome("fail", cause=StatesError(*result["__error__"]))
                return states.Outcome("next", state.get("Next"), dataflow.output(state, raw, result, context))
            make = states.parallel_children if kind == "Parallel" else states.map_children
            return states.Outcome("spawn", children=make(state, raw, context))
        except StatesError as exc:
            return states.Outcome("fail", cause=exc)

    def _traced_task(self, frame: dict[str, Any], state: dict[str, Any], raw: Any, context: Any) -> states.Outcome:
        """A Task state as a ``workflow`` span continuing the trace the execution was started in."""
        tracer = trace_context.tracer
        active = tracer.start("workflow", self.workflow, frame["state"], self.store.trace_of(frame["arn"]))
        active.attributes["execution"] = frame["arn"]
        try:
            outcome = states.run_task(state, raw, context, self.task(state["Resource"]))
        except BaseException as exc:
            tracer.finish(active, [exc])
            raise
        tracer.finish(active, [outcome.cause] if outcome.cause is not None else [])
        return outcome

    # -- recording --------------------------------------------------------------------------------
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
                if events:
                    self.store.append(conn, frame["arn"], events, now)
                return False
        if outcome.kind in ("spawn", "fail") or outcome.target is None:
            self._check(conn, frame)  # the other paths check in _update
        if outcome.kind == "wait":
            deadline = self._deadline(conn, frame["arn"])
            self._update(conn, frame, due=min(outcome.due, deadline), phase="waited", owner=None)
            return False
        if outcome.kind == "spawn":
            spawn(self, conn, frame, state, outcome.children, now)
            return False
        text = dataflow.encode(outcome.output)
        exited = (f"{kind}StateExited", {"stateExitedEventDetails": {"name": frame["state"], "output": text}})
        if outcome.kind == "fail" or (outcome.kind == "next" and outcome.target is None):
            if outcome.kind == "next" and kind != "Fail":
                events.append(exited)
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
                    output = dataflow.combine(catcher.get("ResultPath", "$"), raw, caught)
                except StatesError as exc:
                    return states.Outcome("fail", cause=exc)
                return states.Outcome("next", catcher["Next"], output)
        return states.Outcome("fail", cause=error)

    def _finish(self, conn: sqlite3.Connection, frame: dict[str, Any], outcome: states.Outcome, now: float) -> bool:
        """The frame's scope ended (success or failure): the execution ends, or the parent hears of it."""
        if frame["parent"] is not None:
            finish_child(self, conn, frame, outcome, now)
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
            "version = ?, result = ? WHERE id = ? AND version = ? AND status = 'ready'",
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
                frame["id"],
                frame["version"] - 1,
            ),
        ).rowcount
        if not moved:
            raise Lost()

    def _release(self, frame: dict[str, Any]) -> None:
        with self.store.db.write() as conn:
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


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
