"""The Amazon States Language definition: loaded from a dict or a .json / .yaml file, and validated at
declaration the way CreateStateMachine validates it, so a definition AWS would refuse never runs locally.
Every refusal is a ``ConfigurationError`` naming the state and the rule."""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ..core.errors import ConfigurationError
from . import choice, dataflow, paths, querylang, variables

_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
_RESULT = {"ResultPath", "ResultSelector"}
_ERRORS = {"Retry", "Catch"}
FIELDS: dict[str, set[str]] = {
    "Pass": _IO | _FLOW | {"Parameters", "ResultPath", "Result"},
    "Task": _IO
    | _FLOW
    | _RESULT
    | _ERRORS
    | {
        "Resource",
        "Parameters",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _IO | {"Choices", "Default"},
    "Wait": _IO | _FLOW | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
    "Succeed": set(_IO),
    "Fail": {"Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": _IO | _FLOW | _RESULT | _ERRORS | {"Branches", "Parameters"},
    "Map": _IO
    | _FLOW
    | _RESULT
    | _ERRORS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "Label",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
    },
}
TOP = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
MAX_NAME = 80
Refuse = Callable[[str], NoReturn]
_TOP = contextvars.ContextVar("query_language", default="JSONPath")  # the machine's QueryLanguage


def load(definition: Any) -> dict[str, Any]:
    """A dict, a path to a .json / .yaml file, or a JSON string; returned as a private copy."""
    if isinstance(definition, dict):
        return copy.deepcopy(definition)
    if isinstance(definition, Path) or (isinstance(definition, str) and not definition.lstrip().startswith("{")):
        path = Path(definition)
        if not path.is_file():
            raise ConfigurationError(f"workflow definition file {str(path)!r} does not exist")
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            loaded = yaml.safe_load(text)
        else:
            loaded = _json(text, str(path))
    elif isinstance(definition, str):
        loaded = _json(definition, "the definition")
    else:
        raise ConfigurationError(f"a workflow definition is a dict or a .json / .yaml path, not {type(definition)}")
    if not isinstance(loaded, dict):
        raise ConfigurationError("a workflow definition must be a JSON object")
    return loaded


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{what} is not valid JSON: {exc}") from None


def validate(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check the whole machine; returns every state by name (names are unique machine-wide)."""
    for key in definition:
        if key not in TOP:
            raise ConfigurationError(f"the state machine has an unknown field {key!r}")
    token = _TOP.set(querylang.default(definition))
    try:
        _positive_int(definition, "TimeoutSeconds", "the state machine")
        everything: dict[str, dict[str, Any]] = {}
        _machine(definition, "the state machine", everything)
    finally:
        _TOP.reset(token)
    variables.check_scopes(definition)
    return everything


def _machine(machine: Any, where: str, everything: dict[str, dict[str, Any]]) -> None:
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict) or not machine["States"]:
        raise ConfigurationError(f"{where} must have a non-empty States object")
    states: dict[str, Any] = machine["States"]
    start = machine.get("StartAt")
    if start not in states:
        raise ConfigurationError(f"{where}: StartAt {start!r} is not one of its states ({', '.join(states)})")
    for name, state in states.items():
        if name in everything:
            raise ConfigurationError(f"state {name!r}: state names must be unique in the whole state machine")
        if not 1 <= len(name) <= MAX_NAME:
            raise ConfigurationError(f"state {name!r}: a state name has 1 to {MAX_NAME} characters")
        everything[name] = state
        _state(name, state, states, everything)
    _reachable(start, states, where)


def _state(name: str, state: Any, states: dict[str, Any], everything: dict[str, dict[str, Any]]) -> None:
    def refuse(rule: str) -> NoReturn:
        raise ConfigurationError(f"state {name!r}: {rule}")

    if not isinstance(state, dict):
        refuse("must be an object")
    kind = state.get("Type")
    if kind not in FIELDS:
        refuse(f"unknown Type {kind!r} (one of {', '.join(FIELDS)})")
    lang = querylang.language(name, state, _TOP.get())
    allowed = querylang.allowed(kind, FIELDS[kind], lang)
    for key in state:
        if key not in allowed:
            refuse(querylang.refusal(key, kind, lang))
    querylang.check_assign(name, state, lang, refuse)
    for holder in [*state.get("Choices", []), *state.get("Catch", [])]:
        if isinstance(holder, dict):
            querylang.check_assign(name, holder, lang, refuse)
    if lang == "JSONata":
        querylang.check_jsonata(name, state, refuse)
        state = querylang.jsonpath_view(state)
    if _FLOW & FIELDS[kind]:
        if ("Next" in state) == bool(state.get("End")):
            refuse("must have exactly one of Next and End: true")
        if "End" in state and state["End"] is not True:
            refuse("End must be true when present")
    _target(name, state.get("Next"), states, "Next")
    for field in ("InputPath", "OutputPath"):
        if state.get(field) is not None:
            paths.check(state[field], field, name)
    if state.get("ResultPath") is not None:
        paths.check_reference(state["ResultPath"], "ResultPath", name)
    for field in ("Parameters", "ResultSelector", "ItemSelector"):
        if field in state:
            dataflow.check_template(state[field], field, name)
    for retrier_index, retrier in enumerate(state.get("Retry", [])):
        _retrier(name, retrier, retrier_index == len(state["Retry"]) - 1)
    for catcher_index, catcher in enumerate(state.get("Catch", [])):
        _error_equals(name, catcher, "Catch", catcher_index == len(state["Catch"]) - 1)
        if "Next" not in catcher:
            refuse("every Catch needs a Next")
        if lang == "JSONPath" and "Output" in catcher:
            refuse("Catch field 'Output' is JSONata-only (a JSONPath Catch uses ResultPath)")
        _target(name, catcher["Next"], states, "Catch Next")
        if catcher.get("ResultPath") is not None:
            paths.check_reference(catcher["ResultPath"], "Catch ResultPath", name)
    globals()[f"_{kind.lower()}"](name, state, states, everything, refuse)


def _target(name: str, target: Any, states: dict[str, Any], field: str) -> None:
    if target is not None and target not in states:
        raise ConfigurationError(f"state {name!r}: {field} {target!r} is not a state of its scope")


def _retrier(name: str, retrier: Any, last: bool) -> None:
    _error_equals(name, retrier, "Retry", last)
    for field in retrier:
        if field not in (
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ):
            raise ConfigurationError(f"state {name!r}: Retry field {field!r} is unknown")
    _positive_int(retrier, "IntervalSeconds", f"state {name!r} Retry")
    _positive_int(retrier, "MaxDelaySeconds", f"state {name!r} Retry")
    attempts = retrier.get("MaxAttempts", 3)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts <= 99_999_999:
        raise ConfigurationError(f"state {name!r}: Retry MaxAttempts must be an integer >= 0, got {attempts!r}")
    rate = retrier.get("BackoffRate", 2.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 1.0:
        raise ConfigurationError(f"state {name!r}: Retry BackoffRate must be a number >= 1.0, got {rate!r}")
    if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
        raise ConfigurationError(f"state {name!r}: Retry JitterStrategy must be FULL or NONE")


def _error_equals(name: str, rule: Any, field: str, last: bool) -> None:
    names = rule.get("ErrorEquals") if isinstance(rule, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigurationError(f"state {name!r}: every {field} needs a non-empty ErrorEquals list of names")
    if "States.ALL" in names and (len(names) > 1 or not last):
        raise ConfigurationError(f"state {name!r}: States.ALL must appear alone in the last {field} rule")


def _positive_int(holder: dict[str, Any], field: str, where: str) -> None:
    value = holder.get(field)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigurationError(f"{where}: {field} must be a positive integer, got {value!r}")


def _pass(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    pass


def _succeed(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    pass


def _task(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    if not isinstance(state.get("Resource"), str) or not state["Resource"]:
        refuse("a Task needs a Resource (a task handler's name)")
    if state["Resource"].startswith("arn:aws:states:::"):
        from . import patterns

        patterns.check(name, state)
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        _positive_int(state, field, f"state {name!r}")
        if field in state and f"{field}Path" in state:
            refuse(f"{field} and {field}Path may not both be set")
    if "HeartbeatSeconds" in state and state["HeartbeatSeconds"] >= state.get("TimeoutSeconds", 99_999_999):
        refuse("HeartbeatSeconds must be smaller than TimeoutSeconds")


def _choice(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    rules = state.get("Choices")
    if not isinstance(rules, list) or not rules:
        refuse("a Choice needs a non-empty Choices array")
    for rule in rules:
        choice.check(rule, name, True)
        _target(name, rule["Next"], states, "Choice Next")
    _target(name, state.get("Default"), states, "Default")


def _wait(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    given = [f for f in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if f in state]
    if len(given) != 1:
        refuse(f"a Wait needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (has {len(given)})")
    value = state[given[0]]
    if given[0] == "Seconds" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        refuse(f"Seconds must be an integer >= 0, got {value!r}")
    if given[0] == "Timestamp" and choice.timestamp(value) is None:
        refuse(f"Timestamp {value!r} is not an RFC 3339 timestamp")
    if given[0].endswith("Path"):
        paths.check_reference(value, given[0], name)


def _fail(name: str, state: dict[str, Any], states: Any, everything: Any, refuse: Callable[[str], NoReturn]) -> None:
    for field in ("Error", "Cause"):
        if field in state and f"{field}Path" in state:
            refuse(f"{field} and {field}Path may not both be set")
        if f"{field}Path" in state:  # a path, a context path or an intrinsic function
            dataflow.check_template({".$": state[f"{field}Path"]}, f"{field}Path", name)


def _parallel(
    name: str, state: dict[str, Any], states: Any, everything: dict[str, Any], refuse: Callable[[str], NoReturn]
) -> None:
    branches = state.get("Branches")
    if not isinstance(branches, list) or not branches:
        refuse("a Parallel needs a non-empty Branches array")
    for i, branch in enumerate(branches):
        _machine(branch, f"state {name!r} branch {i}", everything)


def _map(
    name: str, state: dict[str, Any], states: Any, everything: dict[str, Any], refuse: Callable[[str], NoReturn]
) -> None:
    if "ItemProcessor" in state and "Iterator" in state:
        refuse("ItemProcessor and Iterator may not both be set")
    if "ItemSelector" in state and "Parameters" in state:
        refuse("ItemSelector and Parameters may not both be set")
    for field in ("ItemReader", "ItemBatcher", "ResultWriter"):
        if field in state:
            refuse(f"{field} (a Distributed Map) is not supported locally yet")
    processor = state.get("ItemProcessor", state.get("Iterator"))
    if not isinstance(processor, dict):
        refuse("a Map needs an ItemProcessor")
    mode = processor.get("ProcessorConfig", {}).get("Mode", "INLINE")
    if mode != "INLINE":
        refuse(f"ProcessorConfig Mode {mode} is not supported locally yet (INLINE is)")
    _machine(
        {k: v for k, v in processor.items() if k != "ProcessorConfig"}, f"state {name!r} ItemProcessor", everything
    )
    if "ItemsPath" in state:
        paths.check_reference(state["ItemsPath"], "ItemsPath", name)
    concurrency = state.get("MaxConcurrency", 0)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 0:
        refuse(f"MaxConcurrency must be an integer >= 0, got {concurrency!r}")
    count = state.get("ToleratedFailureCount", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        refuse(f"ToleratedFailureCount must be an integer >= 0, got {count!r}")
    percentage = state.get("ToleratedFailurePercentage", 0)
    if isinstance(percentage, bool) or not isinstance(percentage, int | float) or not 0 <= percentage <= 100:
        refuse(f"ToleratedFailurePercentage must be a number from 0 to 100, got {percentage!r}")


def _reachable(start: str, states: dict[str, Any], where: str) -> None:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        todo += [t for t in (state.get("Next"), state.get("Default")) if t]
        todo += [rule["Next"] for rule in state.get("Choices", [])]
        todo += [c["Next"] for c in state.get("Catch", [])]
    unreachable = [n for n in states if n not in seen]
    if unreachable:
        raise ConfigurationError(f"state {unreachable[0]!r} is unreachable from StartAt {start!r} in {where}")
    if not any(s.get("End") or s["Type"] in ("Succeed", "Fail") for s in states.values()):
        raise ConfigurationError(f"{where} has no terminal state (End: true, Succeed or Fail)")
