"""How the local table provider stores an item: JSON text where numbers stay exact (Decimal) and bytes
survive (base64), with user maps that look like its tags escaped so every document round-trips."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

_TAGS = ("$n", "$b", "$d")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        if Decimal(repr(as_float)) == value:
            return as_float  # exact: stored as a JSON number, read back as Decimal via parse_float
        return {"$n": str(value)}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    raise TypeError(f"cannot encode {type(value).__name__}")


def _escape(value: Any) -> Any:
    """Rewrite user maps shaped like a tag (``{"$n": ...}``) as ``{"$d": [name, value]}``."""
    if isinstance(value, dict):
        inner = {k: _escape(v) for k, v in value.items()}
        if len(inner) == 1 and next(iter(inner)) in _TAGS:
            return {"$d": list(next(iter(inner.items())))}
        return inner
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _hook(obj: dict) -> Any:
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        if tag == "$n":
            return Decimal(value)
        if tag == "$b":
            return base64.b64decode(value)
        if tag == "$d":
            return {value[0]: value[1]}
    return obj


# the C encoder, built once: json.dumps builds an encoder object and a C encoder on every call
_c_make: Any = getattr(json.encoder, "c_make_encoder", None)
_c_basestring: Any = getattr(json.encoder, "c_encode_basestring", None)
_C_ENCODE = (
    _c_make(None, _default, _c_basestring, None, ":", ",", False, False, True)
    if _c_make is not None and _c_basestring is not None
    else None  # a Python without the json accelerator
)
_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _needs_escape(item: dict[str, Any]) -> bool:
    """Only nested maps can look like a tag (and a lone top-level tag name); flat items skip the walk."""
    for v in item.values():
        kind = type(v)
        if kind is dict:
            return True
        if kind is list:
            for x in v:
                if type(x) is dict or type(x) is list:
                    return True
    return len(item) == 1 and next(iter(item)) in _TAGS


def encode_doc(item: dict[str, Any]) -> str:
    if _needs_escape(item):
        item = _escape(item)
    if _C_ENCODE is not None:  # items are normalised: no cycles (depth is capped), no NaN
        return "".join(_C_ENCODE(item, 0))
    return _ENCODER.encode(item)


def _hook_floats(obj: dict) -> Any:
    if len(obj) == 1 and next(iter(obj)) == "$n":
        return float(obj["$n"])  # as float(Decimal(text)): both round the same decimal text once
    return _hook(obj)


# each decoder's scanner, called directly: it skips decode()'s whitespace and trailing-data checks,
# which documents written by encode_doc never need
def _scanner(decoder: Any) -> Any:
    return decoder.scan_once


_TAGGED = _scanner(json.JSONDecoder(object_hook=_hook, parse_float=Decimal))
_UNTAGGED = _scanner(json.JSONDecoder(parse_float=Decimal))
_TAGGED_FLOATS = _scanner(json.JSONDecoder(object_hook=_hook_floats))
_UNTAGGED_FLOATS = _scanner(json.JSONDecoder())


def decode_doc(text: str) -> dict[str, Any]:
    return (_TAGGED if '"$' in text else _UNTAGGED)(text, 0)[0]


def decode_floats(text: str) -> dict[str, Any]:
    """The item as ``values.present_item(decode_doc(text), decimals=False)`` gives it, without making a
    Decimal per fractional number and converting it: the JSON number text is parsed as float directly."""
    return (_TAGGED_FLOATS if '"$' in text else _UNTAGGED_FLOATS)(text, 0)[0]
