"""Items as the page sees them: JSON with tagged values where JSON has none (``{"$binary": base64}``,
``{"$set": [...]}``, ``{"$decimal": "0.1"}`` for a number a float would round), and back."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

from .web import BadRequest


def to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((to_json(v) for v in value), key=repr)}
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": base64.b64encode(value).decode()}
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else {"$decimal": str(value)}
    return value


def from_json(value: Any, where: str = "item") -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == "$binary":
                try:
                    return base64.b64decode(str(inner), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise BadRequest(f"{where}: $binary must be base64") from exc
            if tag == "$set":
                if not isinstance(inner, list):
                    raise BadRequest(f"{where}: $set must be a list")
                return {from_json(v, where) for v in inner}
            if tag == "$decimal":
                try:
                    return Decimal(str(inner))
                except ArithmeticError as exc:
                    raise BadRequest(f"{where}: $decimal must be a number") from exc
        return {k: from_json(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v, where) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
