"""In-process WebSocket clients for the test kit: each message is the API Gateway event the gateway of
``strato dev`` would build, handed to the same dispatcher; what handlers post back (``ws.send``,
``broadcast``, a two-way route's return value) lands in the client's inbox.

The kit registers itself as the app's WebSocket gateway (``strato.websocket.local.register_gateway``), so
``ws.send`` from a handler, a queue consumer or a schedule reaches these clients as it reaches browsers
under ``strato dev``.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..core.errors import GoneError
from ..dispatch.base import log_exception
from ..dispatch.websocket import WebSocketDispatcher
from ..events.apigw_ws import ws_connect_event, ws_context, ws_disconnect_event, ws_message_event
from ..websocket import MESSAGE_LIMIT

if TYPE_CHECKING:
    from ..app import App


class Rejected(Exception):
    """``$connect`` refused the connection: ``status`` (401, 403, ...) and ``body``, as the HTTP answer
    to the upgrade request."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"$connect refused the connection: {status} {body}".strip())
        self.status, self.body = status, body


class Closed(Exception):
    """The connection is closed (``code``, ``reason``) and nothing more is waiting in the inbox."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"connection closed ({code} {reason})".strip())
        self.code, self.reason = code, reason


class KitGateway:
    """The gateway of one WebSocket API for in-process clients (the ``Gateway`` protocol of
    ``strato.websocket.local``)."""

    def __init__(self, app: App, api: Any) -> None:
        self.app, self.api = app, api
        self.dispatcher = WebSocketDispatcher(api)
        self.clients: dict[str, WebSocket] = {}
        self.lock = threading.Lock()

    def _client(self, connection_id: str) -> WebSocket:
        client = self.clients.get(connection_id)
        if client is None or client.closed:
            raise GoneError(f"connection {connection_id!r} of websocket {self.api.name!r} is gone")
        return client

    def send_threadsafe(self, connection_id: str, raw: bytes, text: bool) -> None:
        self._client(connection_id).inbox.put(raw.decode() if text else raw)

    def broadcast_threadsafe(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        gone = []
        for connection_id in ids:
            try:
                self.send_threadsafe(connection_id, raw, text)
            except GoneError:
                gone.append(connection_id)
        return gone

    def close_threadsafe(self, connection_id: str) -> None:
        """DeleteConnection: the client is disconnected and ``$disconnect`` runs."""
        self._client(connection_id)._end(1000, "", by_server=True)

    def open_ids(self) -> list[str]:
        with self.lock:
            return [i for i, c in self.clients.items() if not c.closed]


def kit_gateway(app: App, name: str) -> KitGateway:
    """The app's kit gateway for WebSocket API ``name``, registered on first use."""
    from ..websocket.local import register_gateway

    api = app.resources.get(("websocket", name))
    if api is None:
        declared = ", ".join(n for k, n in app.resources if k == "websocket") or "none"
        raise LookupError(f"app {app.name!r} has no WebSocket API {name!r} (declared: {declared})")
    gateways: dict[str, KitGateway] = app.__dict__.setdefault("_kit_gateways", {})
    if name not in gateways:
        if app.registry.provider_of(api) != "local":
            raise LookupError(
                f"websocket {name!r}: in-process clients need the local provider (API Gateway's connections "
                "on AWS are reached by real clients over wss://)"
            )
        gateways[name] = KitGateway(app, api)
        register_gateway(app.config.data_dir, name, gateways[name])
    return gateways[name]


