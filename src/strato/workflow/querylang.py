"""``QueryLanguage``: which fields a state may have and what its expressions may read, checked at declaration.

"Transforming data with JSONata in Step Functions": a JSONata state replaces JSONPath's five fields
(InputPath, Parameters, ResultSelector, ResultPath, OutputPath) with Arguments and Output, and the ``...Path``
fields with ``{% %}`` expressions in the field itself. QueryLanguage is set at the top level (the default
for every state) or per state; a JSONPath machine may hold JSONata states, not the reverse. ``$states.result``
is readable only in a Task / Parallel / Map's Output and Assign, ``$states.errorOutput`` only in a Catch's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NoReturn

from ..core.errors import ConfigurationError
from . import variables
from .jsonata_eval import compile_expression, expressions, is_expression

LANGUAGES = ("JSONPath", "JSONata")
#: fields only a JSONPath state has (a JSONata state computes them with an expression in the plain field)
JSONPATH_ONLY = {
    "InputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
}
#: fields only a JSONata state has, by state type
JSONATA_ONLY: dict[str, set[str]] = {
    "Task": {"Arguments", "Output"},
    "Parallel": {"Arguments", "Output"},
    "Map": {"Items", "Output"},
    "Pass": {"Output"},
    "Choice": {"Output"},
    "Wait": {"Output"},
    "Succeed": {"Output"},
    "Fail": set(),
}
ASSIGNS = ("Pass", "Task", "Map", "Parallel", "Choice", "Wait")  # the states that may Assign variables
_RESULT = re.compile(r"\$states\s*\.\s*result\b")
_ERROR_OUTPUT = re.compile(r"\$states\s*\.\s*errorOutput\b")


def default(definition: dict[str, Any]) -> str:
    found = definition.get("QueryLanguage", "JSONPath")
    if found not in LANGUAGES:
        raise ConfigurationError(f"the state machine: QueryLanguage must be JSONPath or JSONata, not {found!r}")
    return str(found)


def language(name: str, state: dict[str, Any], top: str) -> str:
    found = state.get("QueryLanguage", top)
    if found not in LANGUAGES:
        raise ConfigurationError(f"state {name!r}: QueryLanguage must be JSONPath or JSONata, not {found!r}")
    if top == "JSONata" and found == "JSONPath":
        raise ConfigurationError(
            f"state {name!r}: QueryLanguage JSONPath is not allowed in a state machine whose QueryLanguage is "
            "JSONata (a JSONPath machine may hold JSONata states, not the reverse)"
        )
    return str(found)


def jsonata_states(definition: dict[str, Any]) -> frozenset[str]:
    """The names of the states that use JSONata (their own QueryLanguage, or the machine's)."""
    top = definition.get("QueryLanguage", "JSONPath")
    out: set[str] = set()

    def walk(machine: dict[str, Any]) -> None:
        for name, state in machine.get("States", {}).items():
            if state.get("QueryLanguage", top) == "JSONata":
                out.add(name)
            for branch in state.get("Branches", []):
                walk(branch)
            processor = state.get("ItemProcessor", state.get("Iterator"))
            if isinstance(processor, dict):
                walk(processor)

    walk(definition)
    return frozenset(out)


def allowed(kind: str, jsonpath_fields: set[str], lang: str) -> set[str]:
    common = {"Type", "Comment", "QueryLanguage"} | ({"Assign"} if kind in ASSIGNS else set())
    if lang == "JSONata":
        return (jsonpath_fields - JSONPATH_ONLY) | JSONATA_ONLY[kind] | common
    return jsonpath_fields | common


def refusal(key: str, kind: str, lang: str) -> str:
    if lang == "JSONata" and key in JSONPATH_ONLY:
        return f"field {key!r} is JSONPath-only: a JSONata state uses Arguments, Output and {{% %}} expressions"
    if lang == "JSONPath" and key in JSONATA_ONLY.get(kind, set()):
        return f"field {key!r} is JSONata-only: set QueryLanguage JSONata on the state or the state machine"
    return f"field {key!r} is not allowed in a {kind} state"


# -- a JSONata state's own checks --------------------------------------------------------------------------
def check_jsonata(name: str, state: dict[str, Any], refuse: Callable[[str], NoReturn]) -> None:
    kind = state["Type"]
    fields: list[tuple[str, Any, bool]] = []  # (location, template, may read $states.result)
    for field in ("Arguments", "Items", "ItemSelector", "Seconds", "Timestamp", "Error", "Cause", "MaxConcurrency"):
        if field in state:
            fields.append((field, state[field], False))
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        if field in state and not isinstance(state[field], int):
            if not is_expression(state[field]):
                refuse(f"{field} must be a positive integer or a JSONata expression")
            fields.append((field, state[field], False))
    for field in ("ToleratedFailureCount", "ToleratedFailurePercentage"):
        if is_expression(state.get(field)):
            refuse(f"{field} as a JSONata expression is not supported locally yet (give a number)")
    for field in ("Output", "Assign"):
        if field in state:
            fields.append((field, state[field], kind in ("Task", "Parallel", "Map")))
    if kind == "Map" and "Items" in state and not (isinstance(state["Items"], list) or is_expression(state["Items"])):
        refuse("Items must be a JSON array or a JSONata expression")
    for index, rule in enumerate(state.get("Choices", [])):
        _choice_rule(name, index, rule, refuse)
        fields += [(f"Choices/{index}/{f}", rule[f], False) for f in ("Condition", "Assign") if f in rule]
    for index, catcher in enumerate(state.get("Catch", [])):
        if isinstance(catcher, dict):
            for key in catcher:
                if key not in ("ErrorEquals", "Next", "Output", "Assign", "Comment"):
                    refuse(f"Catch field {key!r} is not allowed in a JSONata state (use Output and Assign)")
            fields += [(f"Catch/{index}/{f}", catcher[f], False) for f in ("Output", "Assign") if f in catcher]
    for location, template, result_ok in fields:
        for where, text in expressions(template, location):
            _expression(name, where, text, result_ok, where.startswith("Catch/"), refuse)


def _choice_rule(name: str, index: int, rule: Any, refuse: Callable[[str], NoReturn]) -> None:
    if not isinstance(rule, dict) or "Next" not in rule or "Condition" not in rule:
        refuse(f"Choices[{index}]: a JSONata Choice rule is an object with a Condition and a Next")
    for key in rule:
        if key not in ("Condition", "Next", "Assign", "Comment"):
            refuse(f"Choices[{index}]: field {key!r} is not allowed in a JSONata Choice rule (Condition, Next, Assign)")
    if not (isinstance(rule["Condition"], bool) or is_expression(rule["Condition"])):
        refuse(f"Choices[{index}]: Condition must be a JSONata expression ({{% ... %}}) or a boolean")


def _expression(
    name: str, where: str, text: str, result_ok: bool, catch: bool, refuse: Callable[[str], NoReturn]
) -> None:
    if _RESULT.search(text) and not result_ok:
        refuse(f"{where}: $states.result is available only in a Task, Parallel or Map state's Output and Assign")
    if _ERROR_OUTPUT.search(text) and not catch:
        refuse(f"{where}: $states.errorOutput is available only in a Catch's Output and Assign")
    from ..core.config import in_lambda

    if in_lambda():  # deployed: CreateStateMachine checked the syntax, and the cold start skips the library
        return
    try:
        compile_expression(text)
    except ValueError as exc:
        refuse(f"{where}: {exc}")


def check_assign(name: str, holder: dict[str, Any], lang: str, refuse: Callable[[str], NoReturn]) -> None:
    """An Assign is an object of variable names (``name.$`` with a path in a JSONPath state)."""
    from . import dataflow

    block = holder.get("Assign")
    if block is None:
        return
    if not isinstance(block, dict):
        refuse("Assign must be a JSON object of variable names and values")
    for key in block:
        variables.check_name(key[:-2] if (lang == "JSONPath" and key.endswith(".$")) else key, name)
    if lang == "JSONPath":
        dataflow.check_template(block, "Assign", name)


def jsonpath_view(state: dict[str, Any]) -> dict[str, Any]:
    """The JSONata state as the JSONPath checks of asl.py read it: computed numbers left out, rules and
    Arguments in their JSONPath shape, so the structural rules (Next, Branches, Retry...) are checked once."""
    view = {k: v for k, v in state.items() if not is_expression(v)}
    if is_expression(state.get("Seconds")):
        view["Seconds"] = 0
    if is_expression(state.get("Timestamp")):
        view["Timestamp"] = "2000-01-01T00:00:00Z"
    if state["Type"] == "Choice" and isinstance(state.get("Choices"), list):
        view["Choices"] = [{"Variable": "$", "IsPresent": True, "Next": r.get("Next")} for r in state["Choices"]]
    if state["Type"] == "Task" and "Arguments" in state:
        arguments = state["Arguments"]
        if isinstance(arguments, dict):
            view["Parameters"] = {
                (f"{k}.$" if is_expression(v) else k): ("$" if is_expression(v) else v) for k, v in arguments.items()
            }
        else:  # one expression computes them all: only the run can tell
            view["Parameters"] = _unknown_parameters(state["Resource"])
    return view


def _unknown_parameters(resource: Any) -> dict[str, Any]:
    from . import integrations

    service = str(resource)[len(integrations.PREFIX) :]
    required = integrations.SERVICES.get(service, ((), ()))[0]
    return {f"{field}.$": "$" for field in required}
