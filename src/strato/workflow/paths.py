"""Step Functions' JSONPath, written out rather than borrowed.

A general JSONPath library answers questions Step Functions never asks and differs on the ones it does:
Step Functions returns a single value for a *definite* path (``$.a.b[0]``) and a list for an indefinite
one (``[*]``, slices, filters, ``..``); a path that selects nothing is ``States.Runtime``; and ResultPath /
an ``OutputPath``-style *reference path* may use only names and indexes (no wildcard, filter or slice),
because Step Functions writes through it. Those rules decide behaviour, so they live here, small and exact.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import StatesError

_NAME = re.compile(r"[^.\[\]\s]+")
_MISSING = object()


class PathSyntaxError(ValueError):
    """A path Step Functions would refuse when the state machine is created."""


def parse(path: str) -> list[tuple[str, Any]]:
    """``$.a['b'][0][*][1:3]..c[?(@.x > 1)]`` -> steps: (name|index|wild|slice|descend|filter, arg)."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathSyntaxError(f"{path!r} is not a JSONPath: it must start with '$'")
    steps: list[tuple[str, Any]] = []
    i, n = 1, len(path)
    while i < n:
        if path.startswith("..", i):
            match = _NAME.match(path, i + 2)
            if not match:
                raise PathSyntaxError(f"{path!r}: '..' must be followed by a name")
            steps.append(("descend", match.group()))
            i = match.end()
        elif path[i] == ".":
            match = _NAME.match(path, i + 1)
            if not match:
                raise PathSyntaxError(f"{path!r}: '.' must be followed by a name")
            name = match.group()
            steps.append(("wild", None) if name == "*" else ("name", name))
            i = match.end()
        elif path[i] == "[":
            end = _bracket_end(path, i)
            steps.append(_bracket(path, path[i + 1 : end].strip()))
            i = end + 1
        else:
            raise PathSyntaxError(f"{path!r}: unexpected {path[i]!r} at position {i}")
    return steps


