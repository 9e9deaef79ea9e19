"""Document values: what a table item may hold, its DynamoDB size, and how numbers come back.

Every provider receives items already *normalised* by :func:`normalise_item`: numbers are
``int`` (integral) or ``Decimal`` (fractional, at most 38 significant digits, DynamoDB's range),
``bytearray``/``memoryview`` become ``bytes``, tuples become lists. Providers return items in the
same form and :func:`present_item` turns them into what the application sees, so the same item
reads back identically from SQLite and from DynamoDB.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal, Inexact, Rounded

from ..core.errors import ItemTooLarge, ValidationError
from ..core.hints import Any, overload

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit, names included
MAX_DEPTH = 32  # DynamoDB's nesting limit for lists and maps
_DEC_CONTEXT = Context(prec=38, traps=[Inexact, Rounded])


def number(value: int | float | Decimal, where: str) -> int | Decimal:
    """One number in DynamoDB's range, as int when integral, else an exact Decimal."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where}: {value!r} cannot be stored (DynamoDB has no NaN or Infinity)")
        if value.is_integer():
            if abs(value) < 2**53:
                return int(value)
        elif type(value) is float:
            # a fractional float's repr has at most 17 significant digits and no trailing zeros, so the
            # Decimal is already in normal form and within 38 digits: only the exponent range is left
            dec = Decimal(repr(value))
            exp = dec.adjusted()
            if exp > 125 or exp < -130:
                raise ValidationError(f"{where}: {value!r} is outside DynamoDB's number range (1E-130 to 9.9E+125)")
            return dec
        dec = Decimal(repr(value))
    elif isinstance(value, int):
        if abs(value) < 10**38:
            return value
        if value.bit_length() > 1400:  # over 400 digits: past 9.9E+125 (and Python's 4,300-digit str limit)
            raise ValidationError(f"{where}: a number is outside DynamoDB's number range (1E-130 to 9.9E+125)")
        dec = Decimal(value)
    else:
        if not value.is_finite():
            raise ValidationError(f"{where}: {value!r} cannot be stored (DynamoDB has no NaN or Infinity)")
        dec = value
    if dec.is_zero():
        return 0
    try:
        dec = _DEC_CONTEXT.plus(dec)
    except (Inexact, Rounded):
        raise ValidationError(f"{where}: {value!r} has more than 38 significant digits (DynamoDB's limit)") from None
    exp = dec.adjusted()
    if exp > 125 or exp < -130:
        raise ValidationError(f"{where}: {value!r} is outside DynamoDB's number range (1E-130 to 9.9E+125)")
    dec = dec.normalize(_DEC_CONTEXT)
    if dec == dec.to_integral_value():
        return int(dec)
    return dec


