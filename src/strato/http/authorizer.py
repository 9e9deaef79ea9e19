"""The JWT authorizer of ``@api.get(..., auth=True, groups=[...])`` routes, as API Gateway runs it.

On AWS, API Gateway's JWT authorizer has already verified the token and put its claims in the event;
locally (and when no authorizer ran) strato verifies the ``Authorization`` header against the user
pool. No or a bad token is 401 ``Unauthorized`` with a ``www-authenticate`` header saying why; a
valid token without one of the route's groups is 403 ``Forbidden``. Claims reach the handler as
``req.claims`` in API Gateway's form: every value a string, lists as ``[a b]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.context import Context
from ..core.errors import ConfigurationError
from .request import event_headers
from .response import Response, error_body

if TYPE_CHECKING:
    from ..auth import UserPool


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


def pool_for(ctx: Context, options: dict[str, Any]) -> UserPool:
    """The user pool an ``auth=`` option names: ``True`` means the app's only pool, a string names one."""
    auth = options.get("auth")
    name = None if auth in (True, None) else str(auth)
    pool: UserPool | None = ctx.find("user_pool", name)
    if pool is None:
        wanted = f"a user pool named {name!r}" if name else "exactly one user pool (or auth='<pool name>')"
        raise ConfigurationError(f"auth= on app {ctx.app_name!r} needs {wanted}")
    return pool


def needs_token(options: dict[str, Any]) -> bool:
    return bool(options.get("auth") or options.get("groups"))


def connect_token(event: dict[str, Any]) -> str | None:
    """The token of a WebSocket $connect: ``?token=`` (browsers cannot set headers) or Authorization."""
    return (event.get("queryStringParameters") or {}).get("token") or {
        k.lower(): v for k, v in (event.get("headers") or {}).items()
    }.get("authorization")


class Denied(Exception):
    """What the gateway answers instead of calling the handler: 401 (no or bad token) or 403 (no group)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def check(
    ctx: Context,
    options: dict[str, Any],
    context: dict[str, Any],
    token: str | None,
    present: dict[str, Any] | None,
    store: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """The shared rule of HTTP routes and WebSocket $connect: trust claims a deployed authorizer put in the
    event (inside Lambda only), else verify ``token`` against the user pool and put ``store(claims)`` in
    ``context["authorizer"]``; then require one of the groups. Raises Denied."""
    from ..core.config import in_lambda
    from ..core.errors import InvalidToken

    groups = options.get("groups")
    if present and in_lambda():
        claims = present
    else:
        if not token:
            raise Denied(401, "no token: send Authorization: Bearer <token>")
        try:
            claims = pool_for(ctx, options).verify(token)
        except InvalidToken as exc:
            raise Denied(401, exc.message) from None
        context["authorizer"] = store(claims)
    if groups and not groups_in(claims) & set(groups):
        raise Denied(403, "the token has none of the route's groups")


def authorize(ctx: Context, options: dict[str, Any], event: dict[str, Any]) -> Response | None:
    """None to go on (claims now in the event), else the 401 / 403 the HTTP API would answer."""
    if not needs_token(options):
        return None
    context = event.setdefault("requestContext", {})
    present = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims")

    def jwt_context(claims: dict[str, Any]) -> dict[str, Any]:
        scopes = str(claims.get("scope", "")).split() or None
        return {"jwt": {"claims": claims_as_gateway_passes_them(claims), "scopes": scopes}}

    try:
        check(ctx, options, context, event_headers(event).get("authorization"), present, jwt_context)
    except Denied as denied:
        if denied.status == 403:
            return error_body(403, "Forbidden")
        out = error_body(401, "Unauthorized")
        reason = denied.reason.replace('"', "'")
        out.headers["www-authenticate"] = f'Bearer error="invalid_token" error_description="{reason}"'
        return out
    return None
