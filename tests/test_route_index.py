"""The route index gives exactly what the linear scan over every route in precedence order gives: the
route, its path parameters and the methods for a 405, for generated route sets and paths."""

from __future__ import annotations

import re
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from strato.http.route_index import RouteIndex
from strato.http.routing import METHODS, Route, Router, _match, linear_match, parse_template

LITERALS = ["a", "b", "items", ""]
segment = st.one_of(st.sampled_from(LITERALS), st.sampled_from(["{x}", "{y}", "{id}"]))


@st.composite
def templates(draw) -> str:
    parts = draw(st.lists(segment, max_size=4))
    if draw(st.booleans()) and draw(st.integers(0, 3)) == 0:
        parts.append("{rest+}")
    return "/" + "/".join(parts) if parts else "/"


def router_of(pairs: list[tuple[str, str]]) -> Router:
    router = Router()
    for method, path in pairs:
        route = Route(method, path, lambda req: None)
        if route.key not in router.by_key:
            router.add(route)
    return router


paths = st.lists(st.sampled_from([*LITERALS, "zz", "c%2Fd"]), max_size=6).map(lambda p: "/" + "/".join(p))
route_sets = st.lists(st.tuples(st.sampled_from([*METHODS[:5], "ANY"]), templates()), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(route_sets, st.lists(st.tuples(st.sampled_from(["GET", "POST", "HEAD", "DELETE"]), paths), max_size=15))
def test_the_index_answers_as_the_linear_scan(pairs, requests):
    router = router_of(pairs)
    for method, path in requests:
        assert router.match(method, path) == linear_match(router.routes, method, path)


def test_many_routes_and_precedence():
    router = router_of([("GET", f"/r{i}/items/{{id}}") for i in range(500)])
    router.add(Route("GET", "/r499/items/special", lambda req: None))
    router.add(Route("ANY", "/r499/{rest+}", lambda req: None))
    router.add(Route("POST", "/r499/items/{other}", lambda req: None))
    route, params, _ = router.match("GET", "/r499/items/7")
    assert (route.key if route else None, params) == ("GET /r499/items/{id}", {"id": "7"})
    route, params, _ = router.match("GET", "/r499/items/special")
    assert (route.key if route else None, params) == ("GET /r499/items/special", {})
    route, params, _ = router.match("GET", "/r499/items/7/more")
    assert (route.key if route else None, params) == ("ANY /r499/{rest+}", {"rest": "items/7/more"})
    assert router.match("PUT", "/r499/items/7")[0].key == "ANY /r499/{rest+}"
    assert router.match("PUT", "/r498/items/7") == (None, {}, ["GET"])


def test_a_walk_visits_only_the_branches_the_path_can_take():
    router = router_of([("GET", f"/r{i}/items/{{id}}") for i in range(1000)] + [("GET", "/{any}/items/x")])
    index = RouteIndex(router.routes)
    found = index.candidates(["r999", "items", "x"])
    assert [r.key for r in found] == ["GET /r999/items/{id}", "GET /{any}/items/x"]


def test_a_route_added_after_a_match_is_found():
    router = router_of([("GET", "/a")])
    assert router.match("GET", "/b")[0] is None
    router.add(Route("GET", "/b", lambda req: None))
    assert router.match("GET", "/b")[0].key == "GET /b"


def reference_match(template: str, path: str) -> dict[str, str] | None:
    """A template as a regular expression: what ``_match`` must agree with."""
    pattern, names = "", []
    for part in template.split("/")[1:] if template != "/" else []:
        if part.startswith("{") and part.endswith("+}"):
            pattern, names = pattern + "/(.+)", [*names, part[1:-2]]
        elif part.startswith("{"):
            pattern, names = pattern + "/([^/]+)", [*names, part[1:-1]]
        else:
            pattern += "/" + re.escape(part)
    found = re.fullmatch(pattern or "/", path)
    return None if found is None else {n: unquote(v) for n, v in zip(names, found.groups(), strict=True)}


@settings(max_examples=500, deadline=None)
@given(templates(), paths)
def test_a_template_matches_as_its_regular_expression(template, path):
    route = Route("GET", template, lambda req: None)
    route.segments = parse_template(template)
    parts = path.split("/")[1:] if path != "/" else []
    assert _match(route, parts) == reference_match(template, path)
