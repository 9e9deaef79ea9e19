"""The executor's side of a Task that waits (``.waitForTaskToken``, ``startExecution.sync`` / ``.sync:2``):
send the request with the attempt's key registered first, then leave the frame waiting (the executor
records it in the ``callback`` phase); when it is claimed again it was answered, or its time ran out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import clock
from . import callbacks, dataflow, nested, patterns
from .errors import of_exception
from .states import Outcome, _call, _resource_type

if TYPE_CHECKING:
    from .executor import Executor


def run(ex: Executor, frame: dict[str, Any], state: dict[str, Any], raw: Any, context: dict[str, Any]) -> Outcome:
    rtype, resource = _resource_type(state["Resource"])
    if frame["phase"] == "callback" and not state["Resource"].endswith(callbacks.WAIT_FOR_TOKEN):
        with ex.store.write() as conn:  # a .sync Task timed out: its child is stopped (best effort)
            nested.stop_child(conn, frame["result"], "the parent's Task timed out", clock.now())
    if frame["phase"] in ("callback", "called"):
        row = ex.store.db.conn.execute("SELECT deadline FROM callbacks WHERE key = ?", (frame["result"],)).fetchone()
        return _resume(frame, state, raw, context, rtype, resource, row[0] if row else callbacks.FAR)
    _, pattern = patterns.split(state["Resource"])
    token = callbacks.token_for(frame)
    box: dict[str, str] = {}
    if pattern == callbacks.WAIT_FOR_TOKEN:
        task = {"Token": token}
        context = context.derived(Task=task) if hasattr(context, "derived") else {**context, "Task": task}
        with ex.store.write() as conn:
            callbacks.register(conn, token, frame, "token", state, clock.now())
        box["key"] = token
        handler = ex.task(state["Resource"])
    else:
        planner = ex.task(state["Resource"])

        def handler(params: Any, ctx: Any) -> Any:
            child, name, given = planner(params, nested.default_name(token))
            arn = child.backend.arn_for(name)
            with ex.store.write() as conn:
                callbacks.register(conn, arn, frame, pattern[1:], state, clock.now())
            nested.launch(child, name, given)
            box["key"] = arn
            return {"ExecutionArn": arn, "StartDate": nested.epoch_ms(child.describe(arn).start_date)}

    data = dataflow.effective_input(state, raw, context)
    scheduled = {"resourceType": rtype, "resource": resource, "parameters": dataflow.encode(data)}
    if "HeartbeatSeconds" in state:
        scheduled["heartbeatInSeconds"] = state["HeartbeatSeconds"]
    if "TimeoutSeconds" in state:
        scheduled["timeoutInSeconds"] = state["TimeoutSeconds"]
    events: list[tuple[str, dict[str, Any]]] = [
        ("TaskScheduled", {"taskScheduledEventDetails": scheduled}),
        ("TaskStarted", {"taskStartedEventDetails": {"resourceType": rtype, "resource": resource}}),
    ]
    try:
        sent = _call(handler, data, context, None)
    except Exception as exc:
        error = of_exception(exc)
        details = {"resourceType": rtype, "resource": resource, "error": error.error, "cause": error.cause}
        events.append(("TaskFailed", {"taskFailedEventDetails": details}))
        return Outcome("fail", cause=error, events=events)
    submitted = {"resourceType": rtype, "resource": resource, "output": dataflow.encode(sent)}
    events.append(("TaskSubmitted", {"taskSubmittedEventDetails": submitted}))
    return Outcome("callback", output=box["key"], events=events)


def _resume(
    frame: dict[str, Any], state: dict[str, Any], raw: Any, context: Any, rtype: str, resource: str, deadline: float
) -> Outcome:
    result, error = callbacks.outcome_of(state, frame, clock.now(), deadline)
    if error is not None:
        kind = "TaskTimedOut" if error.error == "States.Timeout" else "TaskFailed"
        details = {"resourceType": rtype, "resource": resource, "error": error.error, "cause": error.cause}
        return Outcome("fail", cause=error, events=[(kind, {f"{kind[0].lower()}{kind[1:]}EventDetails": details})])
    dataflow.check_size(result, "result")
    done = {"resourceType": rtype, "resource": resource, "output": dataflow.encode(result)}
    outcome = Outcome("next", state.get("Next"), dataflow.output(state, raw, result, context))
    outcome.events = [("TaskSucceeded", {"taskSucceededEventDetails": done})]
    return outcome


__all__ = ["run"]
