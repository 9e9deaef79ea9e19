"""What every console endpoint shares: finding the App and a resource, reading a JSON body, running a
blocking call off the event loop, and turning bad input into a 4xx with a message (never a 500)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..core.errors import ConditionFailed, ConfigurationError, NotFound, StratoError, ValidationError

log = logging.getLogger("strato.console")
MAX_JSON = 1 << 20  # an edited item or a message typed into the page; uploads have their own limit


class BadRequest(Exception):
    """Input the console refuses: ``status`` and an actionable message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def resource(request: Request, kind: str) -> Any:
    """The App's resource of ``kind`` named by the ``name`` path parameter, or a 404."""
    name = request.path_params["name"]
    found = request.app.state.app.resources.get((kind, name))
    if found is None:
        raise BadRequest(f"this app declares no {kind} named {name!r}", 404)
    return found


async def body(request: Request) -> dict[str, Any]:
    """The request's JSON object body: it must be sent as application/json (no form can be)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest("send the body as application/json", 415)
    raw = await request.body()
    if len(raw) > MAX_JSON:
        raise BadRequest(f"body over {MAX_JSON} bytes", 413)
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object")
    return data


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``data[name]`` checked against ``kind`` (required unless a ``default`` is given)."""
    if name not in data or data[name] is None:
        if default is ...:
            raise BadRequest(f"{name!r} is required")
        return default
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadRequest(f"{name!r} must be a {names}")
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def same_origin(request: Request) -> None:
    """An action sent by a browser comes from this origin: its Origin names the Host it was sent to. The
    secret header already stops other origins (their preflight gets no CORS answer); this is a second
    lock on the same door. Scripts send no Origin."""
    origin = request.headers.get("origin")
    if origin is None or request.method in ("GET", "HEAD"):
        return
    if origin.split("://", 1)[-1].rstrip("/").lower() != request.headers.get("host", "").lower():
        raise BadRequest(f"cross-origin request from {origin} refused", 403)


def status_of(exc: Exception) -> int:
    if isinstance(exc, BadRequest):
        return exc.status
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, ConditionFailed):
        return 409
    if isinstance(exc, (ValidationError, ConfigurationError, ValueError, TypeError, KeyError)):
        return 400
    return 400 if isinstance(exc, StratoError) else 500


Handler = Callable[[Request], Awaitable[Any]]


def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wraps a handler returning JSON-able data (or a Response): errors become a status and a message."""

    async def run(request: Request) -> Response:
        try:
            same_origin(request)
            result = await fn(request)
        except Exception as exc:
            status = status_of(exc)
            if status >= 500:
                log.exception("console %s %s failed", request.method, request.url.path)
                return JSONResponse({"message": f"{type(exc).__name__}: {exc}"}, status)
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return JSONResponse({"message": message or type(exc).__name__, "error": type(exc).__name__}, status)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, headers={"cache-control": "no-store"})

    run.__name__ = run.__qualname__ = fn.__name__
    return run


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs a call into a store (SQLite, files) in the thread pool, off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)
