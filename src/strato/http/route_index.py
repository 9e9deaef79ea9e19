"""A trie of route templates, so matching a path costs its depth rather than the number of routes.

Each node branches on a literal segment (a dict lookup), one ``{param}`` child and the greedy
``{proxy+}`` routes that end there. A walk collects every route whose template can match the path
(at most a few: the literal and the param branch of each segment); the router then tries those in its
precedence order with the same matcher the linear scan used, so results cannot differ from it.
"""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # typing is not loaded at run time (Lambda cold start)

if TYPE_CHECKING:
    from .routing import Route


class _Node:
    __slots__ = ("ends", "greedy", "literal", "param")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ends: list[tuple[int, Route]] = []  # routes whose template ends here
        self.greedy: list[tuple[int, Route]] = []  # routes with a {name+} as the next (last) segment


class RouteIndex:
    """Routes by their segments; ``candidates`` are in the routes' given (precedence) order."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.root = _Node()
        for position, route in enumerate(routes):
            self._insert(position, route)

    def _insert(self, position: int, route: Route) -> None:
        node = self.root
        for kind, text in route.segments:
            if kind == "greedy":
                node.greedy.append((position, route))
                return
            if kind == "lit":
                node = node.literal.setdefault(text, _Node())
            else:
                if node.param is None:
                    node.param = _Node()
                node = node.param
        node.ends.append((position, route))

    def candidates(self, parts: list[str]) -> list[Route]:
        """Every route whose template may match ``parts`` (a superset of the matching ones), in order."""
        found: list[tuple[int, Route]] = []
        self._walk(self.root, parts, 0, found)
        if len(found) > 1:
            found.sort(key=_position)
        return [route for _, route in found]

    def _walk(self, node: _Node, parts: list[str], i: int, found: list[tuple[int, Route]]) -> None:
        while True:
            if node.greedy:
                found.extend(node.greedy)
            if i == len(parts):
                found.extend(node.ends)
                return
            part = parts[i]
            literal = node.literal.get(part)
            if node.param is not None and part:
                if literal is not None:
                    self._walk(literal, parts, i + 1, found)
                node = node.param
            elif literal is not None:
                node = literal
            else:
                return
            i += 1


def _position(entry: tuple[int, Route]) -> int:
    return entry[0]
