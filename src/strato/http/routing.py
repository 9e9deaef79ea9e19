"""Route templates as API Gateway HTTP APIs write them (``/items/{id}``, ``/files/{path+}``).

Matching follows API Gateway's precedence: a literal segment beats a ``{param}``, which beats a
greedy ``{proxy+}``; a route for the exact method beats ``ANY``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import ConfigurationError
from .route_index import RouteIndex

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any


def unquote(text: str) -> str:
    """``urllib.parse.unquote``, loaded on the first percent-escape rather than at import (cold start)."""
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_IDENT = _IDENT_START | frozenset("0123456789")


def _param(part: str) -> tuple[str, bool] | None:
    """``{name}`` -> (name, False), ``{name+}`` -> (name, True), anything else None. A string check, not a
    regular expression: compiling one costs a Lambda cold start 0.1-0.2 ms."""
    if len(part) < 3 or part[0] != "{" or part[-1] != "}":
        return None
    name = part[1:-1]
    greedy = name.endswith("+")
    if greedy:
        name = name[:-1]
    if not name or name[0] not in _IDENT_START or not _IDENT.issuperset(name):
        return None
    return name, greedy


class Route:
    """One declared route. ``segments`` are (kind, text) with kind lit | param | greedy."""

    __slots__ = ("handler", "is_async", "key", "kwargs", "meta", "method", "options", "path", "segments", "typed")

    def __init__(
        self,
        method: str,
        path: str,
        handler: Callable[..., Any],
        options: dict[str, Any] | None = None,
        is_async: bool = False,
    ) -> None:
        self.method = method
        self.path = path
        self.key = f"{method} {path}"  # API Gateway's routeKey, e.g. ``GET /items/{id}`` (read per request)
        self.handler = handler
        self.options = options or {}
        self.is_async = is_async
        self.segments: list[tuple[str, str]] = []
        self.kwargs: tuple[str, ...] = ()  # path parameters the handler takes as keyword arguments
        self.meta: dict[str, Any] = {}  # what describes the handler: response_model=, summary=, a mount
        self.typed: Any = None  # a typed handler's Binding (http.typed): called with (request, params)

    @property
    def rank(self) -> tuple:
        kinds = {"lit": 0, "param": 1, "greedy": 2}
        return (tuple(kinds[k] for k, _ in self.segments), self.method == "ANY")


def parse_template(path: str) -> list[tuple[str, str]]:
    if not path.startswith("/"):
        raise ConfigurationError(f"route path {path!r} must start with '/'")
    parts = [p for p in path.split("/")[1:]] if path != "/" else []
    segments = []
    for i, part in enumerate(parts):
        param = _param(part)
        if param:
            name, greedy = param
            if greedy and i != len(parts) - 1:
                raise ConfigurationError(f"route {path!r}: a greedy {{name+}} must be the last segment")
            segments.append(("greedy" if greedy else "param", name))
        elif "{" in part or "}" in part:
            raise ConfigurationError(f"route {path!r}: segment {part!r} must be literal or a whole {{param}}")
        else:
            segments.append(("lit", part))
    return segments


def _match(route: Route, parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    segs = route.segments
    if len(parts) == len(segs) and (not segs or segs[-1][0] != "greedy"):  # the common shape: one part each
        for (kind, text), part in zip(segs, parts, strict=True):
            if kind == "lit":
                if part != text:
                    return None
            elif not part:
                return None
            else:
                params[text] = unquote(part) if "%" in part else part
        return params
    for i, (kind, text) in enumerate(segs):
        if kind == "greedy":
            rest = parts[i:]
            if not rest or rest == [""]:
                return None
            params[text] = "/".join(unquote(p) for p in rest)
            return params
        if i >= len(parts):
            return None
        if kind == "lit":
            if parts[i] != text:
                return None
        else:
            if parts[i] == "":
                return None
            params[text] = unquote(parts[i])
    return params if len(parts) == len(segs) else None


class Router:
    """The routes of an API in precedence order, matched through a ``RouteIndex`` (rebuilt on the first
    match after a route is added)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.by_key: dict[str, Route] = {}
        self._index: RouteIndex | None = None

    def add(self, route: Route) -> None:
        if route.key in self.by_key:
            raise ConfigurationError(f"route {route.key} is declared twice")
        route.segments = parse_template(route.path)
        self.routes.append(route)
        self.routes.sort(key=lambda r: r.rank)
        self.by_key[route.key] = route
        self._index = None

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, params, allowed methods). No route and no methods: 404; methods only: 405."""
        if self._index is None:
            self._index = RouteIndex(self.routes)
        parts = path.split("/")[1:] if path != "/" else []
        return first_match(self._index.candidates(parts), method, parts)


def first_match(routes: list[Route], method: str, parts: list[str]) -> tuple[Route | None, dict[str, str], list[str]]:
    """API Gateway's choice among ``routes`` (in precedence order) for a request: the first whose template
    matches and whose method fits; the methods of the others that matched, for a 405."""
    allowed: list[str] = []
    for route in routes:
        params = _match(route, parts)
        if params is None:
            continue
        if route.method in (method, "ANY") or (method == "HEAD" and route.method == "GET"):
            return route, params, allowed
        allowed.append(route.method)
    return None, {}, allowed


def linear_match(routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
    """The scan over every route that the index replaces: the reference the index is tested against."""
    return first_match(routes, method, path.split("/")[1:] if path != "/" else [])
