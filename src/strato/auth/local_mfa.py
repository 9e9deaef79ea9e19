"""TOTP MFA of a local user pool: associate a secret (by access token, or inside an MFA_SETUP
challenge), verify the first code, turn MFA on or off, and check codes at sign-in (RFC 6238, one
30-second step of drift either way, as authenticator apps expect). A code is accepted once: the user's
last used time step is remembered, and a code of that step or an earlier one is refused, as Cognito
refuses a TOTP code that was already used."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from ..core.errors import AuthError
from .local_parts import LocalParts


class LocalMfa(LocalParts):
    """Mixed into ``LocalUserPoolBackend``, whose store, users, challenges and tokens it uses."""

    if TYPE_CHECKING:

        def verify(self, token: str, token_use: str | None) -> dict[str, Any]: ...
        def _take_challenge(self, session: str, name: str) -> dict[str, Any]: ...

    def _totp_ok(self, secret: str | None, code: str, username: str | None) -> bool:
        """The code is one of the three steps around now and, at sign-in (``username`` given), later than
        any this user signed in with (the setup code is not recorded: it may sign in right after)."""
        import pyotp

        if not secret:
            return False
        totp, now = pyotp.TOTP(secret), self.now()
        for offset in (-1, 0, 1):
            at = now + offset * totp.interval
            if secrets.compare_digest(totp.at(at).encode(), str(code).encode()):
                return username is None or self.attempts.use_totp_step(username, totp.timecode(at))
        return False

    def _totp_user(self, access_token: str | None, session: str | None) -> tuple[str, str | None]:
        """The user setting up TOTP: by access token, or by the session of an MFA_SETUP challenge."""
        if access_token:
            return self.verify(access_token, "access")["username"], None
        user = self._take_challenge(session or "", "MFA_SETUP")
        return user["username"], session

    def associate_totp(self, access_token: str | None, session: str | None = None) -> tuple[str, str | None]:
        import pyotp

        username, session = self._totp_user(access_token, session)
        secret = pyotp.random_base32(32)
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE auth_users SET totp_pending = ? WHERE pool = ? AND username = ?", (secret, self.name, username)
            )
        return secret, session

    def verify_totp(self, access_token: str | None, code: str, session: str | None = None) -> str | None:
        username, session = self._totp_user(access_token, session)
        user = self._need_user(username)
        if not self._totp_ok(user["totp_pending"], code, None):
            raise AuthError("Code mismatch", "EnableSoftwareTokenMFAException")
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE auth_users SET totp = totp_pending, totp_pending = NULL, mfa = 1 "
                "WHERE pool = ? AND username = ?",
                (self.name, username),
            )
        return session

    def set_mfa(self, access_token: str, enabled: bool) -> None:
        claims = self.verify(access_token, "access")
        if not enabled and self.pool.mfa == "required":
            raise AuthError("MFA is required by this pool and cannot be turned off", "InvalidParameterException")
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE auth_users SET mfa = ? WHERE pool = ? AND username = ?",
                (int(enabled), self.name, claims["username"]),
            )
