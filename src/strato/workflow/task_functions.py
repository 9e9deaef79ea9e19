"""Python task handlers as Lambda functions: which functions a workflow's Tasks need, what their
DefinitionSubstitutions keys are, and the entry each function runs.

On AWS a Task whose ``Resource`` is a function ARN sends the function the task's effective input and takes
its return value as the result. A Python Lambda that raises reports ``errorType`` = the exception class's
``__name__`` (the runtime's ``build_fault_result``), and Step Functions matches Retry / Catch ``ErrorEquals``
against that name, as the local executor matches ``type(exc).__name__``. A handler raising
:class:`~strato.workflow.errors.StatesError` (a named error such as ``Custom.Failure``) is re-raised as an
exception whose class is named that error, so the name survives the trip through Lambda too."""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from collections.abc import Callable
    from typing import Any

    from ..app import App
    from . import Workflow

ENV = "STRATO_WORKFLOW_TASK"  # set per task function by synth: "<workflow>/<task>"
DEFAULT_TIMEOUT = 60  # seconds, when no Task naming the handler sets TimeoutSeconds
LAMBDA_MAX_TIMEOUT = 900


def substitution_key(task: str) -> str:
    """The ``${key}`` a task's Resource becomes: the task name, or its letters, digits and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9_]", "_", task)


def function_key(workflow: Workflow, task: str) -> str:
    """``task-<name>`` for an app-wide ``@app.task`` (one function, whichever workflows name it),
    ``task-<workflow>-<name>`` for a workflow's own ``@wf.task``."""
    own = task in workflow.tasks
    return f"task-{workflow.name}-{task}" if own else f"task-{task}"


def timeout(workflow: Workflow, task: str) -> int:
    """The function's timeout: the longest TimeoutSeconds of the Tasks naming it (Lambda allows 900 s)."""
    from . import task_name

    given = [
        s.get("TimeoutSeconds", DEFAULT_TIMEOUT)
        for s in workflow.states.values()
        if s["Type"] == "Task" and task_name(s["Resource"]) == task and isinstance(s.get("TimeoutSeconds", 0), int)
    ]
    return max(3, min(LAMBDA_MAX_TIMEOUT, max(given, default=DEFAULT_TIMEOUT)))


def named_error(error: str, cause: str) -> Exception:
    """An exception whose class is named ``error``: what Lambda reports as ``errorType``."""
    kind = type(error, (Exception,), {"__module__": "strato.workflow"})
    return kind(cause)


def run(app: App, event: Any, context: Any) -> Any:
    """The Lambda entry of a task function: the task input in, its output back."""
    from .errors import StatesError

    wanted = os.environ.get(ENV, "")
    workflow_name, _, task = wanted.partition("/")
    workflow = app.resources.get(("workflow", workflow_name))
    if workflow is None or not task:
        from ..core.errors import ConfigurationError

        raise ConfigurationError(f"{ENV}={wanted!r} names no task of a workflow of app {app.name!r}")
    handler: Callable[..., Any] = workflow.handler(task)
    takes_context = getattr(handler, "__code__", None) is not None and handler.__code__.co_argcount >= 2
    try:
        return handler(event, context) if takes_context else handler(event)
    except StatesError as exc:
        raise named_error(exc.error, exc.cause) from None
