"""The local provider: executions in the app's SQLite workflow store, run by the worker's loops (``strato
dev`` / ``strato worker`` / the test kit's ``drain()``); a Wait is a due time the loops pick up, moved by
the virtual clock like every other due time (``Timekeeper.advance`` runs what fell due)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.config import region
from ..core.errors import NotFound, ValidationError
from ..runtime.wakeup import Wakeup
from ..runtime.work import Loop
from ..trace.context import outgoing_header
from .executor import Executor
from .store import WorkflowStore

if TYPE_CHECKING:
    from ..core.context import ProviderServices
    from . import Workflow
    from .spi import WorkflowBackend

LOOPS = 8  # threads claiming frames per workflow
CLAIM = 8  # frames a loop takes at once: up to LOOPS x CLAIM Map / Parallel tasks run at once
ACCOUNT = "000000000000"


class LocalWorkflowBackend:
    capabilities = frozenset({"history", "start_sync", "python_tasks"})

    def __init__(self, workflow: Workflow, store: WorkflowStore, wakeup: Wakeup) -> None:
        self.workflow = workflow
        self.store = store
        self.wakeup = wakeup
        prefix = f"arn:aws:states:{region()}:{ACCOUNT}"
        self.machine_arn = f"{prefix}:stateMachine:{workflow.name}"
        self.executor = Executor(store, workflow.name, prefix, workflow.definition, workflow.states, workflow.handler)

    # -- executions -----------------------------------------------------------------------------
    def start(self, name: str, input_text: str) -> str:
        self.workflow._check_tasks()
        kind = "express" if self.workflow.type == "EXPRESS" else "execution"
        arn = f"{self.machine_arn.replace(':stateMachine:', f':{kind}:')}:{name}"
        now = clock.now()
        start = self.workflow.definition["StartAt"]
        with self.store.db.write() as conn:
            row = conn.execute("SELECT input, status FROM executions WHERE arn = ?", (arn,)).fetchone()
            if row is not None:
                if row[0] == input_text and row[1] == "RUNNING":
                    return arn  # StartExecution is idempotent for a running execution with the same input
                raise ValidationError(f"ExecutionAlreadyExists: execution {name!r} already exists")
            conn.execute(
                "INSERT INTO executions (arn, workflow, name, type, status, input, started, trace) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (arn, self.workflow.name, name, self.workflow.type, "RUNNING", input_text, now, outgoing_header()),
            )
            started = {"input": input_text, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/strato-local"}
            entered = {"name": start, "input": input_text}
            first = self.workflow.states[start]["Type"]
            self.store.append(
                conn,
                arn,
                [
                    ("ExecutionStarted", {"executionStartedEventDetails": started}),
                    (f"{first}StateEntered", {"stateEnteredEventDetails": entered}),
                ],
                now,
                transitions=1,
            )
            conn.execute(
                "INSERT INTO frames (arn, workflow, parent, slot, state, input, status, due, phase, entered) "
                "VALUES (?, ?, NULL, 0, ?, ?, 'ready', ?, 'run', ?)",
                (arn, self.workflow.name, start, input_text, now, now),
            )
        self.wakeup.notify()
        return arn

    def start_sync(self, name: str, input_text: str) -> dict[str, Any]:
        arn = self.start(name, input_text)
        self.executor.run_to_end(arn)
        return self.describe(arn)

    def describe(self, arn: str) -> dict[str, Any]:
        found = self.store.execution(arn)
        if found is None or found["workflow"] != self.workflow.name:
            raise NotFound(f"ExecutionDoesNotExist: {arn}")
        return found

    def history(self, arn: str) -> list[dict[str, Any]]:
        self.describe(arn)
        return self.store.history(arn)

    def executions(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        return self.store.executions(self.workflow.name, status, limit)

    def stop(self, arn: str, error: str, cause: str) -> None:
        self.describe(arn)
        now = clock.now()
        with self.store.db.write() as conn:
            (status,) = conn.execute("SELECT status FROM executions WHERE arn = ?", (arn,)).fetchone()
            if status != "RUNNING":
                return
            conn.execute("DELETE FROM frames WHERE arn = ?", (arn,))
            details = {"error": error, "cause": cause}
            self.store.append(conn, arn, [("ExecutionAborted", {"executionAbortedEventDetails": details})], now)
            conn.execute(
                "UPDATE executions SET status = 'ABORTED', error = ?, cause = ?, stopped = ? WHERE arn = ?",
                (error or None, cause or None, now, arn),
            )

    def drop(self) -> None:
        self.store.drop(self.workflow.name)

    # -- the worker's part ----------------------------------------------------------------------
    def run_due(self) -> int:
        """Everything due now, to the end (``Timekeeper.advance`` after moving the clock)."""
        total = 0
        while True:
            done = self.executor.step(limit=64)
            if not done:
                return total
            total += done

    def next_due(self) -> float | None:
        return self.store.next_due(self.workflow.name)

    def background(self, workflow: Workflow) -> list[Loop]:
        def step() -> int:
            seen = self.wakeup.generation
            done = self.executor.step(limit=CLAIM)
            if done:
                self.wakeup.notify()  # children or joins may be ready for the other loops
                return done
            due = self.store.next_due(self.workflow.name)
            wait = 0.25 if due is None else max(0.005, min(0.25, due - clock.now()))
            if clock.installed() is not None:
                wait = 0.25  # virtual time moves by advance(), which runs what falls due itself
            self.wakeup.wait(seen, wait)
            return 0

        def drain() -> int:
            return self.executor.step(limit=64)

        name = f"workflow:{workflow.name}"
        return [Loop(f"{name}:{n}", step, drain=drain if n == 0 else None) for n in range(LOOPS)]


def open_backend(workflow: Workflow, services: ProviderServices) -> LocalWorkflowBackend:
    store = services.local_store(WorkflowStore)
    wakeup = services.shared("workflow-wakeup", Wakeup)
    return LocalWorkflowBackend(workflow, store, wakeup)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: LocalWorkflowBackend) -> WorkflowBackend:
        return backend
