"""The local executor: takes due frames from the store, runs one state of each, and records the move (its
history events, the frame's new state, the execution's end) in one transaction before the next state
starts. A frame whose next state can run at once stays claimed and goes on in memory, so a chain of
Pass states costs one transaction per transition; so does the Map iteration (or Parallel branch) a
finishing sibling lets start, claimed in the transaction that starts it. Task states run on the app's
bounded thread pool (``TASK_THREADS``), never a thread per task."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ..core import clock
from ..trace import context as trace_context
from . import billing, callbacks, dataflow, jsonata_states, nested, querylang, states, variables, waiting
from .children import finish_child, spawn
from .errors import StatesError, matches
from .pool import TaskPool
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
        self.jsonata = querylang.jsonata_states(definition)  # the states that use JSONata
        self.uses_variables = variables.uses_variables(by_name)
        self.tasks: TaskPool | None = None  # the app's, set by the local backend; else made on first use
        self._pool_lock = threading.Lock()
        self._local = threading.local()  # per loop thread: the frames claimed while recording (adopted)
        self.usage: Any = None  # the app's usage counter (strato cost), set by the local backend
        self.express = False
        self.definition_size = len(json.dumps(definition))

    # -- the loop's pass --------------------------------------------------------------------------
    def step(self, limit: int = 16, arn: str | None = None) -> int:
        """Run the frames due now (at most ``limit`` claims); returns how many transitions were made.

        Group commit: each round runs one state of every frame in hand, then records all their moves in one
        transaction, so each frame's transition is durable before that frame's next state starts, and a
        busy worker pays one commit per round rather than one per transition."""
        done = 0
        active = self.store.claim(self.workflow, clock.now(), limit, arn)
        adopted: list[dict[str, Any]] = []
        self._local.adopted = adopted
        for _ in range(BURST):
            if not active:
                return done
            moves = self._run_all(active)
            active = []
            now = clock.now()
            with self.store.write() as conn, self.store.batch() as pending:
                for frame, outcome in moves:
                    conn.execute("SAVEPOINT frame")
                    mark, written = len(adopted), len(pending)
                    try:
                        again = self._record(conn, frame, outcome, now)
                    except Lost:  # stopped, cancelled or taken over meanwhile: drop this move alone
                        conn.execute("ROLLBACK TO frame")
                        conn.execute("RELEASE frame")
                        del adopted[mark:], pending[written:]
                        continue
                    conn.execute("RELEASE frame")
                    done += 1
                    if again:
                        active.append(frame)
                self.store.flush(conn, pending)
            billing.recorded(self.usage, self.express, self.store.db.conn, pending, self.definition_size)
            active += adopted
            adopted.clear()
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
        """One state of each frame; Task states of several frames run at once (on the app's task pool), as
        Map iterations and Parallel branches run concurrently on AWS."""
        tasks = [f for f in frames if self.by_name[f["state"]]["Type"] == "Task"]
        if len(tasks) < 2:
            return [(frame, self._run(frame)) for frame in frames]
        found = {f["id"]: o for f, o in zip(tasks, self._tasks_pool().map(self._run, tasks), strict=True)}
        for frame in frames:
            if frame["id"] not in found:
                found[frame["id"]] = self._run(frame)
        return [(frame, found[frame["id"]]) for frame in frames]

    def _tasks_pool(self) -> TaskPool:
        if self.tasks is None:
            with self._pool_lock:
                if self.tasks is None:
                    self.tasks = TaskPool()
        return self.tasks

    def adopt(self, frame: dict[str, Any]) -> bool:
        """Take a frame started in the transaction being written (a Map iteration a sibling's end let
        start) into this loop's hand; False when this thread is not inside ``step`` (it stays free)."""
        adopted = getattr(self._local, "adopted", None)
        if adopted is None:
            return False
        adopted.append(frame)
        return True

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

    def _scope(self, frame: dict[str, Any]) -> variables.Scope:
        """The context object of the frame's state, with the variables it reads and its query language."""
        visible = variables.visible(self.store.db.conn, frame) if self.uses_variables else {}
        return variables.Scope(self._context(frame), visible, frame["state"] in self.jsonata)

    def _run(self, frame: dict[str, Any]) -> states.Outcome:
        state = self.by_name[frame["state"]]
        raw = json.loads(frame["input"])
        try:
            context = self._scope(frame)
            timeout = self.definition.get("TimeoutSeconds")
            if timeout is not None and clock.now() >= self._inputs[frame["arn"]][1]["startDate"] + timeout:
                return states.Outcome("timeout")
            if state["Type"] == "Task" and trace_context.tracer is not None:
                outcome = self._traced(frame, lambda: self._state(frame, state, raw, context))
            else:
                outcome = self._state(frame, state, raw, context)
            if context.assigned is not None and outcome.kind == "next":
                variables.check_sizes(context.assigned, context.variables)
                outcome.assigned = context.assigned
            return outcome
        except StatesError as exc:
            events = jsonata_states.failed_events(frame["state"], exc, self.store.db.conn, frame["arn"])
            return states.Outcome("fail", cause=exc, events=events)

    def _state(self, frame: dict[str, Any], state: dict[str, Any], raw: Any, context: variables.Scope) -> Any:
        kind = state["Type"]
        if context.jsonata and kind in jsonata_states.RUNS:
            return jsonata_states.RUNS[kind](state, raw, context)
        if kind in _RUNS:
            return _RUNS[kind](state, raw, context)
        if kind == "Task" and callbacks.is_waiting(state["Resource"]):
            return waiting.run(self, frame, state, raw, context)
        if kind == "Task":
            return states.run_task(state, raw, context, self.task(state["Resource"]))
        if kind == "Wait":
            if frame["phase"] == "waited":
                if context.jsonata:
                    return jsonata_states.after_wait(state, raw, context)
                if "Assign" in state:
                    dataflow.assign(state["Assign"], dataflow._input_path(state, raw), context)
                return states.Outcome("next", state.get("Next"), states._filtered(state, raw))
            if context.jsonata:
                return states.Outcome("wait", due=jsonata_states.wait_until(state, raw, context, clock.now()))
            return states.Outcome("wait", due=states.wait_until(state, raw, clock.now()))
        if frame["phase"] == "joined":
            result = json.loads(frame["result"])
            if isinstance(result, dict) and "__error__" in result:
                return states.Outcome("fail", cause=StatesError(*result["__error__"]))
            return states.Outcome("next", state.get("Next"), dataflow.output(state, raw, result, context))
        if kind == "Map" and context.jsonata:
            children, limit = jsonata_states.map_children(state, raw, context)
            outcome = states.Outcome("spawn", children=children)
            outcome.limit = limit
            return outcome
        make = states.parallel_children if kind == "Parallel" else states.map_children
        return states.Outcome("spawn", children=make(state, raw, context))

    def _traced(self, frame: dict[str, Any], run: Callable[[], states.Outcome]) -> states.Outcome:
        """A Task state as a ``workflow`` span continuing the trace the execution was started in."""
        tracer = trace_context.tracer
        active = tracer.start("workflow", self.workflow, frame["state"], self.store.trace_of(frame["arn"]))
        active.attributes["execution"] = frame["arn"]
        try:
            outcome = run()
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
            spawn(self, conn, frame, state, outcome.children, now, limit=outcome.limit)
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
                finish_child(self, conn, frame, outcome, now, events)
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
            finish_child(self, conn, frame, outcome, now, [])
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


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
