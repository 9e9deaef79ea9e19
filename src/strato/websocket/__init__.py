"""The WebSocket API primitive: API Gateway WebSocket semantics, locally and on AWS.

Handlers: ``@ws.on_connect`` (may reject with ``HTTPError(401|403)`` and attach ``conn.data``),
``@ws.on_disconnect``, ``@ws.on_message`` (``$default``) and ``@ws.route("sendMessage")`` (chosen by the
route selection expression, ``$request.body.action`` by default, for JSON text frames only). They get
the same event dicts API Gateway sends to Lambda, through one dispatcher.

Connections live in a registry table (``<name>-connections``) so a handler in any process (a queue
consumer, a schedule) can find them by id or by an indexed field and ``send`` / ``broadcast`` to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from ..core import outbox
from ..core.context import Context
from ..core.errors import ConfigurationError, GoneError, ItemTooLarge, ValidationError, parse_json, utf8
from ..core.hints import Any
from ..core.permissions import requires
from ..core.resource import Resource
from ..http.request import Headers
from ..http.response import dumps  # as light as http.request; an import statement a send cost ~1 µs
from .spi import ACTIONS, CAPABILITIES, WebSocketBackend

__all__ = ["CAPABILITIES", "Connection", "ConnectionInfo", "GoneError", "WebSocketApi", "WsMessage"]

FRAME_LIMIT = 32 * 1024  # API Gateway: 32 KB per frame
MESSAGE_LIMIT = 128 * 1024  # API Gateway: 128 KB per message (client to server and PostToConnection)
IDLE_TIMEOUT_S = 600
MAX_DURATION_S = 7200
RESERVED = frozenset({"api", "id", "connected_at", "last_active_at", "source_ip", "user_agent", "expires_at", "data"})


def encode_payload(data: Any) -> tuple[bytes, bool]:
    """(bytes, is_text) for a send: str as text, bytes as binary, anything else as JSON text."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw, text = bytes(data), False
    elif isinstance(data, str):
        raw, text = utf8(data, "message"), True
    else:
        try:
            raw, text = dumps(data).encode("utf-8"), True
        except TypeError as exc:
            raise ValidationError(f"cannot send {type(data).__name__}: {exc}") from None
    if len(raw) > MESSAGE_LIMIT:
        raise ItemTooLarge(
            f"WebSocket message of {len(raw)} bytes is over API Gateway's {MESSAGE_LIMIT}-byte "
            "(128 KB) limit: send a bucket URL instead"
        )
    return raw, text


class ConnectionInfo:
    """A registry entry: when and from where a connection came, and the data its handlers attached."""

    __slots__ = ("connected_at", "data", "id", "last_active_at", "source_ip", "user_agent")

    def __init__(self, item: dict[str, Any]) -> None:
        self.id = item["id"]
        self.connected_at = item.get("connected_at", 0) / 1000
        self.last_active_at = item.get("last_active_at", item.get("connected_at", 0)) / 1000
        self.source_ip = item.get("source_ip", "")
        self.user_agent = item.get("user_agent", "")
        self.data = item.get("data") or {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "connected_at": self.connected_at,
            "last_active_at": self.last_active_at,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
            "data": self.data,
        }

    def __repr__(self) -> str:
        return f"<ConnectionInfo {self.id} {self.data}>"


class Connection:
    """What ``$connect`` handlers get: the upgrade request, and ``data`` to attach to the connection."""

    def __init__(self, ws: WebSocketApi, event: dict[str, Any]) -> None:
        self.ws = ws
        self.event = event
        context = event["requestContext"]
        self.id: str = context["connectionId"]
        self.headers = Headers({k.lower(): v for k, v in (event.get("headers") or {}).items()})
        self.query: dict[str, str] = event.get("queryStringParameters") or {}
        self.source_ip: str = context.get("identity", {}).get("sourceIp", "")
        self.user_agent: str = context.get("identity", {}).get("userAgent", "")
        self.data: dict[str, Any] = {}
        self.claims: dict[str, Any] = context.get("authorizer") or {}
        self.subprotocol: str | None = None  # set to one the client offered (Sec-WebSocket-Protocol) to pick it

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return [p.strip() for p in self.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]

    def __repr__(self) -> str:
        return f"<Connection {self.id}>"


