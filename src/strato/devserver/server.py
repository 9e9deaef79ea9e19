"""ASGI app for ``strato dev``: API Gateway's job done locally.

Each HTTP request is matched to a route, turned into the payload 2.0 event API Gateway would
send, and handed to the same dispatcher ``app.lambda_handler`` uses on AWS. Internal endpoints
live under ``/_strato/`` (Starlette). Body size and timeouts are enforced as on AWS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from ..app import App
from ..errors import GoneError, StratoError
from ..events import LocalContext, http_event
from ..http import MAX_BODY_BYTES
from ..http.response import dumps
from ..websocket import MESSAGE_LIMIT
from .buckets import make_endpoint as make_bucket_endpoint

log = logging.getLogger("strato.dev")


class PayloadTooLarge(Exception):
    pass


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Any, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await _send(send, status, headers, dumps(payload).encode())


class Gateway:
    """The HTTP half of API Gateway for one App."""

    def __init__(self, app: App, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.dispatcher = app.http_dispatcher if app._http is not None else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.dispatcher is None:
            await _send_json(send, 404, {"message": "Not Found"})
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = next((v for k, v in headers if k == "content-length"), None)
        try:
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                raise PayloadTooLarge()
            body = await _read_body(receive, self.max_body)
        except PayloadTooLarge:
            why = f"request body over {self.max_body} bytes (Lambda's 6 MB payload limit)"
            await _send_json(send, 413, {"message": "Request Entity Too Large"}, {"x-strato-error": why})
            return
        except ConnectionError:
            return
        method = scope["method"]
        raw_path = scope.get("raw_path", b"").decode("latin-1").split("?")[0] or scope["path"]
        route, params, _ = self.dispatcher.api.router.match(method, raw_path)
        client = scope.get("client") or ("127.0.0.1", 0)
        host = next((v for k, v in headers if k == "host"), "127.0.0.1")
        event = http_event(
            method=method,
            raw_path=raw_path,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            source_ip=client[0],
            route_key=route.key if route else "$default",
            path_parameters=params or None,
            domain=host,
        )
        context = LocalContext(f"{self.app.name}-http", self.dispatcher.api.timeout)
        result = await self.dispatcher.handle_async(event, context, run_in_threadpool)
        await self._respond(send, result)

    async def _respond(self, send: Any, result: dict[str, Any]) -> None:
        out_headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in result.get("headers", {}).items()]
        for cookie in result.get("cookies", []):
            out_headers.append((b"set-cookie", cookie.encode("latin-1")))
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        await _send(send, result["statusCode"], out_headers, raw)


class Runtime:
    """Background work of the dev server: for now the TTL sweeper of local tables."""

    def __init__(self, app: App, sweep_every: float = 30.0) -> None:
        self.app = app
        self.sweep_every = sweep_every
        self.swept = 0

    def sweep(self) -> int:
        from ..bucket.local import LocalBucketBackend
        from ..table.local import LocalTableBackend

        count = 0
        for bucket in self.app.buckets():
            if isinstance(bucket.backend, LocalBucketBackend):
                count += bucket.backend.sweep(time.time())
        for (kind, _), resource in list(self.app.resources.items()):
            backend = getattr(resource, "backend", None) if kind == "table" else None
            if isinstance(backend, LocalTableBackend) and resource.schema.ttl:
                count += len(backend.sweep_expired(time.time()))
        self.swept += count
        return count

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await run_in_threadpool(self.sweep)
            except Exception:
                log.exception("TTL sweep failed")


def build_asgi(app: App, *, sweep_every: float = 30.0, max_body: int = MAX_BODY_BYTES, background: bool = True) -> Any:
    """The ASGI callable ``strato dev`` serves: internal endpoints plus the gateway (and, with
    ``background``, the worker: consumers and deliveries in the same process)."""
    runtime = Runtime(app, sweep_every)
    from ..meetings.signalling import SignallingHub

    signalling = SignallingHub(app)

    async def health(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(
            {
                "ok": True,
                "app": app.name,
                "provider": app.config.provider,
                "data_dir": str(app.config.data_dir.resolve()),
            }
        )

    async def routes(request: StarletteRequest) -> JSONResponse:
        api = app._http
        return JSONResponse(
            [{"route": r.key, "handler": getattr(r.handler, "__qualname__", "?")} for r in (api.routes if api else [])]
        )

    def _topic(name: str) -> Any:
        topic = app.resources.get(("topic", name))
        if topic is None:
            raise LookupError(name)
        return topic

    async def sns_cert(request: StarletteRequest) -> Response:
        from ..topic.envelope import Signer
        from ..topic.local import dev_url

        signer = Signer(app.config.data_dir, f"{dev_url(app.config.data_dir)}/_strato/sns/signing-cert.pem")
        pem = await run_in_threadpool(signer.certificate)
        return Response(pem, media_type="application/x-pem-file")

    async def jwks(request: StarletteRequest) -> Response:
        """Each local user pool's JWKS, where a Cognito pool's issuer serves it."""
        pool = next(
            (
                r
                for (kind, _), r in app.resources.items()
                if kind == "user_pool" and r.pool_id == request.path_params["pool_id"]
            ),
            None,
        )
        if pool is None:
            return JSONResponse({"message": "no such user pool"}, 404)
        return JSONResponse(await run_in_threadpool(pool.jwks), headers={"cache-control": "max-age=300"})

    async def sns_confirm(request: StarletteRequest) -> Response:
        """The SubscribeURL of local confirmation messages (GET it to confirm, as with SNS)."""
        try:
            topic = _topic(request.query_params.get("topic", ""))
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
        protocol = request.query_params.get("protocol") or None
        items = []
        for topic in app.topics():
            if "outbox" in topic.capabilities:
                items += [{"topic": topic.name, **m} for m in await run_in_threadpool(topic.outbox, protocol)]
        return JSONResponse(sorted(items, key=lambda m: m["created_at"]))

    async def queue_stats(request: StarletteRequest) -> JSONResponse:
        out = {}
        for queue in app.queues():
            out[queue.name] = (await run_in_threadpool(queue.stats)).as_dict()
        return JSONResponse(out)

    async def schedules(request: StarletteRequest) -> JSONResponse:
        import datetime as dt

        now = dt.datetime.now(dt.UTC)
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
        import datetime as dt

        from ..aws import region
        from ..dispatch import ScheduleDispatcher
        from ..events import ACCOUNT_ID
        from ..schedule import scheduled_event

        name = request.path_params["name"]
        schedule = next((s for s in app.schedules if s.name == name), None)
        if schedule is None:
            return JSONResponse({"message": f"no schedule {name!r}"}, 404)
        event = scheduled_event(
            app.config.physical_name("schedule", name), dt.datetime.now(dt.UTC), region(), ACCOUNT_ID
        )
        try:
            await run_in_threadpool(ScheduleDispatcher(app).run, schedule, event)
        except Exception as exc:
            log.exception("schedule %s failed", name)
            return JSONResponse({"message": f"schedule {name!r} failed: {type(exc).__name__}"}, 500)
        return JSONResponse({"ran": name, "event": event})

    from .websocket import gateways_for

    gateways = gateways_for(app)

    def _gateway(request: StarletteRequest) -> Any:
        return gateways.get(request.path_params["name"])

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
            await gateway._send(gateway._open(connection_id), raw, text)
            return Response(status_code=200)
        except GoneError:
            return JSONResponse({"message": "Gone"}, 410)

    async def ws_broadcast(request: StarletteRequest) -> JSONResponse:
        gateway = _gateway(request)
        if gateway is None:
            return JSONResponse({"message": "Not Found"}, 404)
        body = await request.json()
        gone = await gateway._broadcast(body["ids"], base64.b64decode(body["data"]), bool(body.get("text", True)))
        return JSONResponse({"gone": gone})

    async def meeting_client(request: StarletteRequest) -> Response:
        """The browser side of local meetings (WebRTC + this server's signalling), as an ES module."""
        from pathlib import Path

        source = (Path(__file__).parent.parent / "meetings" / "client.js").read_text()
        return Response(source, media_type="text/javascript", headers={"cache-control": "no-cache"})

    async def resources(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(
            [
                {"kind": kind, "name": name, "physical": app.config.physical_name(kind, name)}
                for kind, name in app.resources
            ]
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any):
        from ..worker import Worker

        task = asyncio.create_task(runtime.run())
        worker = Worker(app).start() if background else None
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await signalling.stop()
            if worker is not None:
                await run_in_threadpool(worker.stop, 30.0)

    internal = Starlette(
        routes=[
            Route("/_strato/health", health),
            Route("/_strato/routes", routes),
            Route("/_strato/resources", resources),
            Route("/_strato/sns/signing-cert.pem", sns_cert),
            Route("/_strato/sns/confirm", sns_confirm),
            Route("/_strato/outbox", outbox),
            Route("/_strato/auth/{pool_id}/.well-known/jwks.json", jwks),
            Route("/_strato/queues", queue_stats),
            Route("/_strato/schedules", schedules),
            Route("/_strato/buckets/{bucket}/{key:path}", make_bucket_endpoint(app), methods=["GET", "PUT"]),
            Route(
                "/_strato/ws/{name}/@connections/{connection_id:path}", ws_connection, methods=["GET", "POST", "DELETE"]
            ),
            Route("/_strato/ws/{name}/@broadcast", ws_broadcast, methods=["POST"]),
            Route("/_strato/schedules/{name}/run", run_schedule, methods=["POST"]),
            Route("/_strato/meetings/client.js", meeting_client),
            WebSocketRoute("/_strato/meetings/{name}/signal", signalling.endpoint),
        ],
        lifespan=lifespan,
    )
    http_gateway = Gateway(app, max_body)

    async def asgi(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith("/_strato/"):
            await internal(scope, receive, send)
            return
        if scope["type"] == "websocket":
            name = scope["path"][4:] if scope["path"].startswith("/ws/") else None
            gateway = gateways.get(name) if name else None
            if gateway is None:
                await receive()
                await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
                await send({"type": "websocket.http.response.body", "body": b"no such WebSocket API"})
                return
            await gateway(scope, receive, send)
            return
        if scope["type"] == "http" and not scope["path"].startswith("/_strato/"):
            try:
                await http_gateway(scope, receive, send)
            except Exception:
                log.exception("gateway failure")
                await _send_json(send, 500, {"message": "Internal Server Error"})
            return
        await internal(scope, receive, send)

    asgi.runtime = runtime  # type: ignore[attr-defined]
    return asgi
