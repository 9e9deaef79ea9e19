"""API Gateway WebSocket events to the handlers of one ``app.websocket``, answering as API Gateway expects."""

from __future__ import annotations

from typing import Any

from ..core.errors import StratoError
from ..http.response import HTTPError
from ..websocket import Connection, WsMessage, encode_payload  # what an app with a WebSocket API loaded
from .base import Invocation, run


class WebSocketDispatcher:
    """API Gateway WebSocket events to ``@ws`` handlers, returning what API Gateway expects back.

    ``$connect``: ``{"statusCode": 200}`` accepts (and registers the connection with the data the handler
    attached); an ``HTTPError`` or a ``False`` return rejects with its status. Message routes: a returned
    value is the body API Gateway sends back to the caller (two-way routes). Errors propagate, so the
    gateway answers the client with API Gateway's "Internal server error" frame.
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        headers = event.get("headers") or {}
        parent = headers.get("X-Amzn-Trace-Id") or headers.get("x-amzn-trace-id")
        route = context.get("routeKey", "")
        with Invocation(self.ws.ctx.usage, "websocket", self.ws.name, resource=self.ws.name, parent=parent) as call:
            if call.span is not None:
                call.span.handler = route or self.ws.name
            return self._handle(event, self.ws)

    def _authorize(self, ws: Any, event: dict[str, Any]) -> dict[str, Any] | None:
        """The token check of an ``auth=`` WebSocket API on $connect, as a REQUEST authorizer with identity
        sources ``route.request.querystring.token`` / ``route.request.header.Authorization`` would do it."""
        from ..http.authorizer import Denied, check, claims_as_gateway_passes_them, connect_token, needs_token

        options = ws.auth_options
        if not needs_token(options):
            return None

        context = event.setdefault("requestContext", {})
        try:
            check(
                ws.ctx,
                options,
                context,
                connect_token(event),
                context.get("authorizer"),
                lambda claims: {"principalId": claims["sub"], **claims_as_gateway_passes_them(claims)},
            )
        except Denied as denied:
            return {"statusCode": denied.status, "body": "Forbidden" if denied.status == 403 else "Unauthorized"}
        return None

    def authorizer(self, event: dict[str, Any]) -> dict[str, Any]:
        """The deployed $connect REQUEST authorizer: an Allow policy whose context carries the claims
        (they reach $connect as ``requestContext.authorizer``), a Deny policy (403) for a token without
        the API's groups, and API Gateway's "Unauthorized" (401) for no or a bad token."""
        from ..http.authorizer import Denied, check, claims_as_gateway_passes_them, connect_token

        ws = self.ws
        context: dict[str, Any] = {}
        principal, effect = "anonymous", "Allow"
        try:
            check(ws.ctx, ws.auth_options, context, connect_token(event), None, claims_as_gateway_passes_them)
            principal = context["authorizer"]["sub"]
        except Denied as denied:
            if denied.status == 401:
                raise Exception("Unauthorized") from None  # the exact text API Gateway maps to 401
            effect = "Deny"
        return {
            "principalId": principal,
            "context": context.get("authorizer", {}),
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
            },
        }

    def _handle(self, event: dict[str, Any], ws: Any) -> dict[str, Any]:
        ws.backend.learn_endpoint(event)
        route = event["requestContext"]["routeKey"]
        handler = ws.handlers.get(route)
        if route == "$connect":
            denied = self._authorize(ws, event)
            if denied is not None:
                return denied
            connection = Connection(ws, event)
            try:
                result = run(handler(connection)) if handler else None
            except HTTPError as exc:
                return {"statusCode": exc.status, "body": exc.message}
            if result is False or (isinstance(result, int) and not isinstance(result, bool) and result >= 400):
                status = 403 if result is False else result
                return {"statusCode": status, "body": "Forbidden" if status == 403 else "Unauthorized"}
            ws.registry.add(connection.id, connection.source_ip, connection.user_agent, connection.data)
            if connection.subprotocol:  # API Gateway passes this header of the integration's answer on
                return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": connection.subprotocol}}
            return {"statusCode": 200}
        if route == "$disconnect":
            try:
                if handler:
                    run(handler(WsMessage(ws, event)))
            finally:
                ws.registry.remove(event["requestContext"]["connectionId"])
            return {"statusCode": 200}
        handler = handler or ws.handlers.get("$default")
        if handler is None:
            raise StratoError(f"websocket {ws.name!r} has no handler for route {route!r} and no $default")
        result = run(handler(WsMessage(ws, event)))
        if result is None:
            return {"statusCode": 200}
        import base64

        raw, text = encode_payload(result)
        return {
            "statusCode": 200,
            "body": raw.decode("utf-8") if text else base64.b64encode(raw).decode(),
            "isBase64Encoded": not text,
        }
