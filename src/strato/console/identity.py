"""User pools: users (status, enabled, attributes, groups), groups, and disable / enable a user (which,
as Cognito's AdminDisableUser does, also revokes the user's sessions)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import BadRequest, blocking, body, endpoint, field, resource


def _listing(pool: Any) -> dict[str, Any]:
    backend = pool.backend
    conn = getattr(backend, "conn", None)
    if conn is None:
        raise BadRequest(f"user pool {pool.name!r} is on provider {pool.provider!r}: list users in Cognito", 409)
    names = [
        r[0]
        for r in conn.execute(
            "SELECT username FROM auth_users WHERE pool = ? ORDER BY username LIMIT 500", (backend.name,)
        )
    ]
    users = []
    for name in names:
        user = backend.admin_get_user(name)
        users.append(
            {
                "username": name,
                "status": user["UserStatus"],
                "enabled": user["Enabled"],
                "attributes": user["Attributes"],
                "mfa": user["MFAEnabled"],
                "groups": user["Groups"],
            }
        )
    groups = [
        {"name": g, "description": d}
        for g, d in conn.execute(
            "SELECT name, description FROM auth_groups WHERE pool = ? ORDER BY name", (backend.name,)
        )
    ]
    return {"name": pool.name, "pool_id": pool.pool_id, "client_id": pool.client_id, "users": users, "groups": groups}


@endpoint
async def pools(request: Request) -> Any:
    return await blocking(lambda: [_listing(p) for p in request.app.state.app.of_kind("user_pool")])


@endpoint
async def set_enabled(request: Request) -> Any:
    pool = resource(request, "user_pool")
    data = await body(request)
    enabled = field(data, "enabled", bool)
    username = request.path_params["username"]
    await blocking(pool.admin_enable_user if enabled else pool.admin_disable_user, username)
    return {"username": username, "enabled": enabled}


@endpoint
async def membership(request: Request) -> Any:
    pool = resource(request, "user_pool")
    data = await body(request)
    group, member = field(data, "group", str), field(data, "member", bool)
    username = request.path_params["username"]
    await blocking(pool.add_to_group if member else pool.remove_from_group, username, group)
    return {"username": username, "group": group, "member": member}


ROUTES = [
    Route("/_strato/console/api/user-pools", pools),
    Route("/_strato/console/api/user-pools/{name}/users/{username}/enabled", set_enabled, methods=["POST"]),
    Route("/_strato/console/api/user-pools/{name}/users/{username}/groups", membership, methods=["POST"]),
]
