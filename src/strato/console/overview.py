"""The app at a glance: every declared resource with its live state in one line (a queue's depth, a
WebSocket API's open connections, a workflow's running executions, ...), and the HTTP routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import blocking, endpoint


def _state(kind: str, resource: Any) -> dict[str, Any]:
    """A few live numbers per kind; a provider that cannot say leaves them out."""
    try:
        if kind == "queue":
            return resource.stats().as_dict()
        if kind == "websocket":
            return {"connections": len(resource.connections())}
        if kind == "topic":
            return {"subscriptions": len(resource.subscriptions())}
        if kind == "workflow":
            return {"running": len(resource.executions("RUNNING", limit=1000))}
        if kind == "metrics":
            return {"alarms": len(resource.alarms)}
        if kind == "table":
            return {"indexes": len(resource.schema.indexes), "streams": len(resource.stream_handlers)}
    except Exception as exc:  # one resource's provider failing must not blank the page
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}


def overview_of(app: Any) -> dict[str, Any]:
    api = app._http
    return {
        "app": app.name,
        "provider": app.config.provider,
        "data_dir": str(app.config.data_dir.resolve()),
        "resources": [
            {"kind": kind, "name": name, "physical": app.config.physical_name(kind, name), "state": _state(kind, r)}
            for (kind, name), r in app.resources.items()
        ],
        "routes": [
            {"route": r.key, "handler": getattr(r.handler, "__qualname__", "?")} for r in (api.routes if api else [])
        ],
        "schedules": [{"name": s.name, "expression": s.expression} for s in app.schedules],
    }


@endpoint
async def overview(request: Request) -> Any:
    return await blocking(overview_of, request.app.state.app)


ROUTES = [Route("/_strato/console/api/overview", overview)]
