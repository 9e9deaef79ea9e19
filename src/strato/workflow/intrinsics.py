"""Step Functions' intrinsic functions: ``"greeting.$": "States.Format('Hello {}', $.name)"``.

Parsed once (a bad call is refused at declaration, as CreateStateMachine does); evaluated per state. A call
whose arguments are wrong at run time fails with ``States.Runtime``: the developer guide reserves
``States.IntrinsicFailure`` "for future use" and reports intrinsic processing errors as States.Runtime.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from . import paths, variables
from .errors import StatesError

FAILURE = "States.Runtime"
Node = tuple[str, Any]  # ("lit", value) | ("path", "$.x") | ("ctx", "$$.x") | ("var", "$v.x") | ("call", ...)


_ESCAPED = {"'": "'", "\\": "\\", "{": "\ue000", "}": "\ue001"}  # escaped braces are no placeholder


def _unmark(text: str) -> str:
    return text.replace("\ue000", "{").replace("\ue001", "}")


class IntrinsicSyntaxError(ValueError):
    pass


def parse(text: str) -> Node:
    node, end = _parse(text, 0)
    if text[end:].strip():
        raise IntrinsicSyntaxError(f"{text!r}: unexpected {text[end:].strip()!r} after the call")
    if node[0] != "call":
        raise IntrinsicSyntaxError(f"{text!r} is not an intrinsic function call")
    return node


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] == " ":
        i += 1
    return i


def _parse(text: str, i: int) -> tuple[Node, int]:
    i = _skip(text, i)
    if text.startswith("'", i):
        out, j = [], i + 1
        while j < len(text) and text[j] != "'":
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
                out.append(_ESCAPED.get(text[j], "\\" + text[j]))
            else:
                out.append(text[j])
            j += 1
        if j >= len(text):
            raise IntrinsicSyntaxError(f"{text!r}: unterminated string")
        return ("lit", "".join(out)), j + 1
    if text.startswith("States.", i):
        open_at = text.find("(", i)
        if open_at < 0:
            raise IntrinsicSyntaxError(f"{text!r}: missing '('")
        name = text[i:open_at].strip()
        if name not in FUNCTIONS:
            raise IntrinsicSyntaxError(f"{text!r}: {name} is not an intrinsic function")
        args: list[Node] = []
        j = _skip(text, open_at + 1)
        if text.startswith(")", j):
            return ("call", (name, args)), j + 1
        while True:
            arg, j = _parse(text, j)
            args.append(arg)
            j = _skip(text, j)
            if text.startswith(",", j):
                j += 1
            elif text.startswith(")", j):
                return ("call", (name, args)), j + 1
            else:
                raise IntrinsicSyntaxError(f"{text!r}: expected ',' or ')' at position {j}")
    j = i
    depth, quote = 0, ""
    while j < len(text):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"" and depth:
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c in ",)" and depth == 0:
            break
        j += 1
    token = text[i:j].strip()
    if token.startswith("$$"):
        return ("ctx", token[1:]), j
    if token.startswith("$"):
        try:
            if variables.reference(token) is not None:
                variables.check_reference(token)
                return ("var", token), j
            paths.parse(token)
        except paths.PathSyntaxError as exc:
            raise IntrinsicSyntaxError(str(exc)) from None
        return ("path", token), j
    try:
        return ("lit", json.loads(token)), j
    except ValueError:
        raise IntrinsicSyntaxError(f"{text!r}: cannot read the argument {token!r}") from None


def evaluate(node: Node, data: Any, context: Any) -> Any:
    kind, arg = node
    if kind == "lit":
        return _unmark(arg) if isinstance(arg, str) else arg
    if kind == "path":
        return paths.select(data, arg)
    if kind == "ctx":
        return paths.select(context, arg)
    if kind == "var":
        return variables.select(arg, context)
    name, args = arg
    values = [evaluate(a, data, context) for a in args]
    if name == "States.Format" and args and args[0][0] == "lit":
        values[0] = args[0][1]  # the template keeps its escaped braces apart from its placeholders
    return FUNCTIONS[name](*_checked(name, values))


def _checked(name: str, values: list[Any]) -> list[Any]:
    low, high = ARITY[name]
    if not low <= len(values) <= high:
        wanted = str(low) if low == high else f"{low} to {high}" if high < 99 else f"at least {low}"
        raise StatesError(FAILURE, f"The function {name} needs {wanted} arguments, got {len(values)}")
    return values


def _need(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise StatesError(FAILURE, f"Invalid arguments in {name}: {message}")


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _format(template: Any, *args: Any) -> str:
    _need(isinstance(template, str), "States.Format", "the template must be a string")
    for a in args:
        _need(not isinstance(a, dict | list), "States.Format", "arguments must be strings, numbers, booleans or null")
    pieces = template.split("{}")
    _need(len(pieces) - 1 == len(args), "States.Format", f"{len(pieces) - 1} placeholders for {len(args)} arguments")
    out = [pieces[0]]
    for a, piece in zip(args, pieces[1:], strict=True):
        out.append((json.dumps(a) if not isinstance(a, str) else a) + piece)
    return _unmark("".join(out))


def _string_to_json(text: Any) -> Any:
    _need(isinstance(text, str), "States.StringToJson", "the argument must be a string")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StatesError(FAILURE, f"Invalid arguments in States.StringToJson: {exc}") from None


def _partition(array: Any, size: Any) -> list[Any]:
    _need(isinstance(array, list), "States.ArrayPartition", "the first argument must be an array")
    _need(_is_int(size) and size > 0, "States.ArrayPartition", "the chunk size must be a positive integer")
    size = int(size)
    return [array[i : i + size] for i in range(0, len(array), size)]


def _range(start: Any, end: Any, step: Any) -> list[int]:
    _need(all(_is_int(v) for v in (start, end, step)), "States.ArrayRange", "arguments must be integers")
    _need(step != 0, "States.ArrayRange", "the step must not be 0")
    start, end, step = int(start), int(end), int(step)
    out = list(range(start, end + (1 if step > 0 else -1), step))
    _need(len(out) <= 1000, "States.ArrayRange", "the range may hold at most 1000 items")
    return out


def _get_item(array: Any, index: Any) -> Any:
    _need(isinstance(array, list), "States.ArrayGetItem", "the first argument must be an array")
    _need(_is_int(index) and 0 <= index < len(array), "States.ArrayGetItem", f"index {index!r} is out of bounds")
    return array[int(index)]


def _unique(array: Any) -> list[Any]:
    _need(isinstance(array, list), "States.ArrayUnique", "the argument must be an array")
    out: list[Any] = []
    for item in array:
        if not any(item == seen and type(item) is type(seen) for seen in out):
            out.append(item)
    return out


def _b64encode(text: Any) -> str:
    _need(isinstance(text, str) and len(text) <= 10_000, "States.Base64Encode", "a string of up to 10,000 characters")
    return base64.b64encode(text.encode()).decode()


def _b64decode(text: Any) -> str:
    _need(isinstance(text, str) and len(text) <= 10_000, "States.Base64Decode", "a string of up to 10,000 characters")
    try:
        return base64.b64decode(text, validate=True).decode()
    except ValueError as exc:
        raise StatesError(FAILURE, f"Invalid arguments in States.Base64Decode: {exc}") from None


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(data: Any, algorithm: Any) -> str:
    _need(isinstance(data, str) and len(data) <= 10_000, "States.Hash", "data must be a string of up to 10,000 chars")
    _need(algorithm in _HASHES, "States.Hash", f"the algorithm must be one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _merge(a: Any, b: Any, deep: Any) -> dict[str, Any]:
    _need(isinstance(a, dict) and isinstance(b, dict), "States.JsonMerge", "both arguments must be objects")
    _need(deep is False, "States.JsonMerge", "only a shallow merge (false) is supported, as in Step Functions")
    return {**a, **b}


def _random(start: Any, end: Any, seed: Any = None) -> int:
    _need(_is_int(start) and _is_int(end) and start < end, "States.MathRandom", "start < end, both integers")
    _need(seed is None or _is_int(seed), "States.MathRandom", "the seed must be an integer")
    rng = random.Random(int(seed)) if seed is not None else random
    return rng.randrange(int(start), int(end))


def _add(a: Any, b: Any) -> int:
    _need(_is_int(a) and _is_int(b), "States.MathAdd", "both arguments must be integers")
    return int(a) + int(b)


def _split(text: Any, delimiters: Any) -> list[str]:
    _need(isinstance(text, str) and isinstance(delimiters, str), "States.StringSplit", "both must be strings")
    out: list[str] = []
    current: list[str] = []
    for c in text:
        if c in delimiters:
            out.append("".join(current))
            current = []
        else:
            current.append(c)
    out.append("".join(current))
    return [piece for piece in out if piece]


def _contains(array: Any, value: Any) -> bool:
    _need(isinstance(array, list), "States.ArrayContains", "the first argument must be an array")
    return any(item == value and type(item) is type(value) for item in array)


def _length(array: Any) -> int:
    _need(isinstance(array, list), "States.ArrayLength", "the argument must be an array")
    return len(array)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda value: json.dumps(value, separators=(",", ":")),
    "States.Array": lambda *values: list(values),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": _contains,
    "States.ArrayRange": _range,
    "States.ArrayGetItem": _get_item,
    "States.ArrayLength": _length,
    "States.ArrayUnique": _unique,
    "States.Base64Encode": _b64encode,
    "States.Base64Decode": _b64decode,
    "States.Hash": _hash,
    "States.JsonMerge": _merge,
    "States.MathRandom": _random,
    "States.MathAdd": _add,
    "States.StringSplit": _split,
    "States.UUID": lambda: str(uuid.uuid4()),
}

MANY = 99
ARITY: dict[str, tuple[int, int]] = {
    "States.Format": (1, MANY),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, MANY),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
