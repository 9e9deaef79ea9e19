"""API Gateway's ``@connections`` management API, locally: other processes (``strato worker``, scripts)
post to, describe and close connections of the dev server's WebSocket gateways through it."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.errors import GoneError, ServiceUnavailable, ValidationError, parse_json
from ..websocket import MESSAGE_LIMIT


def _gateway(request: StarletteRequest) -> Any:
    """The running gateway of the WebSocket API the path names (``request.app.state.gateways``)."""
    return request.app.state.gateways.get(request.path_params["name"])


async def ws_connection(request: StarletteRequest) -> Response:
    """API Gateway's @connections management API: POST sends, GET describes, DELETE disconnects."""
    gateway = _gateway(request)
    if gateway is None:
        return JSONResponse({"message": "Not Found"}, 404)
    connection_id = request.path_params["connection_id"]
    try:
        if request.method == "GET":
            return JSONResponse(gateway.info(connection_id))
        if request.method == "DELETE":
            await gateway._close(gateway._open(connection_id), 1000, "Closed by the application")
            return Response(status_code=204)
        raw = await request.body()
        try:
            raw.decode("utf-8")
            text = True
        except UnicodeDecodeError:
            text = False
        if len(raw) > MESSAGE_LIMIT:
            return JSONResponse({"message": "Payload too large"}, 413)
        await gateway._send(gateway._ready(connection_id), raw, text)
        return Response(status_code=200)
    except GoneError:
        return JSONResponse({"message": "Gone"}, 410)
    except ServiceUnavailable as exc:  # PostToConnection's LimitExceededException: the client is not reading
        return JSONResponse({"message": str(exc)}, 429)


async def ws_broadcast(request: StarletteRequest) -> JSONResponse:
    """One message to many connections, or ``{"batch": [...]}`` of such messages sent in order."""
    gateway = _gateway(request)
    if gateway is None:
        return JSONResponse({"message": "Not Found"}, 404)
    try:
        messages = _broadcast_body(await request.body())
    except ValidationError as exc:
        return JSONResponse({"message": exc.message}, 400)
    gone: set[str] = set()
    try:
        for ids, data, text in messages:  # in order, each on the loop: written now
            gone.update(gateway.broadcast_threadsafe(ids, data, text))
    except ServiceUnavailable as exc:
        return JSONResponse({"message": str(exc)}, 429)
    return JSONResponse({"gone": sorted(gone)})


def _broadcast_body(raw: bytes) -> list[tuple[list[str], bytes, bool]]:
    """``{"ids": [...], "data": base64, "text": bool}`` or ``{"batch": [those]}``, or a ValidationError."""
    body = parse_json(raw, "the broadcast request")
    if not isinstance(body, dict):
        raise ValidationError("the broadcast request is a JSON object")
    if "batch" not in body:
        return [_message(body)]
    if not isinstance(body["batch"], list) or not all(isinstance(m, dict) for m in body["batch"]):
        raise ValidationError("batch: a list of {ids, data, text} objects")
    return [_message(m) for m in body["batch"]]


def _message(body: dict[str, Any]) -> tuple[list[str], bytes, bool]:
    ids, data, text = body.get("ids"), body.get("data"), body.get("text", True)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationError("ids: a list of connection ids")
    if not isinstance(data, str) or not isinstance(text, bool):
        raise ValidationError("data: base64 text; text: true or false")
    try:
        return ids, base64.b64decode(data, validate=True), text
    except ValueError:
        raise ValidationError("data is not base64") from None


ROUTES = [
    Route("/_strato/ws/{name}/@connections/{connection_id:path}", ws_connection, methods=["GET", "POST", "DELETE"]),
    Route("/_strato/ws/{name}/@broadcast", ws_broadcast, methods=["POST"]),
]
