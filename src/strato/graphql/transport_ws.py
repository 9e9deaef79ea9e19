"""The ``graphql-transport-ws`` protocol (what the graphql-ws, Apollo and urql clients speak) on a
WebSocket API, as route handlers: every message is its own invocation (its own Lambda call on AWS), so
the connection's state — acknowledged or not, its claims — lives in the connection registry.

Routes follow the message ``type`` (route selection ``$request.body.type``): ``connection_init``,
``subscribe``, ``complete``, ``ping``, ``pong``; anything else closes the connection. The token comes
on $connect (``?token=`` / Authorization) or in ``connection_init``'s payload, and is checked there as a
$connect authorizer would check it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .context import GraphQLContext
from .engine import RequestError, formatted, run_sync

if TYPE_CHECKING:
    from ..websocket import Connection, WebSocketApi, WsMessage
    from . import GraphQL

PROTOCOL = "graphql-transport-ws"


def token_in(payload: dict[str, Any]) -> str | None:
    """A token in connection_init's payload: ``token``, ``Authorization``, or ``headers.Authorization``."""
    found = payload.get("headers")
    headers: dict[str, Any] = found if isinstance(found, dict) else {}
    for value in (payload.get("token"), payload.get("Authorization"), payload.get("authorization"), *headers.values()):
        if isinstance(value, str) and value:
            return value
    return None


class TransportWs:
    def __init__(self, graph: GraphQL, ws: WebSocketApi) -> None:
        self.graph = graph
        self.ws = ws
        ws.on_connect(self.connect)
        ws.on_disconnect(self.disconnect)
        ws.route("connection_init")(self.connection_init)
        ws.route("subscribe")(self.subscribe)
        ws.route("complete")(self.complete)
        ws.route("ping")(self.ping)
        ws.route("pong")(self.pong)
        ws.on_message(self.invalid)

    def _claims(self, token: str | None, present: dict[str, Any] | None) -> dict[str, Any] | None:
        """The connection's claims ({} without auth), or None when its token is missing or refused."""
        from ..http.authorizer import Denied, check, claims_as_gateway_passes_them, needs_token

        if not needs_token(self.graph.auth_options):
            return present or {}
        context: dict[str, Any] = {}
        try:
            check(self.ws.ctx, self.graph.auth_options, context, token, present, claims_as_gateway_passes_them)
        except Denied:
            return None
        return context.get("authorizer") or present or {}

    def connect(self, conn: Connection) -> Any:
        offered = conn.subprotocols
        if offered and PROTOCOL not in offered:
            return 400  # the client speaks another protocol (the legacy "graphql-ws", say)
        conn.subprotocol = PROTOCOL if offered else None
        from ..http.authorizer import connect_token

        token = connect_token(conn.event)
        claims: dict[str, Any] | None = {}
        if token:  # a token on the upgrade request is checked now; else connection_init must bring one
            claims = self._claims(token, conn.claims or None)
            if claims is None:
                return 401
        conn.data = {"acked": False, "claims": json.dumps(claims or {})}
        return None

    def disconnect(self, msg: WsMessage) -> None:
        self.graph.subscriptions.forget(msg.connection_id)

    def _close(self, msg: WsMessage) -> None:
        """End a connection that broke the protocol (or was refused): its subscriptions go with it."""
        from ..core.errors import GoneError

        self.graph.subscriptions.forget(msg.connection_id)
        try:
            self.ws.close(msg.connection_id)
        except GoneError:
            pass

    def _message(self, msg: WsMessage) -> dict[str, Any] | None:
        try:
            message = msg.json()
        except Exception:
            return None
        return message if isinstance(message, dict) else None

    def connection_init(self, msg: WsMessage) -> Any:
        message = self._message(msg)
        payload = (message or {}).get("payload") or {}
        data = msg.connection.data
        if message is None or not isinstance(payload, dict) or data.get("acked"):
            return self._close(msg)  # a second connection_init is 4429 in the protocol: a close either way
        claims = json.loads(data.get("claims") or "{}")
        if not claims:
            found = self._claims(token_in(payload), msg.claims or None)
            if found is None:
                return self._close(msg)  # 4403 Forbidden in the protocol
            claims = found
        self.ws.update(msg.connection_id, acked=True, claims=json.dumps(claims))
        return {"type": "connection_ack"}

    def subscribe(self, msg: WsMessage) -> None:
        message = self._message(msg)
        operation_id = (message or {}).get("id")
        payload = (message or {}).get("payload")
        data = msg.connection.data
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            return self._close(msg)  # 4400: not a subscribe message
        if not data.get("acked"):
            return self._close(msg)  # 4401: subscribe before connection_ack
        claims = json.loads(data.get("claims") or "{}")
        engine = self.graph.engine
        try:
            prepared = engine.prepare(payload.get("query"), payload.get("operationName"))
            variables = payload.get("variables")
            if variables is not None and not isinstance(variables, dict):
                raise RequestError("variables must be an object")
            if prepared.kind == "subscription":
                field = prepared.root_field
                # a dry run with no event: variables of the wrong type are refused now, not on every publish
                dry_context = GraphQLContext(claims, connection_id=msg.connection_id)
                for dry in run_sync(engine.results_for(prepared, variables, dry_context)):
                    if dry.errors:
                        raise RequestError(list(dry.errors))
                if not self.graph.subscriptions.add(msg.connection_id, operation_id, field, payload, claims):
                    return self._close(msg)  # 4409: this id is already subscribed
                return None
            context = GraphQLContext(claims, connection_id=msg.connection_id)
            result = run_sync(engine.execute(prepared, variables, context))
        except RequestError as error:
            self.ws.send(msg.connection_id, {"id": operation_id, "type": "error", "payload": error.formatted["errors"]})
            return None
        engine.report(result, context)
        self.ws.send(msg.connection_id, {"id": operation_id, "type": "next", "payload": formatted(result)[0]})
        self.ws.send(msg.connection_id, {"id": operation_id, "type": "complete"})
        return None

    def complete(self, msg: WsMessage) -> None:
        operation_id = (self._message(msg) or {}).get("id")
        if isinstance(operation_id, str) and operation_id:
            self.graph.subscriptions.remove(msg.connection_id, operation_id)

    def ping(self, msg: WsMessage) -> dict[str, Any]:
        payload = (self._message(msg) or {}).get("payload")
        return {"type": "pong", **({"payload": payload} if payload is not None else {})}

    def pong(self, msg: WsMessage) -> None:
        """A client's answer to a ping (or its own heartbeat): nothing to do."""

    def invalid(self, msg: WsMessage) -> None:
        self._close(msg)  # 4400 in the protocol: an unknown message type
