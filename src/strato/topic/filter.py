"""SNS subscription filter policies: validation and matching, written once.

The local topic provider delivers with :func:`matches`; the SNS provider sends the same policy to
AWS after :func:`validate` has refused what SNS would refuse. Semantics follow the SNS developer
guide: AND across keys, OR within a key's list, ``$or`` between sub-policies; exact strings and
numbers, ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (values, or a prefix,
suffix or equals-ignore-case inside it), ``numeric`` comparisons and ranges, ``exists``. String.Array
attributes and body arrays match when any element matches.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.errors import ValidationError

SCOPES = ("attributes", "body")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_MISSING = object()


# -- validation ---------------------------------------------------------------------------------------
def validate(policy: Any, scope: str = "attributes") -> dict[str, Any]:
    """Return the policy if SNS would accept it; raise ValidationError saying what is wrong if not."""
    if scope not in SCOPES:
        raise ValidationError(f"filter_scope must be one of {SCOPES}, got {scope!r}")
    if not isinstance(policy, dict) or not policy:
        raise ValidationError("a filter policy is a non-empty dict of name -> list of conditions")
    if len(policy) > MAX_KEYS:
        raise ValidationError(f"a filter policy can have at most {MAX_KEYS} keys, this one has {len(policy)}")
    combinations = _check(policy, scope, 1)
    if combinations > MAX_COMBINATIONS:
        raise ValidationError(
            f"filter policy is too complex: {combinations} combinations, SNS allows {MAX_COMBINATIONS}"
        )
    return policy


def _check(policy: dict, scope: str, depth: int) -> int:
    combinations = 1
    for key, rule in policy.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"filter policy keys must be non-empty strings, got {key!r}")
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2 or not all(isinstance(r, dict) and r for r in rule):
                raise ValidationError('"$or" takes a list of at least two non-empty policies')
            combinations *= sum(_check(sub, scope, depth + 1) for sub in rule)
        elif isinstance(rule, dict):
            if scope != "body":
                raise ValidationError(f"{key!r}: nested policies need filter_scope='body'")
            combinations *= _check(rule, scope, depth + 1)
        elif isinstance(rule, list):
            if not rule:
                raise ValidationError(f"{key!r}: the list of conditions must not be empty")
            for condition in rule:
                _check_condition(key, condition, scope)
            combinations *= len(rule) * depth
        else:
            raise ValidationError(f"{key!r} must map to a list of conditions (or a nested policy in body scope)")
    return combinations


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{where}: expected a number, got {value!r}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not -1e9 <= number <= 1e9:
        raise ValidationError(f"{where}: SNS compares numbers from -1e9 to 1e9, got {value}")
    return number


def _check_condition(key: str, condition: Any, scope: str) -> None:
    where = f"filter {key!r}"
    if condition is None:
        if scope != "body":
            raise ValidationError(f"{where}: null matches only in filter_scope='body'")
        return
    if isinstance(condition, str):
        return
    if isinstance(condition, (int, float)) and not isinstance(condition, bool):
        _number(condition, where)
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise ValidationError(
            f"{where}: a condition is a string, a number or a one-key operator object, got {condition!r}"
        )
    ((op, operand),) = condition.items()
    if op in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(operand, str) or (op != "equals-ignore-case" and not operand):
            raise ValidationError(f"{where}: {op} takes a non-empty string")
    elif op == "exists":
        if not isinstance(operand, bool):
            raise ValidationError(f"{where}: exists takes true or false")
    elif op == "numeric":
        _check_numeric(operand, where)
    elif op == "anything-but":
        if isinstance(operand, dict):
            if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix", "equals-ignore-case"):
                raise ValidationError(f"{where}: anything-but takes values or one of prefix/suffix/equals-ignore-case")
            inner = next(iter(operand.values()))
            if not (
                isinstance(inner, str) or (isinstance(inner, list) and inner and all(isinstance(i, str) for i in inner))
            ):
                raise ValidationError(f"{where}: anything-but {next(iter(operand))} takes a string")
        else:
            values = operand if isinstance(operand, list) else [operand]
            if not values:
                raise ValidationError(f"{where}: anything-but needs at least one value")
            for value in values:
                if not isinstance(value, str):
                    _number(value, where)
    else:
        raise ValidationError(
            f"{where}: unknown operator {op!r} (prefix, suffix, equals-ignore-case, anything-but, numeric, exists)"
        )


def _check_numeric(operand: Any, where: str) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise ValidationError(f'{where}: numeric takes ["op", n] or [">", low, "<", high]')
    for i in range(0, len(operand), 2):
        if operand[i] not in _NUMERIC_OPS:
            raise ValidationError(f"{where}: numeric operator must be one of {_NUMERIC_OPS}, got {operand[i]!r}")
        _number(operand[i + 1], where)
    if len(operand) == 4:
        if operand[0] not in (">", ">=") or operand[2] not in ("<", "<="):
            raise ValidationError(f'{where}: a numeric range is [">" or ">=", low, "<" or "<=", high]')
        if _number(operand[1], where) >= _number(operand[3], where):
            raise ValidationError(f"{where}: numeric range bottom must be below its top")


# -- matching -----------------------------------------------------------------------------------------
def matches(
    policy: dict[str, Any] | None,
    *,
    attributes: dict[str, dict[str, str]] | None = None,
    body: str | None = None,
    scope: str = "attributes",
) -> bool:
    """Would SNS deliver a message with these attributes (SNS form: {"Type", "Value"}) or this body?"""
    if not policy:
        return True
    if scope == "body":
        try:
            document = json.loads(body or "")
        except (ValueError, TypeError, RecursionError):
            return False
        return isinstance(document, dict) and _match_body(policy, document)
    values = {name: _attribute_values(attr) for name, attr in (attributes or {}).items()}
    return _match_attributes(policy, values)


def _attribute_values(attr: dict[str, str]) -> list[Any] | None:
    kind = attr.get("Type") or attr.get("DataType") or "String"
    raw = attr.get("Value", attr.get("StringValue"))
    if kind.startswith("Binary"):
        return None  # filter policies ignore binary attributes
    if kind.endswith(".Array"):
        if raw is None:
            return [raw]
        try:
            items = json.loads(raw)
        except (ValueError, TypeError, RecursionError):
            return [raw]
        return items if isinstance(items, list) else [items]
    if kind.startswith("Number"):
        if raw is None:
            return []
        try:
            return [Decimal(raw)]
        except (InvalidOperation, TypeError):
            return []
    return [raw]


def _match_attributes(policy: dict, values: dict[str, list[Any] | None]) -> bool:
    for key, rule in policy.items():
        if key == "$or":
            if not any(_match_attributes(sub, values) for sub in rule):
                return False
            continue
        found = values.get(key)  # None: absent, or a binary attribute (which filters ignore)
        present = found is not None
        if not any(_condition(c, present, found if found is not None else [], bool(values)) for c in rule):
            return False
    return True


def _match_body(policy: dict, document: dict) -> bool:
    for key, rule in policy.items():
        if key == "$or":
            if not any(_match_body(sub, document) for sub in rule):
                return False
            continue
        value = document.get(key, _MISSING)
        if isinstance(rule, dict):
            if isinstance(value, dict):
                ok = _match_body(rule, value)
            elif isinstance(value, list):
                ok = any(isinstance(v, dict) and _match_body(rule, v) for v in value)
            else:
                ok = False
            if not ok:
                return False
            continue
        present = value is not _MISSING
        found = (value if isinstance(value, list) else [value]) if present else []
        if not any(_condition(c, present, found, bool(document)) for c in rule):
            return False
    return True


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return None


def _condition(condition: Any, present: bool, values: list[Any], any_keys: bool) -> bool:
    if isinstance(condition, dict) and "exists" in condition:
        if condition["exists"]:
            return present and any(v is not None and v != "" and v != [] for v in values)
        return not present and any_keys  # SNS: exists:false never matches a message with no attributes
    if not present:
        return False
    if condition is None:
        return any(v is None for v in values)
    if isinstance(condition, str):
        return any(isinstance(v, str) and v == condition for v in values)
    if isinstance(condition, (int, float)):
        target = _as_number(condition)
        return any(_as_number(v) == target for v in values)
    ((op, operand),) = condition.items()
    strings = [v for v in values if isinstance(v, str)]
    if op == "prefix":
        return any(v.startswith(operand) for v in strings)
    if op == "suffix":
        return any(v.endswith(operand) for v in strings)
    if op == "equals-ignore-case":
        return any(v.casefold() == operand.casefold() for v in strings)
    if op == "numeric":
        numbers = [n for n in map(_as_number, values) if n is not None]
        return any(_numeric(n, operand) for n in numbers)
    if op == "anything-but":
        return any(not _excluded(v, operand) for v in values)
    return False


def _numeric(number: Decimal, operand: list[Any]) -> bool:
    for i in range(0, len(operand), 2):
        op, bound = operand[i], _as_number(operand[i + 1])
        if bound is None:  # validate() allows only numbers here
            return False
        if op == "=":
            ok = number == bound
        elif op == "<":
            ok = number < bound
        elif op == "<=":
            ok = number <= bound
        elif op == ">":
            ok = number > bound
        elif op == ">=":
            ok = number >= bound
        else:
            raise KeyError(op)  # validate() allows only _NUMERIC_OPS
        if not ok:
            return False
    return True


def _excluded(value: Any, operand: Any) -> bool:
    """Is this value one that anything-but rules out?"""
    if isinstance(operand, dict):
        ((op, inner),) = operand.items()
        if not isinstance(value, str):
            return False
        options = inner if isinstance(inner, list) else [inner]
        if op == "prefix":
            return any(value.startswith(o) for o in options)
        if op == "suffix":
            return any(value.endswith(o) for o in options)
        return any(value.casefold() == o.casefold() for o in options)
    for banned in operand if isinstance(operand, list) else [operand]:
        if isinstance(banned, str):
            if isinstance(value, str) and value == banned:
                return True
        elif _as_number(value) is not None and _as_number(value) == _as_number(banned):
            return True
    return False
