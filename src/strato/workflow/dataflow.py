"""How a state's input becomes its output: InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath
-> OutputPath, with ``"key.$"`` fields resolved against the input, the context object (``$$``) or an
intrinsic function, as the developer guide's "Processing input and output" pages lay out."""

from __future__ import annotations

import json
from typing import Any

from . import intrinsics, paths, variables
from .errors import StatesError

MAX_PAYLOAD = 256 * 1024  # bytes, UTF-8: the limit on every state's input and output

_PARSED: dict[str, intrinsics.Node] = {}


def resolve(template: Any, data: Any, context: Any) -> Any:
    """A payload template (Parameters, ResultSelector, ItemSelector) filled from ``data``."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = dynamic(value, data, context)
            else:
                out[key] = resolve(value, data, context)
        return out
    if isinstance(template, list):
        return [resolve(v, data, context) for v in template]
    return template


def dynamic(expression: str, data: Any, context: Any) -> Any:
    if expression.startswith("$$"):
        return paths.select(context, expression[1:], what="context path")
    if variables.reference(expression) is not None:  # $name: a workflow variable
        return variables.select(expression, context)
    if expression.startswith("$"):
        return paths.select(data, expression)
    node = _PARSED.get(expression)
    if node is None:
        node = _PARSED[expression] = intrinsics.parse(expression)
    return intrinsics.evaluate(node, data, context)


def check_template(template: Any, field: str, state: str) -> None:
    """Refuse at declaration what CreateStateMachine refuses in a payload template."""
    from ..core.errors import ConfigurationError

    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise ConfigurationError(f"state {state!r}: {field} field {key!r} must be a path or an intrinsic")
                try:
                    if value.startswith("$$"):
                        paths.parse(value[1:])
                    elif variables.reference(value) is not None:
                        variables.check_reference(value)
                    elif value.startswith("$"):
                        paths.parse(value)
                    else:
                        intrinsics.parse(value)
                except ValueError as exc:
                    raise ConfigurationError(f"state {state!r}: {field} field {key!r}: {exc}") from None
            else:
                check_template(value, field, state)
    elif isinstance(template, list):
        for value in template:
            check_template(value, field, state)


def effective_input(state: dict[str, Any], raw: Any, context: Any) -> Any:
    """InputPath then Parameters: what the state works on (a JSONata state's Arguments)."""
    if variables.is_jsonata(context):
        from . import jsonata_states

        return jsonata_states.arguments(state, raw, context)
    data = _input_path(state, raw)
    if "Parameters" in state:
        data = resolve(state["Parameters"], data, context)
    return data


def _input_path(state: dict[str, Any], raw: Any) -> Any:
    if "InputPath" not in state:
        return raw
    path = state["InputPath"]
    return {} if path is None else paths.select(raw, path, what="InputPath")


def output(state: dict[str, Any], raw: Any, result: Any, context: Any) -> Any:
    """ResultSelector, Assign (``$`` is the result), ResultPath (onto the raw input), OutputPath; checks the
    size limit. A JSONata state: Output and Assign."""
    if variables.is_jsonata(context):
        from . import jsonata_states

        return jsonata_states.finish(state, raw, result, context)
    if "ResultSelector" in state:
        result = resolve(state["ResultSelector"], result, context)
    if "Assign" in state:
        assign(state["Assign"], result, context)
    data = combine(state.get("ResultPath", "$"), raw, result)
    out = _output_path(state, data)
    check_size(out, "output")
    return out


def assign(template: dict[str, Any], data: Any, context: Any) -> None:
    """A JSONPath Assign: ``.$`` keys read ``data``, ``$$`` or a variable (values from state entry)."""
    context.assigned = {**(context.assigned or {}), **resolve(template, data, context)}


def timeout(state: dict[str, Any], raw: Any, context: Any) -> int | None:
    """A Task's TimeoutSeconds (a JSONata state may compute it)."""
    if variables.is_jsonata(context):
        from . import jsonata_states

        return jsonata_states.timeout(state, "TimeoutSeconds", raw, context)
    return state.get("TimeoutSeconds")


def combine(result_path: str | None, raw: Any, result: Any) -> Any:
    if result_path is None:
        return raw
    return paths.put(raw, result_path, result)


def _output_path(state: dict[str, Any], data: Any) -> Any:
    if "OutputPath" not in state:
        return data
    path = state["OutputPath"]
    return {} if path is None else paths.select(data, path, what="OutputPath")


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact() -> Any:
    """json's C encoder made once (``json.dumps`` builds one per call: most of the cost of a small value);
    compact, UTF-8 as is, a circular value is a RecursionError rather than json's ValueError."""
    from json import encoder

    make: Any = getattr(encoder, "c_make_encoder", None)  # json's C accelerator (not in json's stubs)
    if make is None:  # pragma: no cover - CPython always has _json
        return None
    return make(None, _unencodable, encoder.encode_basestring, None, ":", ",", False, False, True)


_ENCODER = _compact()


def encode(value: Any) -> str:
    if _ENCODER is None:  # pragma: no cover
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "".join(_ENCODER(value, 0))


def check_size(value: Any, what: str) -> str:
    text = encode(value)
    if len(text) > MAX_PAYLOAD // 4 and len(text.encode()) > MAX_PAYLOAD:  # only encode when it may be over
        raise StatesError(
            "States.DataLimitExceeded",
            f"The state/task {what} is {len(text.encode()):,} bytes, over the limit of {MAX_PAYLOAD:,} bytes",
        )
    return text
