"""SNS subscription filter policies: validation and matching, written once.

The local topic provider delivers with :func:`matches`; the SNS provider sends the same policy to
AWS after :func:`validate` has refused what SNS would refuse. Semantics follow the SNS developer
guide: AND across keys, OR within a key's list, ``$or`` between sub-policies; exact strings and
numbers (compared to five decimal digits), ``true``/``false``/``null``, ``prefix``, ``suffix``,
``equals-ignore-case``, ``anything-but`` (values, or a prefix, suffix or equals-ignore-case inside it),
``numeric`` comparisons and ranges, ``cidr`` (IPv4 and IPv6), ``exists``. String.Array attributes and
body arrays (arrays of arrays flattened) match when any element matches. In body scope a dotted name
is the same field as the nested one (``"a.b"`` is ``{"a": {"b": ...}}``), in the policy and in the
message alike, as SNS flattens both. Complexity is the product of the number of values in each
array, and the sum over the branches of an ``$or``; SNS allows 150.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ..core.errors import ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipaddress

SCOPES = ("attributes", "body")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")
_MISSING = object()
_PLACES = Decimal("0.00001")  # SNS: "five digits of accuracy after the decimal point"


# -- validation ---------------------------------------------------------------------------------------
def validate(policy: Any, scope: str = "attributes") -> dict[str, Any]:
    """Return the policy if SNS would accept it; raise ValidationError saying what is wrong if not."""
    if scope not in SCOPES:
        raise ValidationError(f"filter_scope must be one of {SCOPES}, got {scope!r}")
    if not isinstance(policy, dict) or not policy:
        raise ValidationError("a filter policy is a non-empty dict of name -> list of conditions")
    if len(policy) > MAX_KEYS:
        raise ValidationError(f"a filter policy can have at most {MAX_KEYS} keys, this one has {len(policy)}")
    _check(policy, scope)
    if scope == "body":
        _nest(policy, True)  # refuses a field named twice ("a.b" beside {"a": {"b"}})
    combinations = complexity(policy)
    if combinations > MAX_COMBINATIONS:
        raise ValidationError(
            f"filter policy is too complex: {combinations} combinations, SNS allows {MAX_COMBINATIONS}"
        )
    return policy


def complexity(policy: dict[str, Any]) -> int:
    """SNS's count of combinations: multiply the number of values in each array; an ``$or`` adds up
    the combinations of its branches (each a policy of its own) and multiplies the rest by the sum."""
    total = 1
    for key, rule in policy.items():
        if key == "$or" and isinstance(rule, list):
            total *= sum(complexity(sub) for sub in rule if isinstance(sub, dict))
        elif isinstance(rule, dict):
            total *= complexity(rule)
        elif isinstance(rule, list):
            total *= len(rule)
    return total


def _check(policy: dict, scope: str) -> None:
    for key, rule in policy.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"filter policy keys must be non-empty strings, got {key!r}")
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2 or not all(isinstance(r, dict) and r for r in rule):
                raise ValidationError('"$or" takes a list of at least two non-empty policies')
            for sub in rule:
                _check(sub, scope)
        elif isinstance(rule, dict):
            if scope != "body":
                raise ValidationError(f"{key!r}: nested policies need filter_scope='body'")
            _check(rule, scope)
        elif isinstance(rule, list):
            if not rule:
                raise ValidationError(f"{key!r}: the list of conditions must not be empty")
            for condition in rule:
                _check_condition(key, condition, scope)
        else:
            raise ValidationError(f"{key!r} must map to a list of conditions (or a nested policy in body scope)")


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{where}: expected a number, got {value!r}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not -1e9 <= number <= 1e9:
        raise ValidationError(f"{where}: SNS compares numbers from -1e9 to 1e9, got {value}")
    return number


def _check_condition(key: str, condition: Any, scope: str) -> None:
    where = f"filter {key!r}"
    if condition is None or isinstance(condition, (str, bool)):
        return  # SNS: strings, numbers and the keywords true, false and null
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
    elif op == "cidr":
        if not isinstance(operand, str) or _network(operand) is None:
            raise ValidationError(f"{where}: cidr takes an IPv4 or IPv6 network such as 10.0.0.0/24, got {operand!r}")
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
            f"{where}: unknown operator {op!r} "
            "(prefix, suffix, equals-ignore-case, anything-but, numeric, cidr, exists)"
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
        return isinstance(document, dict) and _match_body(_nest(policy, True), _nest(document))
    values = {name: _attribute_values(attr) for name, attr in (attributes or {}).items()}
    return _match_attributes(policy, values)


def _flat(values: list[Any]) -> list[Any]:
    """Arrays of arrays count as one array of their elements, as SNS flattens them."""
    out: list[Any] = []
    for value in values:
        out.extend(_flat(value) if isinstance(value, list) else [value])
    return out


def _nest(node: Any, policy: bool = False) -> Any:
    """Dotted names as nesting: {"a.b": 1} is {"a": {"b": 1}}. In a message a name that is both a value
    and an object (or appears twice) keeps every value; in a policy it is refused."""
    if isinstance(node, list):
        return node if policy else [_nest(v) for v in node]  # a policy's lists hold conditions
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if policy and key == "$or" and isinstance(value, list):
            out[key] = [_nest(v, policy) for v in value]
            continue
        head, _, rest = key.partition(".") if "." in key.strip(".") else (key, "", "")
        _put(out, head, _nest({rest: value} if rest else value, policy), policy)
    return out


def _put(out: dict[str, Any], key: str, value: Any, policy: bool) -> None:
    if key not in out:
        out[key] = value
        return
    old = out[key]
    if isinstance(old, dict) and isinstance(value, dict):
        for k, v in value.items():
            _put(old, k, v, policy)
    elif policy:
        raise ValidationError(f"filter policy names the field {key!r} twice (a dotted name is the nested one)")
    else:
        out[key] = (old if isinstance(old, list) else [old]) + (value if isinstance(value, list) else [value])


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
        return _flat(items) if isinstance(items, list) else [items]
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


def _match_body(policy: dict, document: dict, nonempty: bool | None = None) -> bool:
    """Match one level of the body. A nested policy under a name the message lacks (or holds a value,
    not an object, under) is matched against nothing, so ``exists: false`` deep in the policy matches
    as it does on SNS's flattened fields; ``nonempty`` is whether the whole message has any field."""
    nonempty = bool(document) if nonempty is None else nonempty
    for key, rule in policy.items():
        if key == "$or" and isinstance(rule, list):
            if not any(_match_body(sub, document, nonempty) for sub in rule):
                return False
            continue
        value = document.get(key, _MISSING)
        if isinstance(rule, dict):
            objects = [v for v in (_flat(value) if isinstance(value, list) else [value]) if isinstance(v, dict)]
            if not any(_match_body(rule, v, nonempty) for v in objects or [{}]):
                return False
            continue
        present = value is not _MISSING
        found = (_flat(value) if isinstance(value, list) else [value]) if present else []
        if not any(_condition(c, present, found, nonempty) for c in rule):
            return False
    return True


