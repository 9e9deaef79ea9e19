"""One parameter style for every engine: ``:name`` placeholders with a dict of values.

SQLite understands it natively; for PostgreSQL (psycopg) it becomes ``%(name)s`` and every literal
``%`` is doubled. The scanner skips string literals, quoted identifiers, comments, dollar-quoted
bodies and ``::`` casts, so ``'10:30'`` or ``x::text`` are left alone. It also splits scripts into
statements for migrations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from ..core.errors import ValidationError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _tokens(sql: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces: 'code', 'quoted' (strings, identifiers, comments, dollar bodies), 'param'."""
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        end = None
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            end = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            end = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j < 0 else j + 2
        elif c == "$" and (match := _DOLLAR.match(sql, i)):
            tag = match.group(0)
            j = sql.find(tag, match.end())
            end = n if j < 0 else j + len(tag)
        elif c == ":" and sql.startswith("::", i):
            i += 2
            continue
        elif c == ":" and (match := _NAME.match(sql, i + 1)) and (i == 0 or sql[i - 1] != ":"):
            if start < i:
                yield "code", sql[start:i]
            yield "param", match.group(0)
            i = start = match.end()
            continue
        if end is not None:
            if start < i:
                yield "code", sql[start:i]
            yield "quoted", sql[i:end]
            i = start = end
            continue
        i += 1
    if start < n:
        yield "code", sql[start:]


def names(sql: str) -> list[str]:
    return list(_names(sql))


@lru_cache(maxsize=1024)
def _names(sql: str) -> tuple[str, ...]:
    """Memoised: an app runs the same few statements over and over, and scanning is per character."""
    return tuple(text for kind, text in _tokens(sql) if kind == "param")


def check(sql: str, params: dict | None) -> dict:
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError("SQL must be a non-empty string")
    params = params or {}
    if not isinstance(params, dict):
        raise ValidationError("parameters are a dict for :name placeholders (one style for every engine)")
    missing = sorted(set(_names(sql)) - set(params))
    if missing:
        raise ValidationError(f"no value for parameter(s) {', '.join(':' + m for m in missing)}")
    return params


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """``:name`` -> ``%(name)s`` with literal ``%`` doubled, for psycopg."""
    out = []
    for kind, text in _tokens(sql):
        out.append(f"%({text})s" if kind == "param" else text.replace("%", "%%"))
    return "".join(out)


def statements(script: str) -> list[str]:
    """Split a script on top-level semicolons (not inside strings, comments or dollar bodies)."""
    parts, current = [], []
    for kind, text in _tokens(script):
        if kind == "param":
            current.append(":" + text)
        elif kind == "quoted":
            current.append(text)
        else:
            pieces = text.split(";")
            current.append(pieces[0])
            for piece in pieces[1:]:
                parts.append("".join(current))
                current = [piece]
    parts.append("".join(current))
    return [
        p.strip()
        for p in parts
        if p.strip() and not all(line.strip().startswith("--") or not line.strip() for line in p.strip().splitlines())
    ]
