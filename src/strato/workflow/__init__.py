"""Workflows (Step Functions): ``wf = app.workflow("report", definition=asl)``, ``@wf.task("FetchData")``,
then ``wf.start(input)`` / ``describe`` / ``history`` / ``executions`` / ``stop`` / ``start_sync`` (Express).

The Amazon States Language definition is the contract: it is validated here, at declaration, as
CreateStateMachine validates it; locally the worker runs it durably, on AWS Step Functions does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from ..core.config import check_name
from ..core.context import Context
from ..core.errors import ConfigurationError, NotFound, ValidationError
from ..core.hints import TYPE_CHECKING, Any, TypeVar
from ..core.permissions import requires
from ..core.resource import Resource
from .spi import ACTIONS, CAPABILITIES, WorkflowBackend

if TYPE_CHECKING:
    from dataclasses import dataclass
    from pathlib import Path
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

F = TypeVar("F", bound=Callable[..., Any])
TYPES = ("STANDARD", "EXPRESS")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
MAX_INPUT = 256 * 1024
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
INTEGRATION = "arn:aws:states:::"  # an optimized service integration's Resource (see integrations.py)
_SUBSTITUTION = re.compile(r"^\$\{([A-Za-z0-9_.-]+)\}$")

__all__ = ["CAPABILITIES", "Execution", "Workflow"]


@dataclass
class Execution:
    """DescribeExecution's answer, with ``input`` and ``output`` parsed."""

    arn: str
    name: str
    status: str
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: float = 0.0
    stop_date: float | None = None


def task_name(resource: str) -> str:
    """The task a Task's ``Resource`` names: ``FetchData`` or ``${FetchData}`` (a DefinitionSubstitution)."""
    match = _SUBSTITUTION.match(resource)
    return match.group(1) if match else resource