def _bracket_end(path: str, start: int) -> int:
    depth, quote = 0, ""
    for j in range(start, len(path)):
        c = path[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise PathSyntaxError(f"{path!r}: unclosed '['")


def _bracket(path: str, inner: str) -> tuple[str, Any]:
    if inner == "*":
        return ("wild", None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return ("name", inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    if "," in inner:  # a union: [0,2] or ['a','b']
        members = [_bracket(path, part.strip()) for part in inner.split(",")]
        if all(kind in ("name", "index") for kind, _ in members):
            return ("union", members)
    if re.fullmatch(r"-?\d*:-?\d*(:-?\d+)?", inner):
        bounds = [int(p) if p else None for p in inner.split(":")]
        return ("slice", slice(*bounds))
    if inner.startswith("?(") and inner.endswith(")"):
        return ("filter", _parse_filter(path, inner[2:-1].strip()))
    raise PathSyntaxError(f"{path!r}: cannot read [{inner}]")


_FILTER = re.compile(r"@((?:\.[^\s<>=!]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$")


def _parse_filter(path: str, text: str) -> tuple[list[tuple[str, Any]], str | None, Any]:
    match = _FILTER.fullmatch(text)
    if not match:
        raise PathSyntaxError(f"{path!r}: cannot read the filter ({text})")
    sub = parse("$" + match.group(1))
    op, literal = match.group(2), match.group(3)
    value: Any = None
    if op:
        literal = literal.strip()
        if literal[:1] in "'\"" and literal[-1:] == literal[:1]:
            value = literal[1:-1]
        elif literal in ("true", "false"):
            value = literal == "true"
        elif literal == "null":
            value = None
        else:
            try:
                value = float(literal) if "." in literal else int(literal)
            except ValueError:
                raise PathSyntaxError(f"{path!r}: cannot read the literal {literal!r}") from None
    return sub, op, value


def is_definite(steps: list[tuple[str, Any]]) -> bool:
    return all(kind in ("name", "index") for kind, _ in steps)


def check_reference(path: str, field: str, state: str) -> None:
    """A reference path (ResultPath and friends) names one node: names and indexes only."""
    from ..core.errors import ConfigurationError

    try:
        steps = parse(path)
    except PathSyntaxError as exc:
        raise ConfigurationError(f"state {state!r}: {field} {exc}") from None
    if not is_definite(steps):
        raise ConfigurationError(
            f"state {state!r}: {field} {path!r} must be a reference path (names and indexes only, no '*', '..', "
            "slices or filters)"
        )


def check(path: str, field: str, state: str) -> None:
    from ..core.errors import ConfigurationError

    try:
        parse(path)
    except PathSyntaxError as exc:
        raise ConfigurationError(f"state {state!r}: {field} {exc}") from None


_CACHE: dict[str, list[tuple[str, Any]]] = {}


def _steps(path: str) -> list[tuple[str, Any]]:
    found = _CACHE.get(path)
    if found is None:
        found = _CACHE[path] = parse(path)
    return found


def select(data: Any, path: str, *, what: str = "path") -> Any:
    """The value at ``path`` (a list for an indefinite path); nothing there is ``States.Runtime``."""
    found = find(data, path)
    if found is _MISSING:
        raise StatesError(
            "States.Runtime", f"Invalid path '{path}' : No results for path: {what} '{path}' selected nothing"
        )
    return found


def find(data: Any, path: str) -> Any:
    """The value at ``path``, or the module's missing marker (see :func:`present`)."""
    steps = _steps(path)
    if is_definite(steps):
        node = data
        for kind, arg in steps:
            node = _child(node, kind, arg)
            if node is _MISSING:
                return _MISSING
        return node
    nodes = [data]
    for kind, arg in steps:
        nodes = [m for node in nodes for m in _children(node, kind, arg)]
    return nodes


def present(value: Any) -> bool:
    return value is not _MISSING


def _child(node: Any, kind: str, arg: Any) -> Any:
    if kind == "name":
        return node.get(arg, _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list) and -len(node) <= arg < len(node):
        return node[arg]
    return _MISSING


def _children(node: Any, kind: str, arg: Any) -> list[Any]:
    if kind in ("name", "index"):
        found = _child(node, kind, arg)
        return [] if found is _MISSING else [found]
    if kind == "wild":
        return list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
    if kind == "slice":
        return node[arg] if isinstance(node, list) else []
    if kind == "union":
        return [m for part_kind, part in arg for m in _children(node, part_kind, part)]
    if kind == "descend":
        out: list[Any] = []
        _descend(node, arg, out)
        return out
    sub, op, value = arg
    items = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else []
    return [item for item in items if _matches(item, sub, op, value)]


def _descend(node: Any, name: str, out: list[Any]) -> None:
    if isinstance(node, dict):
        if name in node:
            out.append(node[name])
        for value in node.values():
            _descend(value, name, out)
    elif isinstance(node, list):
        for value in node:
            _descend(value, name, out)


def _matches(item: Any, sub: list[tuple[str, Any]], op: str | None, value: Any) -> bool:
    node = item
    for kind, arg in sub:
        node = _child(node, kind, arg)
        if node is _MISSING:
            return False
    if op is None:
        return True
    if op in ("==", "!="):
        return ((node == value and type(node) is not bool) or node is value) == (op == "==")
    if isinstance(node, bool) or isinstance(value, bool):
        return False
    if not (isinstance(node, int | float) and isinstance(value, int | float)) and not (
        isinstance(node, str) and isinstance(value, str)
    ):
        return False
    a: Any = node
    return bool({"<": a < value, ">": a > value, "<=": a <= value, ">=": a >= value}[op])


def put(data: Any, path: str, value: Any) -> Any:
    """ResultPath: ``data`` with ``value`` at ``path`` (``$`` replaces it); missing objects are created,
    and a path that runs into a non-object is ``States.Runtime``."""
    steps = _steps(path)
    if not steps:
        return value
    if not isinstance(data, dict):
        raise StatesError("States.Runtime", f"Unable to apply ResultPath '{path}': the state input is not an object")
    import copy

    root = copy.copy(data)
    node: Any = root
    for position, (kind, arg) in enumerate(steps):
        last = position == len(steps) - 1
        if kind == "name" and isinstance(node, dict):
            if last:
                node[arg] = value
            else:
                child = node.get(arg)
                child = copy.copy(child) if isinstance(child, dict | list) else {}
                node[arg] = child
                node = child
        elif kind == "index" and isinstance(node, list) and -len(node) <= arg < len(node):
            if last:
                node[arg] = value
            else:
                node[arg] = copy.copy(node[arg]) if isinstance(node[arg], dict | list) else {}
                node = node[arg]
        else:
            raise StatesError("States.Runtime", f"Unable to apply ResultPath '{path}' to the state input")
    return root
