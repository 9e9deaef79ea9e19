"""ASGI app for ``strato dev``: API Gateway's job done locally, assembled from small route modules.

HTTP requests go to the HTTP gateway (``http_gateway``), ``/ws/<name>`` to the WebSocket gateways
(``ws_gateway``), ``/_strato/`` to the dev server's own endpoints (``internal``), presigned object
URLs (``presigned``), the ``@connections`` API (``connections``) and meeting signalling. Background
work (the worker, the sweeper) starts and stops with the server's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route, WebSocketRoute

from ..app import App
from ..console import routes as console_routes
from ..http import MAX_BODY_BYTES
from ..trace.setup import LocalTracing
from ..trace.setup import wanted as trace_wanted
from . import connections, internal
from .build import Build, Live
from .guard import Guard, refuse
from .http_gateway import _send_json
from .presigned import METHODS as BUCKET_METHODS
from .presigned import make_endpoint as make_bucket_endpoint
from .reload import Reloader
from .site_server import Sites
from .sweeper import Runtime
from .ws_gateway import gateway_for

log = logging.getLogger("strato.dev")


def build_asgi(
    app: App,
    *,
    sweep_every: float = 30.0,
    max_body: int = MAX_BODY_BYTES,
    background: bool = True,
    allowed_hosts: Iterable[str] = (),
    reload: str | None = None,
) -> Any:
    """The ASGI callable ``strato dev`` serves: internal endpoints plus the gateways (and, with
    ``background``, the worker: consumers and deliveries in the same process). Requests for a Host
    other than loopback or ``allowed_hosts`` are refused, and private internal endpoints need the
    data dir's secret (see ``guard``). With ``reload`` (the app's spec, as given to ``strato dev``),
    saves to the app's files swap new code in without dropping a connection (see ``reload``)."""
    from ..meetings.signalling import SignallingHub

    runtime = Runtime(app, sweep_every)
    signalling = SignallingHub(app.of_kind("meetings"))
    live = Live(Build(app, max_body, background))
    hold = live.hold_ws if reload else None
    gateways = {
        name: gateway_for(app, binding.ws, partial(hold, name) if hold else None)
        for name, binding in live.build.websockets.items()
    }

    def swapped(new_app: App) -> None:  # what reads the App directly follows the new one
        runtime.app = internal_app.state.app = new_app

    # graphql-ws clients use one URL for queries and subscriptions: an upgrade at a GraphQL API's HTTP
    # path (ws://HOST/graphql) reaches its subscription WebSocket API, as /ws/<name> does
    graphql_paths = {g.path: g.websocket.name for g in app.of_kind("graphql") if g.websocket is not None}
    reloader = Reloader(reload, live, gateways, swapped, max_body) if reload else None
    tracing = LocalTracing(app.config.data_dir) if trace_wanted() else None  # spans: see docs/tracing.md

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        for gateway in gateways.values():  # no connection survives the process that served it
            try:
                if swept := await run_in_threadpool(gateway.sweep_stale):
                    log.info("websocket %s: forgot %d connections of a previous run", gateway.ws.name, swept)
            except Exception:
                log.exception("websocket %s: could not sweep stale connections", gateway.ws.name)
        if tracing is not None:
            tracing.start()
        task = asyncio.create_task(runtime.run())
        live.build.start_worker()
        watcher = await reloader.start() if reloader is not None else None
        from . import site_rebuild  # --reload reruns build= sites' builds too

        rebuilds = await site_rebuild.start(sites.servers, app.config.data_dir) if reloader is not None else []
        try:
            yield
        finally:
            await site_rebuild.stop(rebuilds)
            if reloader is not None:
                await reloader.stop()  # no more reloads; hand-overs under way complete
            for background_task in (task, watcher):
                if background_task is not None:
                    background_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await background_task
            await signalling.stop()
            serving = live.build.app  # mounted ASGI apps' lifespan shutdown (those of the code served last)
            for mount in serving._http.mounts if serving._http is not None else ():
                await mount.aclose()
            await run_in_threadpool(live.build.close, 30.0, 30.0)
            if tracing is not None:
                await run_in_threadpool(tracing.stop)

    internal_app = Starlette(
        routes=[
            *internal.ROUTES,
            *connections.ROUTES,
            *console_routes(),
            Route(
                "/_strato/buckets/{bucket}/{key:path}",
                make_bucket_endpoint(lambda: live.build.app),
                methods=BUCKET_METHODS,
            ),
            WebSocketRoute("/_strato/meetings/{name}/signal", signalling.endpoint),
        ],
        lifespan=lifespan,
    )
    internal_app.state.app, internal_app.state.gateways = app, gateways  # what the endpoints read
    internal_app.state.reloader = reloader
    internal_app.state.spans = tracing.store if tracing is not None else None  # the console's traces
    guard = Guard(app.config.data_dir, allowed_hosts)
    sites = Sites(app)  # static front ends: what no API route claims (see site_server)

    async def asgi(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and (refused := guard.refusal(scope)) is not None:
            await refuse(scope, receive, send, *refused)
            return
        if scope["type"] == "websocket" and scope["path"].startswith("/_strato/"):
            await internal_app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            name = scope["path"][4:] if scope["path"].startswith("/ws/") else graphql_paths.get(scope["path"])
            gateway = gateways.get(name) if name else None
            if gateway is None:
                await receive()
                await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
                await send({"type": "websocket.http.response.body", "body": b"no such WebSocket API"})
                return
            await gateway(scope, receive, send)
            return
        if scope["type"] != "http":
            await internal_app(scope, receive, send)
            return
        build = live.acquire()  # read once: this request runs on this build, even if a reload swaps it
        try:
            if scope["path"].startswith("/_strato/"):
                await internal_app(scope, receive, send)
                return
            if sites and (site := sites.pick(scope, build.app)) is not None:
                await site(scope, receive, send)
                return
            try:
                await build.http(scope, receive, send)
            except Exception:
                log.exception("gateway failure")
                await _send_json(send, 500, {"message": "Internal Server Error"})
        finally:
            build.leave()

    # a def takes attributes at run time, but mypy has no way to declare one on a function object
    asgi.runtime = runtime  # type: ignore[attr-defined]
    asgi.live = live  # type: ignore[attr-defined]
    asgi.spans = internal_app.state.spans  # type: ignore[attr-defined]
    return asgi