class Workflow(Resource[WorkflowBackend]):
    kind = "workflow"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        definition: dict[str, Any] | str | Path,
        *,
        type: str = "STANDARD",
        app_tasks: dict[str, Callable[..., Any]] | None = None,
        app_resources: Callable[[str], list[Any]] | None = None,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        from . import asl

        check_name("workflow", name)
        if type not in TYPES:
            raise ConfigurationError(f"workflow {name!r}: type must be STANDARD or EXPRESS, not {type!r}")
        super().__init__(ctx, name, provider=provider, allow=allow)
        self.type = type
        self.definition = asl.load(definition)
        self.states = asl.validate(self.definition)
        self.tasks: dict[str, Callable[..., Any]] = {}
        self.app_tasks = app_tasks if app_tasks is not None else {}
        #: the app's declared resources of a kind: what service integrations (sqs:sendMessage...) reach
        self.app_resources = app_resources if app_resources is not None else (lambda kind: [])

    def background_work(self) -> bool:
        return True  # Step Functions runs executions by itself; locally the worker does

    def required_capabilities(self) -> set[str]:
        return {"python_tasks"} if self.task_resources() else set()

    # -- tasks ----------------------------------------------------------------------------------
    def task(self, name: str) -> Callable[[F], F]:
        """``@wf.task("FetchData")``: the Python function a Task whose Resource is ``FetchData`` runs."""
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a task needs a name")

        def register(fn: F) -> F:
            if name in self.tasks:
                raise ConfigurationError(f"workflow {self.name!r} already has a task {name!r}")
            self.tasks[name] = fn
            return fn

        return register

    def task_resources(self) -> list[str]:
        """The Python task handlers the Tasks name (service integrations such as sqs:sendMessage are not)."""
        return sorted(
            {
                task_name(s["Resource"])
                for s in self.states.values()
                if s["Type"] == "Task" and not s["Resource"].startswith(INTEGRATION)
            }
        )

    @property
    def physical_name(self) -> str:
        """The state machine's name on AWS (``<app>-<stage>-<name>`` unless the stack set another)."""
        return str(self.config.physical_name("workflow", self.name))

    def find_task(self, name: str) -> Callable[..., Any] | None:
        return self.tasks.get(name) or self.app_tasks.get(name)

    def handler(self, resource: str) -> Callable[..., Any]:
        if resource.startswith(INTEGRATION):
            from . import patterns

            return patterns.handler(resource, self)
        if resource.startswith("arn:aws:lambda:"):  # a Task naming a function by its ARN (lambda_invoke.py)
            from . import patterns

            direct = patterns.function_handler(resource, self)
            if direct is not None:
                return direct
        name = task_name(resource)
        found = self.find_task(name)
        if found is None:
            raise ConfigurationError(
                f"workflow {self.name!r}: no task handler {name!r} (declare it with @wf.task({name!r}) or @app.task)"
            )
        return found

    def _check_tasks(self) -> None:
        for name in self.task_resources():
            self.handler(name)

    # -- executions -----------------------------------------------------------------------------
    @requires("start")
    def start(self, input: Any = None, *, name: str | None = None) -> str:
        """Start an execution; returns its ARN. A name already used starts nothing (Standard): the same
        ARN comes back if the input is the same, else ``ValidationError`` (ExecutionAlreadyExists)."""
        return self.backend.start(self._name(name), self._input(input))

    @requires("start")
    def start_sync(self, input: Any = None, *, name: str | None = None) -> Execution:
        """Express only: run an execution to its end and return it (StartSyncExecution)."""
        self._need("start_sync")
        if self.type != "EXPRESS":
            raise ConfigurationError(f"workflow {self.name!r}: start_sync is for EXPRESS workflows only")
        return _execution(self.backend.start_sync(self._name(name), self._input(input)))

    @requires("read")
    def describe(self, arn: str) -> Execution:
        return _execution(self.backend.describe(self._arn(arn)))

    @requires("read")
    def history(self, arn: str) -> list[dict[str, Any]]:
        """GetExecutionHistory's events, oldest first: ``id``, ``previousEventId``, ``timestamp``, ``type`` and
        the type's details (``stateEnteredEventDetails``: name, input; ...)."""
        self._need("history")
        return self.backend.history(self._arn(arn))

    @requires("read")
    def executions(self, status: str | None = None, *, limit: int = 100) -> list[Execution]:
        """Newest first; ``status`` one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED."""
        if status is not None and status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("limit must be an integer from 1 to 1000")
        return [_execution(e) for e in self.backend.executions(status, limit)]

    @requires("stop")
    def stop(self, arn: str, *, error: str = "", cause: str = "") -> None:
        """Stop a running execution (ABORTED); stopping one that has ended changes nothing."""
        if len(error) > 256 or len(cause) > 32_768:
            raise ValidationError("error is at most 256 characters and cause at most 32,768")
        self.backend.stop(self._arn(arn), error, cause)

    # -- the callback pattern (.waitForTaskToken) ------------------------------------------------
    @requires("callback")
    def send_task_success(self, token: str, output: Any) -> None:
        """Answer a ``.waitForTaskToken`` task: its result is ``output`` (JSON; a str is JSON text), at
        most 256 KB. Raises TaskDoesNotExist / InvalidToken / TaskTimedOut / InvalidOutput as AWS does."""
        from . import callbacks

        self.backend.send_task_success(callbacks.check_token(token), callbacks.check_output(output))

    @requires("callback")
    def send_task_failure(self, token: str, *, error: str = "", cause: str = "") -> None:
        """Fail a ``.waitForTaskToken`` task with ``error`` (what Retry / Catch match) and ``cause``."""
        from . import callbacks

        if not isinstance(error, str) or not isinstance(cause, str) or len(error) > 256 or len(cause) > 32_768:
            raise ValidationError("error is a string of at most 256 characters and cause at most 32,768")
        self.backend.send_task_failure(callbacks.check_token(token), error, cause)

    @requires("callback")
    def send_task_heartbeat(self, token: str) -> None:
        """The task is still being worked on: its HeartbeatSeconds start again."""
        from . import callbacks

        self.backend.send_task_heartbeat(callbacks.check_token(token))

    def drop(self) -> None:
        """Forget every execution (tests)."""
        self.backend.drop()

    # -- validation -----------------------------------------------------------------------------
    def _name(self, name: str | None) -> str:
        if name is None:
            from ..core.ids import new_id

            return new_id()
        if not isinstance(name, str) or not _EXECUTION_NAME.match(name):
            raise ValidationError(f"execution name {name!r}: 1-80 letters, digits, '-' or '_'")
        return name

    def _input(self, given: Any) -> str:
        try:
            text = json.dumps({} if given is None else given, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"a workflow's input must be JSON: {exc}") from None
        if len(text.encode()) > MAX_INPUT:
            raise ValidationError(
                f"States.DataLimitExceeded: the input is {len(text.encode()):,} bytes, over {MAX_INPUT:,}"
            )
        return text

    def _arn(self, arn: str) -> str:
        if not isinstance(arn, str) or (":execution:" not in arn and ":express:" not in arn):
            raise NotFound(f"{arn!r} is not an execution ARN of workflow {self.name!r}")
        return arn

    def __repr__(self) -> str:
        return f"<Workflow {self.name} {self.type}>"


def _execution(found: dict[str, Any]) -> Execution:
    output = found.get("output")
    return Execution(
        arn=found["executionArn"],
        name=found["name"],
        status=found["status"],
        input=json.loads(found["input"]) if found.get("input") is not None else None,
        output=json.loads(output) if output is not None else None,
        error=found.get("error"),
        cause=found.get("cause"),
        start_date=found["startDate"],
        stop_date=found.get("stopDate"),
    )
