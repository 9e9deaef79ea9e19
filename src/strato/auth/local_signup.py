"""Sign-up of a local user pool: create UNCONFIRMED users, send confirmation codes to the outbox,
confirm them. Codes are attempt-limited as Cognito's are (CodeMismatchException, then the code is
withdrawn: LimitExceededException until a new one is sent); with PreventUserExistenceErrors on (the
default), an unknown user gets the answers a real one would: a code "sent" to a simulated destination,
CodeMismatchException for any code."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

from ..core.errors import AuthError
from .local_parts import LocalParts
from .lockout import CODE_ATTEMPTS
from .passwords import hash_password

CODE_TTL = 24 * 3600
MISMATCH = "Invalid verification code provided, please try again."


class LocalSignUp(LocalParts):
    """Mixed into ``LocalUserPoolBackend``, whose store, pool, clock and users it uses."""

    def _send(self, username: str, attributes: dict[str, str], subject: str, message: str) -> dict[str, str]:
        destination = attributes.get("email") or attributes.get("phone_number") or username
        medium = "EMAIL" if "email" in attributes else "SMS" if "phone_number" in attributes else "EMAIL"
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT INTO auth_outbox (pool, at, username, destination, subject, message) VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, self.now(), username, destination, subject, message),
            )
        return _delivery(destination, medium)

    def _code(self, username: str, purpose: str) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO auth_codes VALUES (?, ?, ?, ?, ?)",
                (self.name, username, purpose, code, self.now() + CODE_TTL),
            )
        self.attempts.clear(f"code:{purpose}", username)  # a new code, a new set of attempts
        return code

    def _use_code(self, username: str, purpose: str, code: str) -> None:
        """Consume the code, or count a wrong one: the CODE_ATTEMPTS-th withdraws it. The attempt is
        counted before the comparison (and forgiven if right), so parallel guesses are all counted."""
        kind = f"code:{purpose}"
        if self.attempts.fail(kind, username) > CODE_ATTEMPTS:
            raise AuthError("Attempt limit exceeded, please try after some time.", "LimitExceededException")
        row = self.store.db.conn.execute(
            "SELECT code, expires FROM auth_codes WHERE pool = ? AND username = ? AND purpose = ?",
            (self.name, username, purpose),
        ).fetchone()
        if row is None or not secrets.compare_digest(str(code).encode(), str(row[0]).encode()):
            if self.attempts.count(kind, username) >= CODE_ATTEMPTS:
                self._drop_code(username, purpose)
            raise AuthError(MISMATCH, "CodeMismatchException")
        self.attempts.clear(kind, username)
        if row[1] < self.now():
            raise AuthError("Invalid code provided, please request a code again.", "ExpiredCodeException")
        self._drop_code(username, purpose)

    def _drop_code(self, username: str, purpose: str) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "DELETE FROM auth_codes WHERE pool = ? AND username = ? AND purpose = ?", (self.name, username, purpose)
            )

    def _create_user(self, username: str, password: str, status: str, attributes: dict[str, str], taken: str) -> str:
        """Insert a user (sign-up or admin), or UsernameExistsException with ``taken``; the new sub."""
        sub = str(uuid.uuid4())
        with self.store.db.write() as conn:
            if conn.execute(
                "SELECT 1 FROM auth_users WHERE pool = ? AND username = ?", (self.name, username)
            ).fetchone():
                raise AuthError(taken, "UsernameExistsException")
            conn.execute(
                "INSERT INTO auth_users (pool, username, sub, password, status, attributes, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.name, username, sub, hash_password(password), status, json.dumps(attributes), self.now()),
            )
        return sub

    def sign_up(self, username: str, password: str, attributes: dict[str, str]) -> dict[str, Any]:
        self.pool.policy.check(password)
        sub = self._create_user(username, password, "UNCONFIRMED", attributes, "User already exists")
        code = self._code(username, "confirm")
        delivery = self._send(username, attributes, "Your verification code", f"Your verification code is {code}")
        return {"UserConfirmed": False, "UserSub": sub, "CodeDeliveryDetails": delivery}

    def _unknown(self, username: str) -> AuthError:
        return AuthError("User does not exist.", "UserNotFoundException")

    def confirm_sign_up(self, username: str, code: str) -> None:
        user = self._user(username)
        if user is None:
            if not self.pool.prevent_user_existence_errors:
                raise self._unknown(username)
            self._use_code(username, "confirm", code)  # no code is stored: CodeMismatch, then LimitExceeded
            raise AuthError(MISMATCH, "CodeMismatchException")
        if user["status"] == "CONFIRMED":
            raise AuthError("User cannot be confirmed. Current status is CONFIRMED", "NotAuthorizedException")
        self._use_code(username, "confirm", code)
        with self.store.db.write() as conn:
            conn.execute(
                "UPDATE auth_users SET status = 'CONFIRMED' WHERE pool = ? AND username = ?", (self.name, username)
            )

    def resend_code(self, username: str) -> dict[str, str]:
        user = self._user(username)
        if user is None:
            if not self.pool.prevent_user_existence_errors:
                raise self._unknown(username)
            return _simulated_delivery(username)
        code = self._code(username, "confirm")
        return self._send(username, user["attributes"], "Your verification code", f"Your verification code is {code}")


def _delivery(destination: str, medium: str) -> dict[str, str]:
    masked = destination[0] + "***" + destination[destination.find("@") :] if "@" in destination else "+******"
    return {
        "Destination": masked,
        "DeliveryMedium": medium,
        "AttributeName": medium.lower() if medium == "EMAIL" else "phone_number",
    }


def _simulated_delivery(username: str) -> dict[str, str]:
    """Cognito's answer for an unknown user: a code 'sent' to a made-up destination, stable per name."""
    if "@" in username:
        return _delivery(username, "EMAIL")
    seed = hashlib.sha256(username.encode()).digest()
    letter = "abcdefghijklmnopqrstuvwxyz"[seed[0] % 26]
    domain = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")[seed[1] % 4]
    return _delivery(f"{letter}@{domain}", "EMAIL")
