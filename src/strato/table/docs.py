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


def encode_doc(item: dict[str, Any]) -> str:
    nested = any(
        type(v) is dict or (type(v) is list and any(type(x) in (dict, list) for x in v)) for v in item.values()
    )
    if nested or (len(item) == 1 and next(iter(item)) in _TAGS):
        item = _escape(item)  # only nested maps can look like a tag; flat items skip the walk
    return json.dumps(item, default=_default, ensure_ascii=False, separators=(",", ":"))


_TAGGED = json.JSONDecoder(object_hook=_hook, parse_float=Decimal)
_UNTAGGED = json.JSONDecoder(parse_float=Decimal)


def decode_doc(text: str) -> dict[str, Any]:
    return (_TAGGED if '"$' in text else _UNTAGGED).decode(text)
