"""The JWT authorizer of ``@api.get(..., auth=True, groups=[...])`` routes, as API Gateway runs it.

On AWS, API Gateway's JWT authorizer has already verified the token and put its claims in the event;
locally (and when no authorizer ran) strato verifies the ``Authorization`` header against the user
pool. No or a bad token is 401 ``Unauthorized`` with a ``www-authenticate`` header saying why; a
valid token without one of the route's groups is 403 ``Forbidden``. Claims reach the handler as
``req.claims`` in API Gateway's form: every value a string, lists as ``[a b]``.
"""

from __future__ import annotations

from typing import Any

from .response import Response, error_body


def claims_as_gateway_passes_them(claims: dict[str, Any]) -> dict[str, str]:
    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(str(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {k: text(v) for k, v in claims.items()}


def groups_in(claims: dict[str, Any]) -> set[str]:
    value = claims.get("cognito:groups") or []
    if isinstance(value, str):
        value = value.strip("[]").split()
    return set(value)


def _unauthorized(reason: str) -> Response:
    out = error_body(401, "Unauthorized")
    out.headers["www-authenticate"] = f'Bearer error="invalid_token" error_description="{reason}"'
    return out


def authorize(app: Any, options: dict[str, Any], event: dict[str, Any]) -> Response | None:
    """None to go on (claims now in the event), else the 401 / 403 the gateway would answer."""
    auth, groups = options.get("auth"), options.get("groups")
    if not auth and not groups:
        return None
    from ..config import in_lambda
    from ..errors import InvalidToken

    context = event.setdefault("requestContext", {})
    present = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims")
    if present and in_lambda():
        claims: dict[str, Any] = present
    else:
        header = (event.get("headers") or {}).get("authorization")
        if not header:
            return _unauthorized("no token: send Authorization: Bearer <token>")
        pool = app.auth if auth in (True, None) else app.resources[("user_pool", auth)]
        try:
            claims = pool.verify(header)
        except InvalidToken as exc:
            return _unauthorized(exc.message.replace('"', "'"))
        scopes = str(claims.get("scope", "")).split() or None
        context["authorizer"] = {"jwt": {"claims": claims_as_gateway_passes_them(claims), "scopes": scopes}}
    if groups and not groups_in(claims) & set(groups):
        return error_body(403, "Forbidden")
    return None
