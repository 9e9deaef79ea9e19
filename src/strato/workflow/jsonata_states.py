"""What a JSONata state does with its input ("Transforming data with JSONata in Step Functions"): two fields,
``Arguments`` (what a Task / Parallel works on) and ``Output`` (what goes on), instead of JSONPath's five;
``Assign`` for variables; and ``{% %}`` expressions where JSONPath has ``...Path`` fields (Wait Seconds /
Timestamp, Map Items, Fail Error / Cause, TimeoutSeconds, Choice Condition).

``$states`` holds ``input`` (the state's input, everywhere), ``context`` (the context object, everywhere),
``result`` (a Task / Parallel / Map result: in that state's Output and Assign only) and ``errorOutput``
(in a Catch's Output and Assign only). Without an Output, a Task / Parallel / Map's output is its result,
a Catch's the error output, and any other state's its input."""

from __future__ import annotations

from typing import Any

from . import choice
from .errors import StatesError
from .jsonata_eval import QueryError, is_expression, resolve
from .states import Outcome
from .variables import of, with_item

RESULT_STATES = ("Task", "Parallel", "Map")


def states_of(raw: Any, context: Any, **more: Any) -> dict[str, Any]:
    """The reserved ``$states`` variable."""
    return {"input": raw, "context": dict(context), **more}


def value(template: Any, raw: Any, context: Any, location: str, **more: Any) -> Any:
    return resolve(template, states_of(raw, context, **more), of(context), location)


def arguments(state: dict[str, Any], raw: Any, context: Any) -> Any:
    """A Task's or Parallel's Arguments (the state input when there are none)."""
    return value(state["Arguments"], raw, context, "Arguments") if "Arguments" in state else raw


def finish(state: dict[str, Any], raw: Any, result: Any, context: Any) -> Any:
    """Output and Assign, both from the values at state entry; the assignment rides on ``context``."""
    more = {"result": result} if state["Type"] in RESULT_STATES else {}
    return conclude(state, raw, context, result if more else raw, more)


def conclude(holder: dict[str, Any], raw: Any, context: Any, default: Any, more: dict[str, Any]) -> Any:
    """``holder``'s Output (or ``default``) and Assign (a state, a Choice rule or a Catcher)."""
    from .dataflow import check_size

    out = value(holder["Output"], raw, context, "Output", **more) if "Output" in holder else default
    if "Assign" in holder:
        assign(holder["Assign"], raw, context, "Assign", more)
    check_size(out, "output")
    return out


def assign(template: Any, raw: Any, context: Any, location: str, more: dict[str, Any]) -> None:
    context.assigned = {**(context.assigned or {}), **value(template, raw, context, location, **more)}


def timeout(state: dict[str, Any], field: str, raw: Any, context: Any) -> int | None:
    """TimeoutSeconds / HeartbeatSeconds: a positive integer, given or computed."""
    given = state.get(field)
    if not is_expression(given):
        return given
    seconds = value(given, raw, context, field)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
        raise QueryError(f"The field '{field}' must be a positive integer, got {seconds!r}", field)
    return seconds


def run_choice(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    for index, rule in enumerate(state["Choices"]):
        where = f"Choices/{index}/Condition"
        matched = value(rule["Condition"], raw, context, where)
        if not isinstance(matched, bool):
            raise QueryError(f"The field '{where}' must evaluate to a boolean, got {matched!r}", where)
        if matched:  # the state's Output and Assign, and the rule's own Assign
            out = conclude(state, raw, context, raw, {})
            if "Assign" in rule:
                assign(rule["Assign"], raw, context, f"Choices/{index}/Assign", {})
            return Outcome("next", rule["Next"], out)
    if "Default" in state:
        return Outcome("next", state["Default"], conclude(state, raw, context, raw, {}))
    raise StatesError("States.Runtime", "No Matches! The Choice state matched no rule and has no Default")


def wait_until(state: dict[str, Any], raw: Any, context: Any, now: float) -> float:
    if "Seconds" in state:
        seconds = value(state["Seconds"], raw, context, "Seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise QueryError(f"The field 'Seconds' must be an integer >= 0, got {seconds!r}", "Seconds")
        return now + seconds
    text = value(state["Timestamp"], raw, context, "Timestamp")
    when = choice.timestamp(text)
    if when is None:
        raise QueryError(f"The field 'Timestamp' must be an RFC 3339 timestamp, got {text!r}", "Timestamp")
    return when.timestamp()


def after_wait(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    return Outcome("next", state.get("Next"), conclude(state, raw, context, raw, {}))


def run_succeed(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    return Outcome("next", None, conclude(state, raw, context, raw, {}))


def run_fail(state: dict[str, Any], raw: Any, context: Any) -> Outcome:
    error = value(state.get("Error", ""), raw, context, "Error")
    cause = value(state.get("Cause", ""), raw, context, "Cause")
    if not isinstance(error, str) or not isinstance(cause, str):
        raise QueryError("The fields 'Error' and 'Cause' must evaluate to strings")
    return Outcome("fail", cause=StatesError(error, cause))


def map_children(state: dict[str, Any], raw: Any, context: Any) -> tuple[list[tuple[str, Any]], int]:
    """The iterations' inputs (Items, each through ItemSelector) and MaxConcurrency."""
    from .dataflow import check_size

    items = value(state["Items"], raw, context, "Items") if "Items" in state else raw
    if not isinstance(items, list):
        raise QueryError(f"The field 'Items' must be an array, got {type(items).__name__}", "Items")
    start = (state["ItemProcessor"] if "ItemProcessor" in state else state["Iterator"])["StartAt"]
    out = []
    for index, item in enumerate(items):
        given = item
        if "ItemSelector" in state:
            item_context = with_item(context, index, item)
            given = value(state["ItemSelector"], raw, item_context, "ItemSelector")
        check_size(given, "input")
        out.append((start, given))
    limit = value(state.get("MaxConcurrency", 0), raw, context, "MaxConcurrency")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise QueryError(f"The field 'MaxConcurrency' must be an integer >= 0, got {limit!r}", "MaxConcurrency")
    return out, limit


def caught(catcher: dict[str, Any], raw: Any, error_output: dict[str, Any], context: Any) -> Any:
    """A JSONata Catcher's Output (default: the error output) and Assign, with ``$states.errorOutput``."""
    return conclude(catcher, raw, context, error_output, {"errorOutput": error_output})


def failed_events(name: str, error: StatesError, conn: Any, arn: str) -> list[tuple[str, dict[str, Any]]]:
    """For a JSONata evaluation error: an EvaluationFailed history event, and the cause said as Step Functions
    says it ("An error occurred while executing the state 'S' (entered at the event id #N). ...")."""
    if not isinstance(error, QueryError):
        return []
    details = {"error": error.error, "cause": error.cause, "location": error.location, "state": name}
    row = conn.execute(
        "SELECT id FROM events WHERE arn = ? AND type LIKE '%StateEntered' "
        "AND json_extract(details, '$.stateEnteredEventDetails.name') = ? ORDER BY id DESC LIMIT 1",
        (arn, name),
    ).fetchone()
    entered = f" (entered at the event id #{row[0]})" if row else ""
    error.cause = f"An error occurred while executing the state '{name}'{entered}. {error.cause}"
    return [("EvaluationFailed", {"evaluationFailedEventDetails": details})]


RUNS = {"Choice": run_choice, "Succeed": run_succeed, "Fail": run_fail}