def normalise(value: Any, where: str, depth: int = 0) -> Any:
    """Validate one value and return it in the provider-neutral form."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float, Decimal)):
        return number(value, where)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if depth >= MAX_DEPTH:
        raise ValidationError(f"{where}: nested deeper than {MAX_DEPTH} levels (DynamoDB's limit)")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not k:
                raise ValidationError(f"{where}: map keys must be non-empty strings, got {k!r}")
            out[k] = v if type(v) in _AS_IS else normalise(v, f"{where}.{k}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):  # the path in an error message is only built for what needs work
        return [v if type(v) in _AS_IS else normalise(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        raise ValidationError(f"{where}: sets are not supported; store a list instead")
    raise ValidationError(
        f"{where}: {type(value).__name__} is not storable; use str, number, bool, None, bytes, list or dict"
    )


_AS_IS = frozenset({str, bool, type(None)})  # already normal: kept without a call
SMALL_INT = 10**38  # ints below this (in magnitude) are already normal


def normalise_item(item: Any) -> dict[str, Any]:
    return normalise_sized(item)[0]


def normalise_sized(item: Any) -> tuple[dict[str, Any], int]:
    """Validate and normalise an item and compute its DynamoDB size in the same pass (a lone surrogate
    anywhere in it is a ValidationError, as DynamoDB refuses invalid UTF-8)."""
    try:
        return _normalise_sized(item)
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"item: a string is not valid Unicode (a lone surrogate in {exc.object[:40]!r})"
        ) from None


def _normalise_sized(item: Any) -> tuple[dict[str, Any], int]:
    # the common shapes (strings, small ints, fractional floats, lists of strings) are handled inline:
    # this runs on every put, and calls and isinstance chains were most of its cost
    if not isinstance(item, dict):
        raise ValidationError(f"an item must be a dict, not {type(item).__name__}")
    out: dict[str, Any] = {}
    size = 0
    for name, value in item.items():
        if not isinstance(name, str) or not name:
            raise ValidationError(f"item: attribute names must be non-empty strings, got {name!r}")
        size += len(name.encode("utf-8"))
        kind = type(value)
        if kind is str:
            out[name] = value
            size += len(value.encode("utf-8"))
            continue
        if kind is bool or value is None:
            out[name] = value
            size += 1
            continue
        if kind is int and -SMALL_INT < value < SMALL_INT:
            out[name] = value
            size += _int_size(value)
            continue
        if kind is float and math.isfinite(value):
            if value.is_integer():
                if -(2**53) < value < 2**53:  # as number(): an integral float is an int
                    out[name] = whole = int(value)
                    size += _int_size(whole)
                    continue
            else:
                clean = Decimal(repr(value))  # already normal: see number()
                if -130 <= clean.adjusted() <= 125:
                    out[name] = clean
                    size += _decimal_size(clean)
                    continue
        if kind is list:
            listed = 3  # a list's own overhead; each element adds its size plus one
            for element in value:
                if type(element) is not str:
                    break
                listed += len(element.encode("utf-8")) + 1
            else:
                out[name] = list(value)
                size += listed
                continue
        clean = normalise(value, f"item.{name}")
        out[name] = clean
        size += value_size(clean)
    return out, size


def _int_size(value: int) -> int:
    return (len(str(abs(value)).rstrip("0") or "0") + 1) // 2 + 1


def _decimal_size(value: Decimal) -> int:
    return (len(value.as_tuple().digits) + 1) // 2 + 1


def _number_size(value: int | Decimal) -> int:
    return _decimal_size(value) if isinstance(value, Decimal) else _int_size(value)


def value_size(value: Any) -> int:
    """Bytes DynamoDB bills for a normalised value (its documented sizing rules)."""
    if type(value) is str:
        return len(value.encode("utf-8"))
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, (int, Decimal)):
        return _number_size(value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in value.items())
    return 3 + sum(value_size(v) + 1 for v in value)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items())


def check_size(item: dict[str, Any], table: str, size: int | None = None) -> None:
    size = item_size(item) if size is None else size
    if size > MAX_ITEM_BYTES:
        raise ItemTooLarge(
            f"item in table {table!r} is {size} bytes; DynamoDB's limit is 400 KB ({MAX_ITEM_BYTES} bytes) "
            "(store large payloads in a bucket and keep the key in the item)"
        )


def check_stored_size(item: dict[str, Any], doc: str, table: str) -> None:
    """``check_size`` for an item whose stored JSON text (``encode_doc``) is ``doc``, skipping the walk over
    every value when that text is short: DynamoDB counts at most 4 bytes per character of it. UTF-8 takes
    at most 4 bytes a character; a number (1 byte + 1 per 2 digits), a bool or null (1), binary (its
    bytes, 3 per 4 base64 characters) and a list or map (3 bytes + 1 per element, against its brackets,
    commas, colons and quotes) all fit too. A read-modify-write (``incr``) of a small item then costs no
    Python call per attribute for its size."""
    if len(doc) > MAX_ITEM_BYTES // 4:
        check_size(item, table)


_PLAIN = frozenset({str, int, bool, type(None), bytes, float})


def present(value: Any) -> Any:
    """A normalised value with fractional numbers as float (integral ones are int already)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is Decimal:
        return float(value)
    if kind is dict:
        return {k: v if type(v) in _PLAIN else present(v) for k, v in value.items()}
    return [v if type(v) in _PLAIN else present(v) for v in value]


@overload
def present_item(item: dict[str, Any], decimals: bool) -> dict[str, Any]: ...
@overload
def present_item(item: None, decimals: bool) -> None: ...
@overload
def present_item(item: dict[str, Any] | None, decimals: bool) -> dict[str, Any] | None: ...
def present_item(item: dict[str, Any] | None, decimals: bool) -> dict[str, Any] | None:
    """An item as the application sees it: Decimals kept only when the table asked for them."""
    if item is None or decimals:
        return item
    return {k: v if type(v) in _PLAIN else present(v) for k, v in item.items()}


def present_fresh(item: dict[str, Any] | None, decimals: bool) -> dict[str, Any] | None:
    """:func:`present_item` for an item nobody else holds (just decoded or normalised): converted in
    place, so an item without fractional numbers costs one pass and no copy."""
    if item is None or decimals:
        return item
    for k, v in item.items():
        if type(v) not in _PLAIN:
            item[k] = _present_fresh(v)  # replacing a value keeps the dict's size: safe while iterating
    return item


def present_put(clean: dict[str, Any], given: dict[str, Any], decimals: bool) -> dict[str, Any]:
    """What ``put`` returns: the normalised item ``clean`` (a new dict) presented in place, where a
    fractional float the caller gave is returned as given: float(Decimal(repr(x))) is x."""
    if decimals:
        return clean
    for k, v in clean.items():
        if type(v) not in _PLAIN:
            original = given[k]
            clean[k] = original if type(v) is Decimal and type(original) is float else _present_fresh(v)
    return clean


def _present_fresh(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return float(value)
    if kind is list:
        for i, v in enumerate(value):
            if type(v) not in _PLAIN:
                value[i] = _present_fresh(v)
        return value
    if kind is dict:
        return present_fresh(value, False)
    return value
