"""Attempt limits of a local user pool, as Cognito enforces them, so guessing is as slow here as there.

- Passwords: after 5 failed sign-ins a user is locked out for 1 second, doubling with each further
  failure (2^(n-5) s for n failures) up to about 15 minutes; attempts while locked out are refused with
  NotAuthorizedException "Password attempts exceeded" and do not count. A successful sign-in after the
  lock, or 15 minutes without attempts, starts again from 0. Unknown usernames count the same way, so
  the lockout does not tell which users exist.
- Challenge sessions: 3 wrong answers (MFA codes) and the session is dead.
- Confirmation codes: 5 wrong codes and the code is gone: LimitExceededException until a new one is sent.
- TOTP: each 30-second step's code signs in once per user (the last used step is remembered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import AuthError

LOCK_AFTER = 5  # failures before the first (1 s) lock
MAX_LOCK = 15 * 60  # the lock stops doubling at about 15 minutes
RESET_AFTER = 15 * 60  # quiet this long and the count starts again
CHALLENGE_ATTEMPTS = 3  # wrong answers a challenge session survives
CODE_ATTEMPTS = 5  # wrong confirmation codes before the code is withdrawn

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS auth_attempts (pool TEXT, kind TEXT, subject TEXT, failures INTEGER NOT NULL, "
    "locked_until REAL NOT NULL DEFAULT 0, last REAL NOT NULL, PRIMARY KEY (pool, kind, subject))",
    "CREATE TABLE IF NOT EXISTS auth_totp_steps (pool TEXT, username TEXT, step INTEGER NOT NULL, "
    "PRIMARY KEY (pool, username))",
)


class Attempts:
    """Failure counters of one pool in the pool's SQLite store, on the backend's clock."""

    def __init__(self, db: Any, pool: str, now: Callable[[], float]) -> None:
        self.db = db
        self.pool = pool
        self.now = now
        with db.write() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def _row(self, kind: str, subject: str) -> tuple[int, float, float] | None:
        row = self.db.conn.execute(
            "SELECT failures, locked_until, last FROM auth_attempts WHERE pool = ? AND kind = ? AND subject = ?",
            (self.pool, kind, subject),
        ).fetchone()
        return None if row is None else (int(row[0]), float(row[1]), float(row[2]))

    def count(self, kind: str, subject: str) -> int:
        row = self._row(kind, subject)
        return 0 if row is None else row[0]

    def fail(self, kind: str, subject: str) -> int:
        """Count one attempt as failed (callers count first and clear on success, so parallel attempts
        cannot all see the same count); the number so far, read in the same transaction."""
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO auth_attempts (pool, kind, subject, failures, last) VALUES (?, ?, ?, 1, ?) "
                "ON CONFLICT (pool, kind, subject) DO UPDATE SET failures = failures + 1, last = excluded.last "
                "RETURNING failures",
                (self.pool, kind, subject, self.now()),
            ).fetchone()
        return int(row[0])

    def clear(self, kind: str, subject: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM auth_attempts WHERE pool = ? AND kind = ? AND subject = ?", (self.pool, kind, subject)
            )

    # -- password lockout -------------------------------------------------------------------------
    def begin_password_attempt(self, username: str) -> None:
        """Refuse a sign-in while the user is locked out, else count it as failed until ``password_ok``
        says otherwise: check and count are one transaction, so parallel guesses cannot all slip in
        before the first of them is counted."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT failures, locked_until, last FROM auth_attempts "
                "WHERE pool = ? AND kind = 'password' AND subject = ?",
                (self.pool, username),
            ).fetchone()
            now = self.now()
            failures = 0
            if row is not None:
                if now < row[1]:
                    raise AuthError("Password attempts exceeded", "NotAuthorizedException")
                failures = 0 if now - max(row[2], row[1]) >= RESET_AFTER else int(row[0])
            failures += 1
            locked_until = now + min(2.0 ** (failures - LOCK_AFTER), MAX_LOCK) if failures >= LOCK_AFTER else 0
            conn.execute(
                "INSERT OR REPLACE INTO auth_attempts VALUES (?, 'password', ?, ?, ?, ?)",
                (self.pool, username, failures, locked_until, now),
            )

    def password_ok(self, username: str) -> None:
        self.clear("password", username)

    # -- TOTP replay ------------------------------------------------------------------------------
    def use_totp_step(self, username: str, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later one) was already used by this user."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT step FROM auth_totp_steps WHERE pool = ? AND username = ?", (self.pool, username)
            ).fetchone()
            if row is not None and step <= row[0]:
                return False
            conn.execute("INSERT OR REPLACE INTO auth_totp_steps VALUES (?, ?, ?)", (self.pool, username, step))
        return True

    def drop(self) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM auth_attempts WHERE pool = ?", (self.pool,))
            conn.execute("DELETE FROM auth_totp_steps WHERE pool = ?", (self.pool,))
