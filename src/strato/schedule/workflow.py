"""``app.schedule("rate(1 hour)", workflow=wf, input={...})``: each firing starts an execution of ``wf``
with ``input``. Locally the scheduler runs it like any schedule (the handler starts the execution); on AWS
the EventBridge Scheduler schedule targets the state machine itself (schedule/deploy.py): Scheduler's
templated target for Step Functions calls StartExecution with the schedule's Input, no function between."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.config import check_name
from ..core.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from ..app import App
    from ..workflow import Workflow
    from . import Schedule


def declare(app: App, schedule: Schedule, workflow: Workflow, given: Any, name: str | None) -> Callable[[Any], Any]:
    from ..workflow import Workflow

    if not isinstance(workflow, Workflow):
        raise ConfigurationError(f"schedule {schedule.expression!r}: workflow= takes a workflow, not {workflow!r}")
    try:
        text = workflow._input(given)  # JSON, at most 256 KB: what StartExecution takes
    except ValidationError as exc:
        raise ConfigurationError(f"schedule {schedule.expression!r}: input: {exc}") from None
    label = name or re.sub(r"[^A-Za-z0-9]+", "-", f"start-{workflow.name}").strip("-")
    check_name("schedule", label)
    if any(s.name == label for s in app.schedules):
        raise ConfigurationError(
            f"schedule {label!r} is declared twice on app {app.name!r} (give each schedule of a workflow a name=)"
        )
    payload = json.loads(text)

    def start() -> str:
        return workflow.start(payload)

    schedule.handler, schedule.name, schedule.workflow, schedule.input = start, label, workflow, payload
    app.schedules.append(schedule)

    def refuse(fn: Any) -> Any:
        raise ConfigurationError(
            f"schedule {label!r} starts workflow {workflow.name!r} itself and runs no handler: call "
            "app.schedule(..., workflow=...) as a statement, not as a decorator"
        )

    return refuse
