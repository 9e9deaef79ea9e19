"""WebSocket APIs (open connections with their data; send to one, close one) and schedules (next
firing, run now: the dev server's own schedule endpoints, reached under the console's path)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from ..local import internal
from .web import BadRequest, blocking, body, endpoint, field, resource


def _api(ws: Any) -> dict[str, Any]:
    return {
        "name": ws.name,
        "url": ws.url,
        "routes": sorted(ws.handlers),
        "index": list(ws.index),
        "connections": [c.as_dict() for c in ws.connections()],
    }


@endpoint
async def websockets(request: Request) -> Any:
    return await blocking(lambda: [_api(ws) for ws in request.app.state.app.of_kind("websocket")])


@endpoint
async def send(request: Request) -> Any:
    ws = resource(request, "websocket")
    data = await body(request)
    connection = request.path_params["connection"]
    message = field(data, "data", (str, dict, list, int, float, bool))
    if field(data, "json", bool, False) and isinstance(message, str):  # text the user typed as JSON
        try:
            message = json.loads(message)
        except ValueError as exc:
            raise BadRequest(f"data is not JSON: {exc}") from exc
    await blocking(ws.send, connection, message)
    return {"sent": connection}


@endpoint
async def close(request: Request) -> Any:
    ws = resource(request, "websocket")
    connection = request.path_params["connection"]
    await blocking(ws.close, connection)
    return {"closed": connection}


ROUTES = [
    Route("/_strato/console/api/websockets", websockets),
    Route("/_strato/console/api/websockets/{name}/connections/{connection}/send", send, methods=["POST"]),
    Route("/_strato/console/api/websockets/{name}/connections/{connection}", close, methods=["DELETE"]),
    Route("/_strato/console/api/schedules", internal.schedules),
    Route("/_strato/console/api/schedules/{name}/run", internal.run_schedule, methods=["POST"]),
]
