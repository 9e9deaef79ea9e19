"""What each state type does with its input, apart from storage: an :class:`Outcome` the executor records.

Pure except for Task, which calls the Python task handler. Wait returns a due time instead of sleeping;
Parallel and Map return the inputs of their branches / iterations and are resumed with the results."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from . import choice, dataflow, paths, variables
from .errors import StatesError, of_exception


class Outcome:
    """``kind``: next (``target`` None ends the scope), fail, wait (``due``), spawn (``children``, at most
    ``limit`` at once), callback (``output`` is the key the answer comes with: waiting.py); ``assigned``: the
    variables the state assigns (see variables.py)."""

    __slots__ = ("assigned", "cause", "children", "due", "events", "kind", "limit", "output", "target")

    def __init__(
        self,
        kind: str,
        target: str | None = None,
        output: Any = None,
        *,
        cause: StatesError | None = None,
        due: float = 0.0,
        children: list[tuple[str, Any]] | None = None,
        events: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.kind, self.target, self.output, self.cause = kind, target, output, cause
        self.due, self.children, self.events = due, children or [], events or []
        self.assigned: dict[str, Any] | None = None
        self.limit: int | None = None


def _after(state: dict[str, Any], output: Any) -> Outcome:
    return Outcome("next", state.get("Next"), output)


def _filtered(state: dict[str, Any], raw: Any) -> Any:
    """InputPath then OutputPath, for states without a result (Choice, Wait, Succeed)."""
    data = (
        raw if "InputPath" not in state else {} if state["InputPath"] is None else paths.select(raw, state["InputPath"])
    )
    if "OutputPath" not in state:
        return data
    return {} if state["OutputPath"] is None else paths.select(data, state["OutputPath"], what="OutputPath")


def run_pass(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    data = dataflow.effective_input(state, raw, context)
    result = state.get("Result", data)
    return _after(state, dataflow.output(state, raw, result, context))


def run_choice(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    data = (
        raw if "InputPath" not in state else {} if state["InputPath"] is None else paths.select(raw, state["InputPath"])
    )
    for rule in state["Choices"]:
        if choice.evaluate(rule, data, context):
            for holder in (state, rule):  # the state's Assign applies whichever rule matched, then the rule's
                if "Assign" in holder:
                    dataflow.assign(holder["Assign"], data, context)
            return Outcome("next", rule["Next"], _filtered(state, raw))
    if "Default" in state:
        if "Assign" in state:
            dataflow.assign(state["Assign"], data, context)
        return Outcome("next", state["Default"], _filtered(state, raw))
    # States.NoChoiceMatched is "reserved for future use": the guide reports it as States.Runtime
    raise StatesError("States.Runtime", "No Matches! The Choice state matched no rule and has no Default")


def wait_until(state: dict[str, Any], raw: Any, now: float) -> float:
    data = (
        raw if "InputPath" not in state else {} if state["InputPath"] is None else paths.select(raw, state["InputPath"])
    )
    if "Seconds" in state:
        return now + state["Seconds"]
    if "SecondsPath" in state:
        seconds = paths.select(data, state["SecondsPath"], what="SecondsPath")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise StatesError(
                "States.Runtime", f"The SecondsPath parameter does not reference a valid number: {seconds!r}"
            )
        return now + seconds
    text = (
        state["Timestamp"] if "Timestamp" in state else paths.select(data, state["TimestampPath"], what="TimestampPath")
    )
    when = choice.timestamp(text)
    if when is None:
        raise StatesError(
            "States.Runtime", f"The TimestampPath parameter does not reference a valid timestamp: {text!r}"
        )
    return when.timestamp()


def run_succeed(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    return Outcome("next", None, _filtered(state, raw))


def run_fail(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    error = dataflow.dynamic(state["ErrorPath"], raw, context) if "ErrorPath" in state else state.get("Error", "")
    cause = dataflow.dynamic(state["CausePath"], raw, context) if "CausePath" in state else state.get("Cause", "")
    if not isinstance(error, str) or not isinstance(cause, str):
        raise StatesError("States.Runtime", "ErrorPath and CausePath must select strings")
    return Outcome("fail", cause=StatesError(error, cause))


def run_task(state: dict[str, Any], raw: Any, context: Any, handler: Callable[..., Any]) -> Outcome:
    data = dataflow.effective_input(state, raw, context)
    rtype, resource = _resource_type(state["Resource"])
    scheduled = {"resourceType": rtype, "resource": resource, "parameters": dataflow.encode(data)}
    events: list[tuple[str, dict[str, Any]]] = [
        ("TaskScheduled", {"taskScheduledEventDetails": scheduled}),
        ("TaskStarted", {"taskStartedEventDetails": {"resourceType": rtype, "resource": resource}}),
    ]
    try:
        result = _call(handler, data, context, dataflow.timeout(state, raw, context))
        text = dataflow.check_size(result, "result")
    except Exception as exc:
        error = of_exception(exc)
        kind = "TaskTimedOut" if error.error == "States.Timeout" else "TaskFailed"
        details = {"resourceType": rtype, "resource": resource, "error": error.error, "cause": error.cause}
        events.append((kind, {f"{kind[0].lower()}{kind[1:]}EventDetails": details}))
        return Outcome("fail", cause=error, events=events)
    done = {"resourceType": rtype, "resource": resource, "output": text}
    events.append(("TaskSucceeded", {"taskSucceededEventDetails": done}))
    outcome = _after(state, dataflow.output(state, raw, result, context))
    outcome.events = events
    return outcome


def _resource_type(resource: str) -> tuple[str, str]:
    """History names a service integration as Step Functions does (``sqs``, ``sendMessage``)."""
    if resource.startswith("arn:aws:states:::"):
        service, _, action = resource[len("arn:aws:states:::") :].partition(":")
        return service, action
    return "strato", resource


def _call(handler: Callable[..., Any], data: Any, context: Any, timeout: int | None) -> Any:
    takes_context = getattr(handler, "__code__", None) is not None and handler.__code__.co_argcount >= 2
    if timeout is None:
        return handler(data, context) if takes_context else handler(data)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = handler(data, context) if takes_context else handler(data)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="strato-workflow-task", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StatesError("States.Timeout", f"the task ran longer than its TimeoutSeconds ({timeout} s)")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def parallel_children(state: dict[str, Any], raw: Any, context: Any) -> list[tuple[str, Any]]:
    data = dataflow.effective_input(state, raw, context)
    return [(branch["StartAt"], data) for branch in state["Branches"]]


def map_children(state: dict[str, Any], raw: Any, context: Any) -> list[tuple[str, Any]]:
    data = (
        raw if "InputPath" not in state else {} if state["InputPath"] is None else paths.select(raw, state["InputPath"])
    )
    items = paths.select(data, state.get("ItemsPath", "$"), what="ItemsPath")
    if not isinstance(items, list):
        raise StatesError("States.Runtime", f"Map's ItemsPath must select an array, got {type(items).__name__}")
    start = (state["ItemProcessor"] if "ItemProcessor" in state else state["Iterator"])["StartAt"]
    selector = state.get("ItemSelector", state.get("Parameters"))
    if selector is None:
        out = [(start, item) for item in items]
    else:
        out = []
        for index, item in enumerate(items):
            item_context = variables.with_item(context, index, item)
            out.append((start, dataflow.resolve(selector, data, item_context)))
    for _, given in out:
        dataflow.check_size(given, "input")
    return out