class WsMessage:
    """One message from a client: ``body`` is str for text frames, bytes for binary ones."""

    def __init__(self, ws: WebSocketApi, event: dict[str, Any]) -> None:
        import base64

        self.ws = ws
        self.event = event
        context = event["requestContext"]
        self.connection_id: str = context["connectionId"]
        self.route: str = context.get("routeKey", "$default")
        self.request_id: str = context.get("requestId", "")
        raw = event.get("body") or ""
        self.is_binary = bool(event.get("isBase64Encoded"))
        self.body: str | bytes = base64.b64decode(raw) if self.is_binary else raw
        self.claims: dict[str, Any] = context.get("authorizer") or {}  # the $connect authorizer's context
        self._info: ConnectionInfo | None = None

    def json(self) -> Any:
        if self.is_binary:
            raise ValidationError("this message is binary, not JSON")
        return parse_json(self.body, "message")

    @property
    def connection(self) -> ConnectionInfo:
        """The sender's registry entry (with the data its $connect handler attached)."""
        if self._info is None:
            self._info = self.ws.info(self.connection_id)
        return self._info

    def reply(self, data: Any) -> None:
        self.ws.send(self.connection_id, data)


class WebSocketApi(Resource[WebSocketBackend]):
    """A WebSocket API declared with ``app.websocket(name, index=["user", "room"])``."""

    kind = "websocket"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        route_selection: str = "$request.body.action",
        index: Iterable[str] = (),
        idle_timeout: float = IDLE_TIMEOUT_S,
        max_duration: float = MAX_DURATION_S,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        if not route_selection.startswith("$request.body."):
            raise ConfigurationError("route_selection must look like $request.body.<field>")
        self.route_field = route_selection[len("$request.body.") :]
        self.index = tuple(index)
        for field in self.index:
            if field in RESERVED or not field.isidentifier():
                raise ConfigurationError(f"websocket {name!r}: cannot index {field!r} (reserved or not a name)")
        if not 0 < idle_timeout <= IDLE_TIMEOUT_S or not 0 < max_duration <= MAX_DURATION_S:
            raise ConfigurationError(
                f"idle_timeout is at most {IDLE_TIMEOUT_S} s and max_duration at most "
                f"{MAX_DURATION_S} s, as on API Gateway (lower them for tests)"
            )
        self.idle_timeout = idle_timeout
        self.max_duration = max_duration
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.auth_options: dict[str, Any] = {}
        self.function_settings: Any = None  # app.websocket(function=...): its Lambda's settings
        from .registry import Registry

        self.registry = Registry(self)

    # -- handlers -------------------------------------------------------------------------------
    def _register(self, route: str) -> Callable:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if route in self.handlers:
                raise ConfigurationError(f"websocket {self.name!r}: route {route!r} has two handlers")
            self.handlers[route] = fn
            return fn

        return register

    def on_connect(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register("$connect")(fn)

    def on_disconnect(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register("$disconnect")(fn)

    def on_message(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register("$default")(fn)

    def route(self, key: str) -> Callable:
        if not key or key.startswith("$"):
            raise ConfigurationError("custom route keys must not be empty or start with '$'")
        return self._register(key)

    def select_route(self, text: str | None) -> str | None:
        """API Gateway's route selection: a JSON text frame's field, else $default (None: no route)."""
        if text is not None:
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):  # malformed, too deep, or an int over 4,300 digits
                document = None
            if isinstance(document, dict):
                value = document.get(self.route_field)
                if isinstance(value, str) and value in self.handlers and not value.startswith("$"):
                    return value
        return "$default" if "$default" in self.handlers else None

    # -- management -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Where clients connect: ws://127.0.0.1:PORT/ws/<name> locally, wss://... on AWS."""
        return self.backend.client_url()

    @requires("manage")
    def send(self, connection_id: str, data: Any) -> None:
        """Post to one connection; GoneError (and its registry entry removed) if it is closed."""
        raw, text = encode_payload(data)
        if not text:
            self._need("binary")
        self._need("send")
        tracer = _tracer()
        active = tracer.start("websocket.send", self.name, connection_id) if tracer is not None else None
        try:
            self.backend.send(_check_id(connection_id), raw, text)
        except GoneError as exc:
            self.registry.remove(connection_id)
            if active is not None:
                tracer.finish(active, [exc], outcome="gone")
            raise
        except BaseException as exc:
            if active is not None:
                tracer.finish(active, [exc])
            raise
        if active is not None:
            active.attributes = {"bytes": len(raw)}
            tracer.finish(active)
        if outbox.listeners:
            outbox.tell("websocket", self.name, {"to": [connection_id], "data": raw if not text else raw.decode()})

    @requires("manage")
    def broadcast(self, data: Any, *, to: Iterable[str] | None = None, where: dict[str, Any] | None = None) -> int:
        """Send to many connections (all, the ids in ``to``, or those whose data match ``where``).

        Closed connections are skipped and removed from the registry; returns how many were sent to.
        """
        raw, text = encode_payload(data)
        if not text:
            self._need("binary")
        self._need("broadcast")
        if to is not None and where is not None:
            raise ValidationError("broadcast takes to= or where=, not both")
        if to is None and where is None:
            sent = self.backend.broadcast_all(raw, text)  # the gateway in this process knows every connection
            if sent is not None:
                if outbox.listeners:
                    outbox.tell("websocket", self.name, {"to": None, "data": raw if not text else raw.decode()})
                return sent
        ids = [_check_id(i) for i in to] if to is not None else [c.id for c in self.connections(where=where)]
        if not ids:
            return 0
        gone = self._traced_broadcast(ids, raw, text)
        for connection_id in gone:
            self.registry.remove(connection_id)
        if outbox.listeners:
            reached = [i for i in ids if i not in set(gone)]
            outbox.tell("websocket", self.name, {"to": reached, "data": raw if not text else raw.decode()})
        return len(ids) - len(gone)

    def _traced_broadcast(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        """The backend's broadcast, a ``websocket.send`` span when tracing is on (``gone``: how many left)."""
        tracer = _tracer()
        if tracer is None:
            return self.backend.broadcast(ids, raw, text)
        with tracer.span("websocket.send", self.name, f"{len(ids)} connections") as active:
            gone: list[str] = self.backend.broadcast(ids, raw, text)
            active.attributes = {"connections": len(ids), "gone": len(gone), "bytes": len(raw)}
        return gone

    @requires("manage")
    def send_many(self, ids: Iterable[str], data: Any) -> list[str]:
        """Post the same message to each connection in ``ids``; returns those that were gone (removed from
        the registry), for a caller that keeps more state per connection (GraphQL subscriptions)."""
        raw, text = encode_payload(data)
        self._need("binary" if not text else "broadcast")
        ids = [_check_id(i) for i in ids]
        gone = self._traced_broadcast(ids, raw, text) if ids else []
        for connection_id in gone:
            self.registry.remove(connection_id)
        if outbox.listeners and ids:
            reached = [i for i in ids if i not in set(gone)]
            outbox.tell("websocket", self.name, {"to": reached, "data": raw if not text else raw.decode()})
        return gone

    @requires("manage")
    def send_batch(self, messages: Iterable[tuple[Iterable[str], Any]]) -> list[str]:
        """Several messages, each to its connections, in order: ``send_many`` for each, but in one request to
        the dev server when it runs in another process (a GraphQL publish from ``strato worker``). Returns
        the connections that were gone (removed from the registry)."""
        encoded = []
        for ids, data in messages:
            raw, text = encode_payload(data)
            self._need("binary" if not text else "broadcast")
            encoded.append(([_check_id(i) for i in ids], raw, text))
        encoded = [m for m in encoded if m[0]]
        batch = getattr(self.backend, "broadcast_batch", None)
        if batch is not None and len(encoded) > 1:
            gone: list[str] = batch(encoded)
        else:
            gone = sorted({g for ids, raw, text in encoded for g in self._traced_broadcast(ids, raw, text)})
        for connection_id in gone:
            self.registry.remove(connection_id)
        for ids, raw, text in encoded if outbox.listeners else ():
            reached = [i for i in ids if i not in set(gone)]
            outbox.tell("websocket", self.name, {"to": reached, "data": raw if not text else raw.decode()})
        return gone

    @requires("manage")
    def close(self, connection_id: str) -> None:
        """Disconnect a client (API Gateway DeleteConnection)."""
        self._need("close")
        try:
            self.backend.close(_check_id(connection_id))
        finally:
            self.registry.remove(connection_id)

    def info(self, connection_id: str) -> ConnectionInfo:
        """A connection's registry entry (API Gateway GetConnection, plus the data handlers attached)."""
        self._need("info")
        found = self.registry.get(_check_id(connection_id))
        if found is None:
            raise GoneError(f"connection {connection_id!r} of websocket {self.name!r} is gone")
        return found

    def connections(self, *, where: dict[str, Any] | None = None) -> list[ConnectionInfo]:
        """The open connections (those whose data match ``where``), from the registry."""
        self._need("info")
        return self.registry.find(where)

    def update(self, connection_id: str, **data: Any) -> ConnectionInfo:
        """Change the data attached to a connection (e.g. the room it is in)."""
        return self.registry.update(_check_id(connection_id), data)


def _check_id(connection_id: Any) -> str:
    if not isinstance(connection_id, str) or not 1 <= len(connection_id) <= 128:
        raise ValidationError(f"not a connection id: {connection_id!r}")
    return connection_id


def _tracer() -> Any:
    """The process's tracer (None: tracing is off; only ``strato.trace.context`` is loaded to know it)."""
    from ..trace import context

    return context.tracer
