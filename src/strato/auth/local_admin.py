"""The admin side of a local user pool (Cognito's Admin* calls and groups): create users with a
temporary password, get, enable / disable (signing them out), delete, groups and membership."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from ..core.errors import AuthError
from .local_parts import LocalParts
from .passwords import PasswordPolicy


class LocalAdmin(LocalParts):
    """Mixed into ``LocalUserPoolBackend``, whose store, pool and users it uses."""

    if TYPE_CHECKING:

        def _send(self, username: str, attributes: dict[str, str], subject: str, message: str) -> dict[str, str]: ...
        def groups_of(self, username: str) -> list[str]: ...
        def _create_user(
            self, username: str, password: str, status: str, attributes: dict[str, str], taken: str
        ) -> str: ...

    def admin_create_user(
        self, username: str, temporary_password: str | None, attributes: dict[str, str]
    ) -> dict[str, Any]:
        password = temporary_password or _temporary_password(self.pool.policy)
        self.pool.policy.check(password)
        self._create_user(username, password, "FORCE_CHANGE_PASSWORD", attributes, "User account already exists")
        self._send(
            username,
            attributes,
            "Your temporary password",
            f"Your username is {username} and temporary password is {password}",
        )
        return self.admin_get_user(username)

    def admin_get_user(self, username: str) -> dict[str, Any]:
        user = self._need_user(username)
        return {
            "Username": username,
            "UserStatus": user["status"],
            "Enabled": bool(user["enabled"]),
            "Attributes": {"sub": user["sub"], **user["attributes"]},
            "MFAEnabled": bool(user["mfa"]),
            "Groups": self.groups_of(username),
        }

    def admin_set_enabled(self, username: str, enabled: bool) -> None:
        self._need_user(username)
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE auth_users SET enabled = ? WHERE pool = ? AND username = ?", (int(enabled), self.name, username)
            )
            if not enabled:
                conn.execute(
                    "UPDATE auth_sessions SET revoked = 1 WHERE pool = ? AND username = ?", (self.name, username)
                )

    def admin_delete_user(self, username: str) -> None:
        self._need_user(username)
        with self.store.db.write() as conn:
            for table in ("auth_users", "auth_members", "auth_codes", "auth_sessions"):
                conn.execute(f"DELETE FROM {table} WHERE pool = ? AND username = ?", (self.name, username))

    def create_group(self, name: str, description: str) -> None:
        with self.store.db.write() as conn:
            if conn.execute("SELECT 1 FROM auth_groups WHERE pool = ? AND name = ?", (self.name, name)).fetchone():
                raise AuthError("A group with the name already exists.", "GroupExistsException")
            conn.execute("INSERT INTO auth_groups VALUES (?, ?, ?)", (self.name, name, description))

    def set_membership(self, username: str, group: str, member: bool) -> None:
        self._need_user(username)
        found = self.conn.execute("SELECT 1 FROM auth_groups WHERE pool = ? AND name = ?", (self.name, group))
        if not found.fetchone():
            raise AuthError("Group not found.", "ResourceNotFoundException")
        with self.store.db.write() as conn:
            if member:
                conn.execute("INSERT OR IGNORE INTO auth_members VALUES (?, ?, ?)", (self.name, group, username))
            else:
                conn.execute(
                    "DELETE FROM auth_members WHERE pool = ? AND grp = ? AND username = ?", (self.name, group, username)
                )


def _temporary_password(policy: PasswordPolicy) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(max(policy.min_length, 12)))
    return body + "Aa1!"