class WebSocket:
    """One client connection: ``send(data)``, ``receive(timeout=1)``, ``receive_json()``, ``close()``."""

    def __init__(self, gateway: KitGateway, connection_id: str, base: dict[str, Any], headers: list) -> None:
        self.gateway = gateway
        self.id = connection_id
        self.base = base
        self.headers = headers
        self.inbox: queue.Queue[str | bytes] = queue.Queue()
        self.closed = False
        self.close_code = 0
        self.close_reason = ""
        self.authorizer: Any = None

    @classmethod
    def connect(cls, app: App, name: str, params: dict[str, str], headers: dict[str, str]) -> WebSocket:
        gateway = kit_gateway(app, name)
        connection_id = base64.urlsafe_b64encode(os.urandom(10)).decode()
        sent = [("host", "127.0.0.1"), *((k.lower(), v) for k, v in headers.items())]
        base: dict[str, Any] = dict(
            connection_id=connection_id,
            connected_at=int(time.time() * 1000),
            domain="127.0.0.1",
            stage=app.config.stage,
            api_id=f"local-{name}",
            source_ip="127.0.0.1",
            user_agent=headers.get("user-agent", "strato-testing"),
        )
        event = ws_connect_event(ws_context(route="$connect", event_type="CONNECT", **base), sent, urlencode(params))
        client = cls(gateway, connection_id, base, sent)
        with gateway.lock:
            gateway.clients[connection_id] = client
        try:
            result = gateway.dispatcher.handle(event)
        except Exception:
            gateway.clients.pop(connection_id, None)
            raise Rejected(500, "Internal server error") from None
        status = int(result.get("statusCode", 200))
        if status >= 300:
            gateway.clients.pop(connection_id, None)
            raise Rejected(status, str(result.get("body", "")))
        client.authorizer = event["requestContext"].get("authorizer")
        return client

    # -- talking ---------------------------------------------------------------------------------
    def send(self, data: str | bytes | dict | list) -> None:
        """Send one message (a dict or list goes as JSON text); its route runs before this returns.
        A message over API Gateway's 128 KB closes the connection with 1009, as the gateway does."""
        if self.closed:
            raise Closed(self.close_code, self.close_reason)
        payload = json.dumps(data) if isinstance(data, dict | list) else data
        size = len(payload.encode() if isinstance(payload, str) else payload)
        if size > MESSAGE_LIMIT:
            self._end(1009, "Message too big")
            return
        route = self.gateway.api.select_route(payload if isinstance(payload, str) else None)
        context = ws_context(route=route or "$default", event_type="MESSAGE", **self.base)
        if self.authorizer:
            context["authorizer"] = self.authorizer
        if route is None:
            self._error_frame("Forbidden", context["requestId"])
            return
        try:
            result = self.gateway.dispatcher.handle(ws_message_event(context, payload))
        except Exception:
            self._error_frame("Internal server error", context["requestId"])
            return
        if "body" in result and not self.closed:
            body = result["body"]
            self.inbox.put(base64.b64decode(body) if result.get("isBase64Encoded") else body)

    def _error_frame(self, message: str, request_id: str) -> None:
        self.inbox.put(json.dumps({"message": message, "connectionId": self.id, "requestId": request_id}))

    def receive(self, timeout: float = 1.0) -> str | bytes:
        """The next message for this client, waiting up to ``timeout`` real seconds (a consumer or
        schedule on another thread may send it); TimeoutError if none came, Closed once closed and empty."""
        try:
            return self.inbox.get(timeout=timeout if not self.closed else 0.0001)
        except queue.Empty:
            if self.closed:
                raise Closed(self.close_code, self.close_reason) from None
            raise TimeoutError(f"no message on connection {self.id} within {timeout:g} s") from None

    def receive_json(self, timeout: float = 1.0) -> Any:
        message = self.receive(timeout)
        return json.loads(message)

    def received(self) -> list[str | bytes]:
        """Every message waiting now, without waiting."""
        out = []
        while True:
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                return out

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side; ``$disconnect`` runs with ``code``."""
        if not self.closed:
            self._end(code, reason, by_server=False)

    def _end(self, code: int, reason: str, by_server: bool = False) -> None:
        with self.gateway.lock:
            if self.closed:
                return
            self.closed, self.close_code, self.close_reason = True, code, reason
            self.gateway.clients.pop(self.id, None)
        context = ws_context(route="$disconnect", event_type="DISCONNECT", **self.base)
        if self.authorizer:
            context["authorizer"] = self.authorizer
        try:
            self.gateway.dispatcher.handle(ws_disconnect_event(context, self.headers, code, reason))
        except Exception:  # as the gateway: the client is gone whatever $disconnect does
            log_exception(f"$disconnect handler of {self.gateway.api.name} failed")

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<WebSocket {self.gateway.api.name} {self.id}{' closed' if self.closed else ''}>"
