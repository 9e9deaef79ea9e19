"""The dev server's own endpoints under ``/_strato/`` (``ROUTES``; each finds the App in
``request.app.state.app``): health, routes and resources, the SNS signing certificate and SubscribeURL,
the email/SMS outbox, local JWKS, queue stats, schedules (list and run now), and the browser side of
local meetings."""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..app import App
from ..core.errors import StratoError
from . import api_docs

log = logging.getLogger("strato.dev")


def _topic(app: App, name: str) -> Any:
    topic = app.resources.get(("topic", name))
    if topic is None:
        raise LookupError(name)
    return topic


async def health(request: StarletteRequest) -> JSONResponse:
    app: App = request.app.state.app
    body: dict[str, Any] = {
        "ok": True,
        "app": app.name,
        "provider": app.config.provider,
        "data_dir": str(app.config.data_dir.resolve()),
    }
    if (reloader := getattr(request.app.state, "reloader", None)) is not None:  # strato dev --reload
        body["reload"] = reloader.status()
    return JSONResponse(body)


async def routes(request: StarletteRequest) -> JSONResponse:
    app: App = request.app.state.app
    api = app._http
    return JSONResponse(
        [{"route": r.key, "handler": getattr(r.handler, "__qualname__", "?")} for r in (api.routes if api else [])]
    )


async def sns_cert(request: StarletteRequest) -> Response:
    app: App = request.app.state.app
    from ..runtime.devurl import dev_url
    from ..topic.envelope import Signer

    signer = Signer(app.config.data_dir, f"{dev_url(app.config.data_dir)}/_strato/sns/signing-cert.pem")
    pem = await run_in_threadpool(signer.certificate)
    return Response(pem, media_type="application/x-pem-file")


async def jwks(request: StarletteRequest) -> Response:
    """Each local user pool's JWKS, where a Cognito pool's issuer serves it."""
    app: App = request.app.state.app
    pool_id = request.path_params["pool_id"]
    pool = next((p for p in app.of_kind("user_pool") if p.pool_id == pool_id), None)
    if pool is None:
        return JSONResponse({"message": "no such user pool"}, 404)
    return JSONResponse(await run_in_threadpool(pool.jwks), headers={"cache-control": "max-age=300"})


async def sns_confirm(request: StarletteRequest) -> Response:
    """The SubscribeURL of local confirmation messages (GET it to confirm, as with SNS)."""
    app: App = request.app.state.app
    try:
        topic = _topic(app, request.query_params.get("topic", ""))
        sub = await run_in_threadpool(topic.confirm, request.query_params.get("token", ""))
    except (LookupError, StratoError) as exc:
        return Response(
            f"<Error><Code>NotFound</Code><Message>{escape(str(exc))}</Message></Error>", 404, media_type="text/xml"
        )
    return Response(
        "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>"
        f"{escape(sub.arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
        "</ConfirmSubscriptionResponse>",
        media_type="text/xml",
    )


async def outbox(request: StarletteRequest) -> JSONResponse:
    """Email and SMS the local topics 'sent', newest last."""
    app: App = request.app.state.app
    protocol = request.query_params.get("protocol") or None
    items = []
    for topic in app.of_kind("topic"):
        if "outbox" in topic.capabilities:
            items += [{"topic": topic.name, **m} for m in await run_in_threadpool(topic.outbox, protocol)]
    return JSONResponse(sorted(items, key=lambda m: m["created_at"]))


async def queue_stats(request: StarletteRequest) -> JSONResponse:
    app: App = request.app.state.app
    out = {}
    for queue in app.of_kind("queue"):
        out[queue.name] = (await run_in_threadpool(queue.stats)).as_dict()
    return JSONResponse(out)


async def schedules(request: StarletteRequest) -> JSONResponse:
    app: App = request.app.state.app
    import datetime as dt

    from ..core import clock

    now = dt.datetime.fromtimestamp(clock.now(), dt.UTC)
    return JSONResponse(
        [
            {
                "name": s.name,
                "expression": s.expression,
                "next": (n.isoformat() if (n := s.next_after(now)) else None),
            }
            for s in app.schedules
        ]
    )


async def run_schedule(request: StarletteRequest) -> JSONResponse:
    """Fire a schedule now, through the same dispatcher as EventBridge would."""
    app: App = request.app.state.app
    import datetime as dt

    from ..core import clock
    from ..core.config import region
    from ..dispatch import schedule as dispatch
    from ..events import ACCOUNT_ID
    from ..events.eventbridge import scheduled_event

    name = request.path_params["name"]
    schedule = next((s for s in app.schedules if s.name == name), None)
    if schedule is None:
        return JSONResponse({"message": f"no schedule {name!r}"}, 404)
    event = scheduled_event(
        app.config.physical_name("schedule", name), dt.datetime.fromtimestamp(clock.now(), dt.UTC), region(), ACCOUNT_ID
    )
    try:
        await run_in_threadpool(dispatch.handle, schedule, event, app.usage)
    except Exception as exc:
        log.exception("schedule %s failed", name)
        return JSONResponse({"message": f"schedule {name!r} failed: {type(exc).__name__}"}, 500)
    return JSONResponse({"ran": name, "event": event})


async def meeting_client(request: StarletteRequest) -> Response:
    """The browser side of local meetings (WebRTC + this server's signalling), as an ES module."""
    from pathlib import Path

    source = (Path(__file__).parent.parent / "meetings" / "client.js").read_text()
    return Response(source, media_type="text/javascript", headers={"cache-control": "no-cache"})


async def resources(request: StarletteRequest) -> JSONResponse:
    app: App = request.app.state.app
    return JSONResponse(
        [{"kind": kind, "name": name, "physical": app.config.physical_name(kind, name)} for kind, name in app.resources]
    )


ROUTES = [
    Route("/_strato/health", health),
    Route("/_strato/routes", routes),
    Route("/_strato/resources", resources),
    Route("/_strato/sns/signing-cert.pem", sns_cert),
    Route("/_strato/sns/confirm", sns_confirm),
    Route("/_strato/outbox", outbox),
    Route("/_strato/auth/{pool_id}/.well-known/jwks.json", jwks),
    Route("/_strato/queues", queue_stats),
    Route("/_strato/schedules", schedules),
    Route("/_strato/schedules/{name}/run", run_schedule, methods=["POST"]),
    Route("/_strato/meetings/client.js", meeting_client),
    *api_docs.ROUTES,
]
