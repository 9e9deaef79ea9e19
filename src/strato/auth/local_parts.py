"""What the local user pool's parts (sign-up, MFA, admin) may use of the backend they are mixed into:
its store, facade, attempt counters, clock and user lookups (declared for the type checker only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import UserPool
    from .local import LocalAuthStore
    from .lockout import Attempts


class LocalParts:
    if TYPE_CHECKING:
        name: str
        store: LocalAuthStore
        pool: UserPool
        attempts: Attempts
        now: Callable[[], float]

        @property
        def conn(self) -> Any: ...
        def _user(self, username: str) -> dict[str, Any] | None: ...
        def _need_user(self, username: str) -> dict[str, Any]: ...
