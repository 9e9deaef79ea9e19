"""GraphQL over HTTP (the GraphQL Foundation's spec) on one route: POST with a JSON body, GET with the
query in the URL (queries only), ``application/graphql-response+json`` with 4xx for request errors, or
``application/json`` with 200 for every well-formed request, as the spec asks of each media type."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..http.response import Response
from .context import GraphQLContext
from .engine import RequestError, formatted

if TYPE_CHECKING:
    from ..http.request import Request
    from . import GraphQL

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _media(accept: str) -> str | None:
    """The response media type the client accepts (None: neither JSON type)."""
    if not accept:
        return JSON  # the spec: a request without Accept is treated as application/json
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE in kinds:
        return GRAPHQL_RESPONSE
    if JSON in kinds or "*/*" in kinds or "application/*" in kinds:
        return JSON
    return None


def _json_param(value: Any, name: str) -> Any:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise RequestError(f"{name} is not JSON") from None
        if value is None or isinstance(value, dict):
            return value
    raise RequestError(f"{name} must be a JSON object")


def _params(req: Request) -> dict[str, Any]:
    if req.method == "GET":
        params: dict[str, Any] = dict(req.query)
    else:
        kind = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
        if kind != JSON:
            raise RequestError(f"send the request as {JSON} (got {kind or 'no content type'})", 415)
        try:
            params = json.loads(req.body or b"null")
        except ValueError:
            raise RequestError("the body is not JSON") from None
        if not isinstance(params, dict):
            raise RequestError('the body must be a JSON object: {"query": "...", "variables": {...}}')
    params["variables"] = _json_param(params.get("variables"), "variables")
    params["extensions"] = _json_param(params.get("extensions"), "extensions")
    return params


def handle(graph: GraphQL, req: Request) -> Any:
    """The route's answer; an awaitable one when a resolver is async (the dispatcher awaits it)."""
    accept = req.headers.get("accept") or ""
    if req.method == "GET" and graph.graphiql and "query" not in req.query and "text/html" in accept:
        return graph.graphiql_page()
    media = _media(accept)
    if media is None:
        return _answer({"errors": [{"message": f"this API answers {GRAPHQL_RESPONSE} or {JSON}"}]}, 406, JSON)
    try:
        params = _params(req)
        query = graph.persisted.query_for(params)
        prepared = graph.engine.prepare(query, params.get("operationName"))
        if req.method == "GET" and prepared.kind != "query":
            message = {"errors": [{"message": f"a {prepared.kind} must be sent with POST"}]}
            return _answer(message, 405, media, {"allow": "POST"})
        context = GraphQLContext(req.claims, request=req)
        result = graph.engine.execute(prepared, params["variables"], context)
    except RequestError as error:
        # application/json answers 200 to a well-formed request, whatever its GraphQL errors (the spec)
        legacy_ok = media == JSON and error.status == 400 and not _malformed(error)
        return _answer(error.formatted, 200 if legacy_ok else error.status, media)
    if hasattr(result, "__await__"):
        return _finish_async(graph, result, context, media)
    return _finish(graph, result, context, media)


def _malformed(error: RequestError) -> bool:
    """A request that is not a GraphQL request at all (no query, a body that is not JSON): 400 in both
    media types; parse and validation errors are 200 under application/json."""
    return not any(e.source or e.nodes for e in error.errors)


def _finish(graph: GraphQL, result: Any, context: Any, media: str) -> Response:
    graph.engine.report(result, context)
    body, request_error = formatted(result)
    return _answer(body, 400 if request_error and media == GRAPHQL_RESPONSE else 200, media)


async def _finish_async(graph: GraphQL, pending: Any, context: Any, media: str) -> Response:
    return _finish(graph, await pending, context, media)


def _answer(body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, default=str), status, headers, content_type=f"{media}; charset=utf-8")
