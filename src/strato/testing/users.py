"""Signed-in users for the test kit: created through the pool's admin API (the test is the pool's
operator, whatever ``allow=`` the app declares), so the same code signs in on the local pool and on
Cognito (moto)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ..core.errors import AuthError, ConfigurationError

if TYPE_CHECKING:
    from ..app import App

#: app -> {(pool, user): password} of the users the kit created
_passwords: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], str]] = weakref.WeakKeyDictionary()


def pool_of(app: App, name: str) -> Any:
    if name:
        pool = app.resources.get(("user_pool", name))
        if pool is None:
            raise ConfigurationError(f"app {app.name!r} declares no user pool {name!r}")
        return pool
    return app.auth  # exactly one pool, or a ConfigurationError that says how many there are


def ensure_signed_in(app: App, user: str, groups: list[str], attributes: dict[str, str], pool_name: str) -> str:
    """The ID token of ``user`` (made on first use, with ``attributes``), a member of ``groups``."""
    from .client import new_password

    pool = pool_of(app, pool_name)
    backend = pool.backend  # the admin calls, below the facade's allow= check
    known = _passwords.setdefault(app, {})
    password = known.get((pool.name, user))
    if password is None:
        password = new_password()
        try:
            backend.admin_create_user(user, password, attributes)
        except AuthError as exc:
            if exc.code != "UsernameExistsException":
                raise
            raise ConfigurationError(
                f"user {user!r} already exists in pool {pool.name!r} and was not made by client.sign_in(), "
                "so its password is unknown: sign it in with the pool's own sign_in(), or let sign_in() make it"
            ) from None
        known[(pool.name, user)] = password
        answer = pool.sign_in(user, password)
        if getattr(answer, "name", "") == "NEW_PASSWORD_REQUIRED":
            answer = pool.respond(answer, new_password=password)
    else:
        answer = pool.sign_in(user, password)
    if not hasattr(answer, "id_token"):
        raise ConfigurationError(
            f"signing {user!r} in asks for {answer.name}: client.sign_in() does not answer MFA challenges; "
            "use the pool's sign_in() / respond() in the test instead"
        )
    for group in groups:
        try:
            backend.create_group(group, "")
        except AuthError as exc:
            if exc.code != "GroupExistsException":
                raise
        backend.set_membership(user, group, True)
    if groups:  # the groups go into the token when it is issued
        answer = pool.sign_in(user, password)
    token: str = answer.id_token
    return token
