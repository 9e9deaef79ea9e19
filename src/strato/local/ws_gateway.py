"""The local API Gateway WebSocket gateway: ``ws://127.0.0.1:PORT/ws/<name>``.

Each connection gets API Gateway's life cycle: a ``$connect`` event that may reject the upgrade with
an HTTP status, route selection on JSON text frames, ``MESSAGE`` events through the same dispatcher as
Lambda, two-way replies, API Gateway's error frames, idle and maximum-duration closes (1001), and
``$disconnect``. Frames over 32 KB and messages over 128 KB close the connection with 1009, enforced
on the wire by ``ws_limits.AwsLimitsProtocol``. Other processes post to connections through
``/_strato/ws/<name>/@connections/{id}``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..core import clock
from ..core.errors import GoneError
from ..dispatch.websocket import WebSocketDispatcher
from ..events.apigw_ws import ws_connect_event, ws_context, ws_disconnect_event, ws_message_event
from .handler_threads import HandlerThreads
from .ws_connections import ConnectionsApi, _retrieve
from .ws_dispatch import Inbox, Outbox, handler_pool

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("strato.ws")


class LiveConnection:
    __slots__ = (
        "authorizer",
        "connected_at",
        "headers",
        "id",
        "idle_since",
        "last_active",
        "lock",
        "opened",
        "protocol",
        "send",
        "source_ip",
        "state",
        "user_agent",
    )

    def __init__(self, connection_id: str, send: Any, headers: list, source_ip: str, user_agent: str) -> None:
        self.id = connection_id
        self.send = send
        # uvicorn's protocol object behind `send`: lets sends skip the ASGI message round trip
        protocol = getattr(send, "__self__", None)
        self.protocol = protocol if isinstance(protocol, WebSocketsSansIOProtocol) else None
        self.headers = headers
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.state = "connecting"
        # connectedAt / LastActiveAt are what the app reads: strato's clock (virtual in tests); the idle
        # timeout and maximum duration are waits on a live socket: monotonic, so a frozen clock never holds
        # a connection open forever nor a virtual jump closes it behind the client's back
        self.connected_at = clock.now()
        self.last_active = self.connected_at
        self.opened = self.idle_since = time.monotonic()
        self.lock = asyncio.Lock()
        self.authorizer: dict | None = None


def new_connection_id() -> str:
    # URL-safe, shaped like API Gateway's 'L0SM9cOFvHcCIhw='
    return base64.urlsafe_b64encode(os.urandom(10)).decode()


def new_request_id() -> str:
    return os.urandom(8).hex()


def _error_frame(conn: LiveConnection, message: str, request_id: str) -> bytes:
    """API Gateway's error frame to a client ("Forbidden", "Internal server error", "Too Many Requests")."""
    return json.dumps({"message": message, "connectionId": conn.id, "requestId": request_id}).encode()


class Binding(NamedTuple):
    """The code one WebSocket API runs: its App, its declaration and the dispatcher of its handlers."""

    app: App
    ws: Any
    dispatcher: WebSocketDispatcher


def _nothing() -> None:
    return None


#: hands out the binding an event runs on (None: the API is gone) and the call that lets go of it
Hold = Callable[[], tuple[Binding | None, Callable[[], None]]]


def pinned(binding: Binding) -> Hold:
    """A hold that always hands out ``binding``: the code a removed API's connections say goodbye on."""
    return lambda: (binding, _nothing)


