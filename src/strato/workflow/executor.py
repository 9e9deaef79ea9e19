"""The local executor: takes due frames from the store, runs one state of each, and records the move (its
history events, the frame's new state, the execution's end) in one transaction before the next state
starts. A frame whose next state can run at once stays claimed and goes on in memory, so a chain of
Pass states costs one transaction per transition; so does the Map iteration (or Parallel branch) a
finishing sibling lets start, claimed in the transaction that starts it. Task states run on the app's
bounded thread pool (``TASK_THREADS``), never a thread per task."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ..core import clock
from ..trace import context as trace_context
from . import billing, callbacks, dataflow, jsonata_states, querylang, states, variables, waiting
from .errors import StatesError
from .pool import TaskPool
from .recording import Lost, Recorder
from .store import WorkflowStore

_RUNS = {"Pass": states.run_pass, "Choice": states.run_choice, "Succeed": states.run_succeed, "Fail": states.run_fail}
BURST = 200  # transitions a frame may make in one go before other frames get a turn


class Executor(Recorder):
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
        active.attributes = {"execution": frame["arn"]}
        try:
            outcome = run()
        except BaseException as exc:
            tracer.finish(active, [exc])
            raise
        tracer.finish(active, [outcome.cause] if outcome.cause is not None else [])
        return outcome


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
