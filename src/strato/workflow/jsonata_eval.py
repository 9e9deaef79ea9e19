"""JSONata expressions (``"{% ... %}"``) as Step Functions evaluates them, on the ``jsonata-python`` library.

Step Functions implements JSONata 2.0.6 with every built-in function except ``$eval`` (use ``$parse``) and
adds ``$partition``, ``$range``, ``$hash``, ``$random`` (with an optional seed), ``$uuid`` and ``$parse``.
An expression sees the reserved ``$states`` (input, result, errorOutput, context) and the workflow's
variables. A failure while evaluating, a wrong type, or a field whose expression returns nothing
(undefined) fails the state with ``States.QueryEvaluationError``.

The library is imported on first use, so an app without JSONata states never loads it (Lambda cold start).
"""

from __future__ import annotations

import threading
from typing import Any

from ..core import clock
from .errors import StatesError

QUERY_ERROR = "States.QueryEvaluationError"
_LOCK = threading.Lock()  # jsonata-python keeps the running expression in a thread-local and a timestamp
_COMPILED: dict[str, Any] = {}
_STAMP = [0]  # $now() / $millis() of the evaluation under way (under _LOCK): strato's clock, fixed per evaluation


class QueryError(StatesError):
    """States.QueryEvaluationError, with the field (``Arguments/Input/id``) where it happened."""

    def __init__(self, cause: str, location: str = "") -> None:
        super().__init__(QUERY_ERROR, cause)
        self.location = location


def is_expression(value: Any) -> bool:
    """A JSONata string: starts with ``{%`` and ends with ``%}`` (no space outside)."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def body(text: str) -> str:
    return text[2:-2].strip()


def compile_expression(text: str) -> Any:
    """The parsed expression (cached); a syntax error raises ``ValueError`` with the library's message."""
    found = _COMPILED.get(text)
    if found is not None:
        return found
    try:
        import jsonata
    except ImportError:
        from ..core.errors import ConfigurationError

        raise ConfigurationError(
            "a JSONata state needs the jsonata-python library: pip install 'strato[jsonata]'"
        ) from None

    try:
        with _LOCK:
            expression = jsonata.Jsonata(body(text))
    except Exception as exc:  # jsonata.jexception.JException: a syntax error
        raise ValueError(f"{text!r} is not a valid JSONata expression: {exc}") from None
    expression.set_output_convert_nulls(False)  # so undefined (None) and null (NULL_VALUE) stay apart
    for name, function in _functions().items():
        expression.register_lambda(name, function)
    _COMPILED[text] = expression
    return expression


def evaluate(text: str, states: dict[str, Any], variables: dict[str, Any], location: str) -> Any:
    """The value of ``{% ... %}`` with ``$states`` and the variables bound; undefined is an error."""
    import jsonata
    from jsonata.utils import Utils

    expression = compile_expression(text)
    # a variable holding JSON null is null, not undefined (None is undefined to the library at the top level)
    bindings = {**{k: Utils.NULL_VALUE if v is None else v for k, v in variables.items()}, "states": states}
    try:
        with _LOCK:
            jsonata.Jsonata.CURRENT.jsonata = expression  # higher-order functions read it
            _STAMP[0] = int(clock.now() * 1000)
            value = expression.evaluate(None, bindings)
    except StatesError:
        raise
    except Exception as exc:  # JException (a type error, $error(), ...) or a Python error in a function
        raise QueryError(
            f"The JSONata expression '{body(text)}' specified for the field '{location}' threw an error: {exc}",
            location,
        ) from None
    if value is None:
        raise QueryError(
            f"The JSONata expression '{body(text)}' specified for the field '{location}' returned nothing (undefined).",
            location,
        )
    if _is_function(value):
        raise QueryError(f"The JSONata expression '{body(text)}' for the field '{location}' returned a function")
    return _plain(Utils.convert_nulls(value))


def _is_function(value: Any) -> bool:
    """A function, a lambda or a regex: JSONata values JSON has no form for."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return False
    from jsonata.functions import Functions
    from jsonata.utils import Utils

    return bool(Utils.is_function(value) or Functions.is_lambda(value) or Functions.is_regex(value))


def _plain(value: Any) -> Any:
    """Plain JSON values (the library's sequences are list subclasses; floats that are integers -> int); a
    function inside the value is dropped from an object and null in an array, as JSON serialization does."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not _is_function(v)}
    if isinstance(value, list):
        return [None if _is_function(v) else _plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def resolve(template: Any, states: dict[str, Any], variables: dict[str, Any], location: str) -> Any:
    """A JSON value whose strings may be ``{% %}`` expressions, at any depth (Arguments, Output, Assign...)."""
    if is_expression(template):
        return evaluate(template, states, variables, location)
    if isinstance(template, dict):
        return {k: resolve(v, states, variables, f"{location}/{k}") for k, v in template.items()}
    if isinstance(template, list):
        return [resolve(v, states, variables, f"{location}/{i}") for i, v in enumerate(template)]
    return template


def expressions(template: Any, location: str) -> list[tuple[str, str]]:
    """Every ``{% %}`` string in ``template`` with its location (for checks at declaration)."""
    if is_expression(template):
        return [(location, template)]
    if isinstance(template, dict):
        return [e for k, v in template.items() for e in expressions(v, f"{location}/{k}")]
    if isinstance(template, list):
        return [e for i, v in enumerate(template) for e in expressions(v, f"{location}/{i}")]
    return []


# -- the functions Step Functions adds ------------------------------------------------------------------
def _functions() -> dict[str, Any]:
    return {
        "partition": _intrinsic("partition", "ArrayPartition"),
        "range": _intrinsic("range", "ArrayRange"),
        "hash": _intrinsic("hash", "Hash"),
        "random": _random,
        "uuid": _intrinsic("uuid", "UUID"),
        "parse": _intrinsic("parse", "StringToJson"),
        "eval": _no_eval,
        "now": _now,
        "millis": lambda: _STAMP[0],
    }


def _intrinsic(name: str, intrinsic: str) -> Any:
    """The JSONata function that does what the intrinsic ``States.<intrinsic>`` does (the same rules)."""
    from . import intrinsics

    function = intrinsics.FUNCTIONS[f"States.{intrinsic}"]

    def call(*args: Any) -> Any:
        given = [list(a) if isinstance(a, list) else a for a in args]  # the library's sequences are lists
        try:
            intrinsics._checked(f"States.{intrinsic}", given)
            return function(*given)
        except StatesError as exc:
            raise QueryError(exc.cause.replace(f"States.{intrinsic}", f"${name}")) from None

    return call


def _random(seed: Any = None) -> float:
    """A number in [0, 1); with a seed, the same number for the same seed."""
    import random

    if seed is None:
        return random.random()
    if isinstance(seed, bool) or not isinstance(seed, int | float) or not float(seed).is_integer():
        raise QueryError("Invalid arguments in $random: the seed must be an integer")
    return random.Random(int(seed)).random()


def _now(picture: Any = None, timezone: Any = None) -> Any:
    """JSONata's $now, on strato's clock (a virtual clock in tests moves it)."""
    from jsonata.functions import Functions

    return Functions.datetime_from_millis(_STAMP[0], picture, timezone)


def _no_eval(*args: Any) -> Any:
    raise QueryError("The $eval function is not available in Step Functions: use $parse")
