"""Which integration a Task's Resource names and with which pattern (request-response, ``.sync``,
``.sync:2``, ``.waitForTaskToken``), as Step Functions allows them per service: checked at declaration,
and the callable the executor runs for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from . import integrations, lambda_invoke, nested

if TYPE_CHECKING:
    from . import Workflow

PREFIX = integrations.PREFIX
#: service -> the patterns Step Functions offers for it (connect-to-resource.html's table)
PATTERNS: dict[str, tuple[str, ...]] = {
    "sqs:sendMessage": ("", ".waitForTaskToken"),
    "sns:publish": ("", ".waitForTaskToken"),
    lambda_invoke.INVOKE: ("", ".waitForTaskToken"),
    nested.START: ("", ".sync", ".sync:2", ".waitForTaskToken"),
}
_SUFFIXES = (".sync:2", ".sync", ".waitForTaskToken")


def split(resource: str) -> tuple[str, str]:
    """``arn:aws:states:::states:startExecution.sync:2`` -> (``states:startExecution``, ``.sync:2``)."""
    service = resource[len(PREFIX) :]
    for suffix in _SUFFIXES:
        if service.endswith(suffix):
            return service[: -len(suffix)], suffix
    return service, ""


def check(name: str, state: dict[str, Any]) -> None:
    service, pattern = split(state["Resource"])
    if pattern and pattern not in PATTERNS.get(service, ("",)):
        offered = [p for p in PATTERNS.get(service, ("",)) if p]
        why = f"offers {', '.join(offered)}" if offered else "is request-response only"
        raise ConfigurationError(f"state {name!r}: {service} does not support {pattern} (Step Functions {why})")
    given = repr(state.get("Parameters", state.get("Arguments")))
    if pattern == ".waitForTaskToken" and "$$.Task.Token" not in given and "$states.context.Task.Token" not in given:
        raise ConfigurationError(
            f"state {name!r}: a .waitForTaskToken task must pass the task token ($$.Task.Token, or "
            "$states.context.Task.Token in JSONata) in its Parameters / Arguments"
        )
    arguments = {"Parameters": state["Arguments"]} if isinstance(state.get("Arguments"), dict) else {}
    if service == lambda_invoke.INVOKE:
        lambda_invoke.check(name, {**state, **arguments})
    elif service == nested.START:
        nested.check(name, {**state, **arguments})
    else:
        integrations.check(name, {**state, "Resource": PREFIX + service})


def handler(resource: str, workflow: Workflow) -> Callable[..., Any]:
    service, pattern = split(resource)
    if service == lambda_invoke.INVOKE:
        return lambda_invoke.handler(workflow.find_task, _prefix(workflow))
    if service == nested.START and pattern in (".sync", ".sync:2"):  # waiting.py starts and waits

        def planner(params: Any, default: str) -> tuple[Any, str, Any]:
            return nested.plan(params, workflow.app_resources("workflow"), default)

        return planner
    if service == nested.START:
        return _start(workflow)
    return integrations.handler(PREFIX + service, workflow.app_resources)


def function_handler(resource: str, workflow: Workflow) -> Callable[..., Any] | None:
    """A Task whose Resource is a Lambda function's ARN naming a task (None: it names none)."""
    fn = lambda_invoke.function(resource, workflow.find_task, _prefix(workflow))
    return None if fn is None else lambda_invoke.direct(fn)


def _prefix(workflow: Workflow) -> str:
    config = workflow.ctx.config
    return f"{config.app_name}-{config.stage}-"


def _start(workflow: Workflow) -> Callable[[Any, Any], Any]:
    """Fire and forget (the ``.sync`` and callback forms are run by the executor's waiting.py)."""

    def call(params: Any, context: Any) -> Any:
        default = nested.default_name(context["Task"]["Token"]) if "Task" in context else None
        child, name, given = nested.plan(params, workflow.app_resources("workflow"), default or _fresh())
        arn = nested.launch(child, name, given)
        return {"ExecutionArn": arn, "StartDate": nested.epoch_ms(child.describe(arn).start_date)}

    return call


def _fresh() -> str:
    import uuid

    return str(uuid.uuid4())


__all__ = ["PATTERNS", "check", "function_handler", "handler", "split"]
