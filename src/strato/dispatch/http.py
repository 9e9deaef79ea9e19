"""API Gateway HTTP API (payload 2.0) events to routes: the one path Lambda and ``strato dev`` share.

``HttpDispatcher.handle`` is what ``app.lambda_handler`` calls on AWS; ``handle_async`` is what
``strato dev`` awaits after building the same event from a real HTTP request. Everything between
(routing, CORS, the authorizer, the request object, error mapping, the response format) is shared.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import cache

from ..core.errors import StratoError
from ..http import HttpApi
from ..http.request import Request, event_headers
from ..http.response import MAX_RESPONSE_BYTES, HTTPError, Response, error_body, to_lambda, to_response
from ..http.routing import Route
from . import base
from .base import Invocation, count_invocation, count_seconds, log_exception, run

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from asyncio import AbstractEventLoop
    from typing import Any

    from .deadlines import Deadlines

    RunSync = Callable[..., Awaitable[Any]]


def error_response(exc: BaseException) -> Response:
    """An exception as the JSON error a client should see; never a traceback."""
    if isinstance(exc, HTTPError):
        out = error_body(exc.status, exc.message, getattr(exc, "code", None))
        if (errors := getattr(exc, "errors", None)) is not None:  # a typed handler's 422 (http.typed)
            out.body["errors"] = errors
        out.headers.update({k.lower(): v for k, v in exc.headers.items()})
        return out
    if isinstance(exc, StratoError) and (exc.status < 500 or exc.status in (501, 503)):
        # the client gets a 4xx, but the handler's code made the call that failed: keep where, for its author
        log_exception(f"handler raised {type(exc).__name__} ({exc.status}): {exc.message}", level="warning")
        return error_body(exc.status, exc.message, exc.code)
    log_exception(f"unhandled error in handler: {exc!r}")
    return error_body(500, "Internal Server Error")


class HttpDispatcher:
    def __init__(self, api: HttpApi) -> None:
        self.api = api
        self._on_loop: Deadlines | None = None

    def resolve(self, event: dict[str, Any]) -> tuple[Route, dict[str, str]] | Response:
        """The route for an event and its path parameters, or the response the gateway itself would give
        (404/405/preflight/an authorizer's denial)."""
        method = event["requestContext"]["http"]["method"]
        headers = event_headers(event)
        cors = self.api.cors
        if cors and method == "OPTIONS" and "access-control-request-method" in headers:
            found = cors.preflight(headers.get("origin"), headers.get("access-control-request-method"))
            return Response(None, 204, found or {})
        route = self.api.router.by_key.get(event.get("routeKey", ""))
        params = event.get("pathParameters") or {}
        if route is None:
            route, params, allowed = self.api.router.match(method, event.get("rawPath", "/"))
        if route is not None:
            if route.options:
                denied = _authorizer().authorize(self.api.ctx, route.options, event)
                if denied is not None:
                    return denied
            return route, params
        if allowed:
            out = error_body(405, "Method Not Allowed")
            out.headers["allow"] = ", ".join(sorted(set(allowed)))
            return out
        return error_body(404, "Not Found")

    def finish(self, event: dict[str, Any], response: Response) -> dict[str, Any]:
        method = event["requestContext"]["http"]["method"]
        if self.api.cors:
            headers = event_headers(event)
            if not (method == "OPTIONS" and "access-control-request-method" in headers):  # not a preflight
                self.api.cors.apply(response.headers, headers.get("origin"))
        if method == "HEAD":
            response.body = None
        try:
            out = to_lambda(response)
        except TypeError as exc:
            log_exception(f"handler for {event.get('rawPath')} returned a body that is not JSON-serialisable: {exc}")
            return to_lambda(error_body(500, "Internal Server Error"))
        if len(out["body"]) > MAX_RESPONSE_BYTES:
            log_exception(
                f"response of {len(out['body'])} bytes exceeds Lambda's {MAX_RESPONSE_BYTES}-byte "
                "payload limit; return a presigned bucket URL for large content"
            )
            return to_lambda(error_body(500, "Internal Server Error"))
        return out

    def _call(self, route: Route, event: dict[str, Any], params: dict[str, str], context: Any) -> Any:
        request = Request(event, params, context)
        if route.typed is not None:
            return route.typed(request, params)
        kwargs = {name: params[name] for name in route.kwargs if name in params}
        return route.handler(request, **kwargs)

    def _arrive(self, event: dict[str, Any]) -> tuple[Route, dict[str, str]] | dict[str, Any]:
        """Resolve the request: the route to run, or the gateway's own finished answer (404, 405, a
        preflight, an authorizer's 401/403), for which no function runs and no invocation is billed. API
        Gateway's requests are counted by the gateway (``strato dev``), not here: a direct invoke (``strato
        invoke``, a script calling ``app.lambda_handler``) goes through no gateway, as on AWS."""
        resolved = self.resolve(event)
        return self.finish(event, resolved) if isinstance(resolved, Response) else resolved

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Synchronous dispatch, as inside Lambda (one event at a time)."""
        arrived = self._arrive(event)
        if isinstance(arrived, dict):
            return arrived
        route, params = arrived
        parent = _trace_header(event) if base._tracer is not None else None
        with Invocation(self.api.ctx.usage, "http", route.key, resource="http", parent=parent):
            try:
                result = self._call(route, event, params, context)
                response = to_response(run_on_loop(result) if route.is_async else run(result))
            except Exception as exc:
                response = error_response(exc)
        return self.finish(event, response)

    async def handle_async(self, event: dict[str, Any], context: Any, run_sync: RunSync) -> dict[str, Any]:
        """Dispatch under an event loop: async handlers awaited, sync ones via ``run_sync`` (a thread). The
        integration timeout cancels this task where it waits for the handler (see ``deadlines``)."""
        asyncio = _asyncio or _import_asyncio()
        arrived = self._arrive(event)
        if isinstance(arrived, dict):
            return arrived
        route, params = arrived
        tracer = base._tracer
        opened = None
        if tracer is not None:  # strato dev's events carry ASGI's lower-case header names: one lookup
            opened = tracer.enter(event["headers"].get("x-amzn-trace-id"))  # no Span object: see Tracer.enter
            started = 0.0  # the hop times the invocation
        else:
            started = time.perf_counter()
        failure: list[BaseException] = []
        deadlines = self._deadlines(asyncio.get_running_loop())
        deadline = deadlines.start(asyncio.current_task())
        try:
            try:
                if route.is_async:
                    result = await self._call(route, event, params, context)
                else:
                    result = await run_sync(self._call, route, event, params, context)
            except asyncio.CancelledError:
                if deadline.timed_out():
                    raise TimeoutError from None
                raise
            finally:
                deadlines.finish(deadline)
            response = to_response(result)
        except TimeoutError:
            log_exception(
                f"{route.key} did not answer within {self.api.timeout:g} s (API Gateway's "
                "integration timeout); the client got 503"
            )
            response = error_body(503, "Service Unavailable")
            response.headers["x-strato-error"] = f"handler exceeded the {self.api.timeout:g} s integration timeout"
            failure.append(TimeoutError(response.headers["x-strato-error"]))
        except Exception as exc:
            response = error_response(exc)
            failure.append(exc)
        except BaseException as exc:  # the request's task cancelled (the client left): still a span
            if opened is not None:
                tracer.leave(opened, "http", "http", route.key, (exc,), outcome="cancelled")
            raise
        if opened is not None:
            if tracer.answer_header and "x-amzn-trace-id" not in response.headers:  # opt-in: see tracing.md
                response.headers["x-amzn-trace-id"] = opened[0].header
            running, parent_id, start, token = opened
            method, status, path = event["requestContext"]["http"]["method"], response.status, event.get("rawPath", "/")
            record = tracer.record
            if record is None or tracer.sinks or not running.sampled or (failure and status >= 500):
                errors = failure if status >= 500 else ()
                details = ("method", method, "status", status, "path", path)
                seconds = tracer.leave(opened, "http", "http", route.key, errors, details)
            else:  # what ``leave`` does, in line for the usual request (the call cost ~1.2k instructions)
                seconds = time.time() - start  # ``enter``'s clock
                tracer.restore(token)  # made in this coroutine's own context by ``enter``
                details = ("method", method, "status", status, "path", path)
                record((running.trace_id, running.span_id, parent_id, "http", "http", route.key, "ok", start, seconds,
                        None, details))  # fmt: skip
            count_seconds(self.api.ctx.usage, seconds)
        else:
            count_invocation(self.api.ctx.usage, started)
        return self.finish(event, response)

    def _deadlines(self, loop: AbstractEventLoop) -> Deadlines:
        """The running loop's deadlines (a dispatcher may serve several loops, one after another)."""
        deadlines = self._on_loop
        if deadlines is None or deadlines.loop is not loop:
            from .deadlines import Deadlines

            deadlines = self._on_loop = Deadlines(loop, self.api.timeout)
        return deadlines


def _trace_header(event: dict[str, Any]) -> str | None:
    """The request's ``X-Amzn-Trace-Id`` (a caller's, or the one a load balancer or gateway added)."""
    headers = event.get("headers") or {}
    return headers.get("x-amzn-trace-id") or headers.get("X-Amzn-Trace-Id")


def run_on_loop(result: Any) -> Any:
    """Await an async handler's coroutine on this thread's own loop, kept for the life of the process as a
    Lambda execution environment keeps it between invocations: what an async handler or a mounted ASGI
    app opened on it (its lifespan, a client's connections) is still there on the next event."""
    if not hasattr(result, "__await__"):
        return result
    import threading

    asyncio = _asyncio or _import_asyncio()
    loop = _loops.get(threading.get_ident())
    if loop is None or loop.is_closed():
        loop = _loops[threading.get_ident()] = asyncio.new_event_loop()
    return loop.run_until_complete(result)


_loops: dict[int, Any] = {}  # thread id -> its event loop (Lambda runs one thread)
_asyncio: Any = None  # imported on the first request dispatched under a loop: Lambda's cold start never needs it


def _import_asyncio() -> Any:
    global _asyncio
    import asyncio

    _asyncio = asyncio
    return asyncio


@cache
def _authorizer() -> Any:
    """``strato.http.authorizer``, loaded by the first request to a route with options (an app without
    any never loads it) and then kept: an import statement a request cost about 1 µs."""
    from ..http import authorizer

    return authorizer
