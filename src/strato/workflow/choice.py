"""Choice rules: every comparison operator and its ``Path`` variant, And / Or / Not, the ``Is*`` tests and
StringMatches. A value of the wrong type compares false (Step Functions does not fail on it); a Variable
that selects nothing is ``States.Runtime`` except under ``IsPresent``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, NoReturn

from . import paths, variables
from .errors import StatesError

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_TYPES = ("String", "Numeric", "Timestamp")
COMPARISONS = {f"{t}{o}" for t in _TYPES for o in _ORDER} | {"BooleanEquals", "StringMatches"}
PATH_COMPARISONS = {f"{c}Path" for c in COMPARISONS if c != "StringMatches"}
TESTS = {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
OPERATORS = COMPARISONS | PATH_COMPARISONS | TESTS
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def timestamp(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp as Step Functions reads one (uppercase T, a zone), else None."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _typed(kind: str, value: Any) -> Any:
    """``value`` as a ``kind`` operand, or None when it is not one (the comparison is then false)."""
    if kind == "String":
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _number(value) else None
    return timestamp(value)


def _string_matches(value: str, pattern: str) -> bool:
    regex, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    return re.fullmatch("".join(regex), value, re.DOTALL) is not None


def _rooted(expression: str, data: Any, context: Any) -> tuple[Any, str]:
    """``$$.x`` reads the context object, ``$name.x`` a variable, ``$.x`` the state's input."""
    if expression.startswith("$$"):
        return context, expression[1:]
    found = variables.reference(expression)
    if found is None:
        return data, expression
    values = variables.of(context)
    if context is not None and found[0] not in values:
        raise StatesError("States.Runtime", f"Invalid path '{expression}': the variable ${found[0]} is not assigned")
    return values.get(found[0]), found[1]


def evaluate(rule: dict[str, Any], data: Any, context: Any) -> bool:
    if "And" in rule:
        return all(evaluate(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, context)
    variable = rule["Variable"]
    found = paths.find(*_rooted(variable, data, context))
    operator = next(k for k in rule if k in OPERATORS)
    if operator == "IsPresent":
        return paths.present(found) == rule[operator]
    if not paths.present(found):
        raise StatesError(
            "States.Runtime",
            f"Invalid path '{variable}': The choice state's condition path references an invalid value.",
        )
    if operator in TESTS:
        return _test(operator, found) == rule[operator]
    expected = rule[operator]
    if operator.endswith("Path"):
        operator = operator[:-4]
        expected = paths.select(*_rooted(expected, data, context))
    if operator == "BooleanEquals":
        return isinstance(found, bool) and isinstance(expected, bool) and found == expected
    if operator == "StringMatches":
        return isinstance(found, str) and _string_matches(found, expected)
    kind = next(t for t in _TYPES if operator.startswith(t))
    a, b = _typed(kind, found), _typed(kind, expected)
    if a is None or b is None:
        return False
    return _ORDER[operator[len(kind) :]](a, b)


def _test(operator: str, value: Any) -> bool:
    if operator == "IsNull":
        return value is None
    if operator == "IsNumeric":
        return _number(value)
    if operator == "IsString":
        return isinstance(value, str)
    if operator == "IsBoolean":
        return isinstance(value, bool)
    return timestamp(value) is not None


def check(rule: Any, state: str, top: bool) -> None:
    """Refuse a rule CreateStateMachine refuses: one operator, Variable with it, Next only at the top."""
    from ..core.errors import ConfigurationError

    def refuse(message: str) -> NoReturn:
        raise ConfigurationError(f"state {state!r}: Choice rule {message}")

    if not isinstance(rule, dict):
        refuse(f"must be an object, got {rule!r}")
    if top and "Next" not in rule:
        refuse(f"{_brief(rule)} has no Next")
    if not top and "Next" in rule:
        refuse(f"{_brief(rule)}: Next is allowed only on a top-level rule")
    body = {k: v for k, v in rule.items() if k not in ("Next", "Comment", "Assign" if top else "")}
    boolean = [k for k in ("And", "Or", "Not") if k in body]
    if boolean:
        if len(body) != 1:
            refuse(f"{_brief(rule)}: {boolean[0]} may not be combined with other fields")
        inner = body[boolean[0]]
        if boolean[0] == "Not":
            check(inner, state, False)
        else:
            if not isinstance(inner, list) or not inner:
                refuse(f"{boolean[0]} must be a non-empty array of rules")
            for r in inner:
                check(r, state, False)
        return
    operators = [k for k in body if k in OPERATORS]
    unknown = [k for k in body if k not in OPERATORS and k != "Variable"]
    if unknown:
        refuse(f"{_brief(rule)}: unknown field {unknown[0]!r}")
    if "Variable" not in body:
        refuse(f"{_brief(rule)} has no Variable")
    if len(operators) != 1:
        refuse(f"{_brief(rule)} must have exactly one comparison operator, has {len(operators)}")
    operator, value = operators[0], body[operators[0]]
    if not isinstance(body["Variable"], str):
        refuse(f"Variable must be a path, got {body['Variable']!r}")
    paths.check(_rooted(body["Variable"], None, None)[1], "Variable", state)
    if operator in TESTS or operator == "BooleanEquals":
        ok = isinstance(value, bool)
    elif operator.endswith("Path"):
        ok = isinstance(value, str) and value.startswith("$")
        if ok:
            paths.check(_rooted(value, None, None)[1], operator, state)
    elif operator.startswith("Numeric"):
        ok = _number(value)
    elif operator.startswith("Timestamp"):
        ok = timestamp(value) is not None
    else:
        ok = isinstance(value, str)
    if not ok:
        refuse(f"{_brief(rule)}: {operator} cannot take {value!r}")


def _brief(rule: dict[str, Any]) -> str:
    return f"on {rule['Variable']!r}" if "Variable" in rule else "(" + ", ".join(rule) + ")"