def _as_number(value: Any) -> Decimal | None:
    """A number as SNS compares it: rounded to five decimal digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    try:
        return value.quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # too many digits to quantize: far outside SNS's range anyway
        return value


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    import ipaddress  # only for IP-address filters: kept out of a cold start

    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _in_network(value: Any, network: str) -> bool:
    net = _network(network)
    if not isinstance(value, str) or net is None:
        return False
    import ipaddress

    try:
        return ipaddress.ip_address(value) in net
    except ValueError:
        return False


def _same(value: Any, condition: Any) -> bool:
    """Exact matching: a string, a keyword (true/false/null) or a number (numerically)."""
    if condition is None or isinstance(condition, bool):
        return value is condition
    if isinstance(condition, str):
        return isinstance(value, str) and value == condition
    target = _as_number(condition)
    return target is not None and _as_number(value) == target


def _condition(condition: Any, present: bool, values: list[Any], any_keys: bool) -> bool:
    if isinstance(condition, dict) and "exists" in condition:
        if condition["exists"]:
            return present and any(v is not None and v != "" and v != [] for v in values)
        return not present and any_keys  # SNS: exists:false never matches a message with no attributes
    if not present:
        return False
    if not isinstance(condition, dict):
        return any(_same(v, condition) for v in values)
    ((op, operand),) = condition.items()
    strings = [v for v in values if isinstance(v, str)]
    if op == "prefix":
        return any(v.startswith(operand) for v in strings)
    if op == "suffix":
        return any(v.endswith(operand) for v in strings)
    if op == "equals-ignore-case":
        return any(v.casefold() == operand.casefold() for v in strings)
    if op == "cidr":
        return any(_in_network(v, operand) for v in strings)
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