class WsGateway(ConnectionsApi):
    """The connections of one WebSocket API. They outlive the code they run: ``strato dev --reload``
    points ``hold`` at the build being served, so each event runs the newest handlers, as API Gateway
    keeps connections across a Lambda deploy."""

    def __init__(self, app: App, ws: Any) -> None:
        self.binding = Binding(app, ws, WebSocketDispatcher(ws))  # the latest: limits and names come from it
        self.hold: Hold = lambda: (self.binding, _nothing)
        self.connections: dict[str, LiveConnection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.outbox: Outbox | None = None
        self._pool: HandlerThreads | None = None

    @property
    def pool(self) -> HandlerThreads:
        """The threads message handlers run on (started with the first connection)."""
        if self._pool is None:
            self._pool = handler_pool()
        return self._pool

    @property
    def app(self) -> App:
        return self.binding.app

    @property
    def ws(self) -> Any:
        return self.binding.ws

    @property
    def dispatcher(self) -> WebSocketDispatcher:
        return self.binding.dispatcher

    # -- the connection life cycle --------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.loop is not asyncio.get_running_loop() or self.outbox is None:
            self.loop = asyncio.get_running_loop()
            self.outbox = Outbox(self.loop)
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        header = dict(headers)
        client = scope.get("client") or ("127.0.0.1", 0)
        conn = LiveConnection(new_connection_id(), send, headers, client[0], header.get("user-agent", ""))
        self.connections[conn.id] = conn
        stage = self.app.config.stage
        base = dict(
            connection_id=conn.id,
            connected_at=int(conn.connected_at * 1000),
            domain=header.get("host", "127.0.0.1"),
            stage=stage,
            api_id=f"local-{self.ws.name}",
            source_ip=conn.source_ip,
            user_agent=conn.user_agent,
        )
        event = ws_connect_event(
            ws_context(route="$connect", event_type="CONNECT", **base),
            headers,
            scope.get("query_string", b"").decode("latin-1"),
        )
        accepted = False  # $connect ran and accepted: $disconnect runs, whatever happens next
        code, reason = 1006, "Connection closed before the handshake completed"
        try:
            result = await self._run_handler(event, "$connect handler")
            status = int(result.get("statusCode", 200))
            if status >= 300:
                await self._reject(send, status, str(result.get("body", "")).encode())
                return
            accepted = True
            # API Gateway hands the $connect authorizer's context to every later event of the connection
            conn.authorizer = event["requestContext"].get("authorizer")
            # the subprotocol the $connect handler chose (``conn.subprotocol``), as API Gateway echoes it
            subprotocol = (result.get("headers") or {}).get("Sec-WebSocket-Protocol")
            await send({"type": "websocket.accept", "subprotocol": subprotocol})  # raises if the client left
            conn.state = "open"
            code, reason = await self._serve(conn, receive, base)
        except OSError as exc:  # the client left during the handshake (uvicorn's ClientDisconnected)
            log.debug("websocket %s: connection %s lost during the handshake: %r", self.ws.name, conn.id, exc)
        except Exception:
            log.exception("websocket %s: connection %s failed", self.ws.name, conn.id)
        finally:
            conn.state = "closed"
            self.connections.pop(conn.id, None)
            if accepted:
                await self._disconnected(conn, headers, base, code, reason)

    async def _run_handler(self, event: dict, what: str) -> dict[str, Any]:
        """$connect or $disconnect on the code being served (held while it runs)."""
        binding, release = self.hold()
        try:
            if binding is None:
                return {"statusCode": 410, "body": "Gone"}
            return await run_in_threadpool(binding.dispatcher.handle, event)
        except Exception:
            log.exception("%s of %s failed", what, self.ws.name)
            return {"statusCode": 500, "body": "Internal server error"}
        finally:
            release()

    async def _reject(self, send: Any, status: int, body: bytes) -> None:
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})

    async def _disconnected(self, conn: LiveConnection, headers: list, base: dict, code: int, reason: str) -> None:
        """$disconnect, as API Gateway sends it after any connection $connect accepted."""
        self.app.usage.add("apigateway", "ws_connection_minutes", (time.monotonic() - conn.opened) / 60)
        context = ws_context(route="$disconnect", event_type="DISCONNECT", **base)
        if conn.authorizer:
            context["authorizer"] = conn.authorizer
        await self._run_handler(ws_disconnect_event(context, headers, code, reason), "$disconnect handler")

    def sweep_stale(self) -> int:
        """Forget the registry entries of connections no process serves (a dev server killed with
        SIGKILL never ran their $disconnect): called before this gateway serves its first one."""
        return self.ws.registry.forget_all()

    async def _serve(self, conn: LiveConnection, receive: Any, base: dict) -> tuple[int, str]:
        inbox = Inbox(self.pool, asyncio.get_running_loop(), partial(self._handle, conn, base))
        deadline = conn.opened + self.ws.max_duration
        usage = self.app.usage
        try:
            while True:
                now = time.monotonic()
                idle_left = conn.idle_since + self.ws.idle_timeout - now
                try:
                    async with asyncio.timeout(max(min(idle_left, deadline - now), 0.001)):
                        message = await receive()
                except TimeoutError:
                    why = "idle timeout" if idle_left <= deadline - now else "maximum connection duration"
                    await self._close(conn, 1001, "Going away")
                    return 1001, f"Going away ({why})"
                if message["type"] == "websocket.disconnect":
                    code = message.get("code", 1005)
                    return code, message.get("reason", "") or ("Message too big" if code == 1009 else "")
                conn.last_active, conn.idle_since = clock.now(), time.monotonic()
                data = message.get("text") if message.get("text") is not None else message.get("bytes")
                usage.add("apigateway", "ws_messages", max(1, -(-len(data) // 32768)))
                if not inbox.offer(data):  # API Gateway's answer to a throttled message: the client is told
                    self._deliver(conn, _error_frame(conn, "Too Many Requests", new_request_id()), True)
        finally:
            await inbox.drained()  # $disconnect runs after the messages that arrived before it

    def _handle(self, conn: LiveConnection, base: dict, data: str | bytes) -> None:
        """One message on a handler thread, on the code served when it is handled; what it answers is
        posted after the sends the handler made, so the client sees them in that order."""
        binding, release = self.hold()
        try:
            route = binding.ws.select_route(data if isinstance(data, str) else None) if binding else None
            context = ws_context(route=route or "$default", event_type="MESSAGE", **base)
            if conn.authorizer:
                context["authorizer"] = conn.authorizer
            if route is None or binding is None:
                self._post(conn, _error_frame(conn, "Forbidden", context["requestId"]), True)
                return
            try:
                result = binding.dispatcher.handle(ws_message_event(context, data))
            except Exception:
                log.exception("route %s of websocket %s failed", route, binding.ws.name)
                frame = _error_frame(conn, "Internal server error", context["requestId"])
                self._post(conn, frame, True)
                return
        finally:
            release()
        if "body" in result:
            raw = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
            self._post(conn, raw, not result.get("isBase64Encoded"))

    def _deliver(self, conn: LiveConnection, raw: bytes, text: bool) -> None:
        """Write a message on the loop, without awaiting; a connection gone meanwhile is routine (a post
        racing a close, as on API Gateway)."""
        if conn.protocol is not None:
            try:
                self._write(conn, conn.protocol, raw, text)
            except GoneError as exc:
                log.debug("%s", exc)
            return
        if conn.state == "open":
            asyncio.ensure_future(self._send(conn, raw, text)).add_done_callback(_retrieve)

    def _write(self, conn: LiveConnection, protocol: WebSocketsSansIOProtocol, raw: bytes, text: bool) -> None:
        """Frame and write one message on the loop thread, without awaiting (the fast path: ``protocol``
        is the connection's uvicorn protocol)."""
        if conn.state != "open" or protocol.close_sent or protocol.transport.is_closing():
            conn.state = "closed" if conn.state == "open" else conn.state
            raise GoneError(f"connection {conn.id} is gone")
        if text:
            protocol.conn.send_text(raw)
        else:
            protocol.conn.send_binary(raw)
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        conn.last_active, conn.idle_since = clock.now(), time.monotonic()

    async def _send(self, conn: LiveConnection, raw: bytes, text: bool) -> None:
        if conn.state != "open":
            raise GoneError(f"connection {conn.id} is gone")
        if conn.protocol is not None:
            self._write(conn, conn.protocol, raw, text)
            return
        async with conn.lock:
            try:
                if text:
                    await conn.send({"type": "websocket.send", "text": raw.decode("utf-8")})
                else:
                    await conn.send({"type": "websocket.send", "bytes": raw})
            except Exception as exc:  # the client went away under us
                conn.state = "closed"
                raise GoneError(f"connection {conn.id} is gone") from exc
        conn.last_active, conn.idle_since = clock.now(), time.monotonic()

    async def _close(self, conn: LiveConnection, code: int, reason: str) -> None:
        if conn.state == "open":
            conn.state = "closing"
            try:
                await conn.send({"type": "websocket.close", "code": code, "reason": reason})
            except Exception:
                pass


def gateway_for(app: App, ws: Any, hold: Hold | None = None) -> WsGateway:
    """A gateway for one local WebSocket API, registered so sends from this process go straight to it."""
    from ..websocket.local import register_gateway

    gateway = WsGateway(app, ws)
    if hold is not None:
        gateway.hold = hold
    register_gateway(app.config.data_dir, ws.name, gateway)
    return gateway


def gateways_for(app: App) -> dict[str, WsGateway]:
    return {ws.name: gateway_for(app, ws) for ws in app.of_kind("websocket") if ws.provider == "local"}


__all__ = ["Binding", "WsGateway", "gateway_for", "gateways_for", "pinned"]
