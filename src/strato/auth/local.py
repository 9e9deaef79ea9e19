"""The local user pool: Cognito's user lifecycle in SQLite, codes to an outbox, tokens from a key ring.

Errors carry Cognito's exception names (``err.code``) and messages; a wrong password and an unknown
user give the same NotAuthorizedException, as Cognito does by default, so sign-in cannot be used to
probe which users exist.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.context import ProviderServices
from ..core.errors import AuthError, InvalidToken
from ..runtime.devurl import dev_url
from ..runtime.sqlite import Database
from .local_admin import LocalAdmin
from .local_mfa import LocalMfa
from .local_signup import LocalSignUp
from .lockout import CHALLENGE_ATTEMPTS, Attempts
from .model import Challenge, Tokens
from .passwords import check_password, dummy_hash, hash_password
from .tokens import KeyRing, verify_jwt

if TYPE_CHECKING:
    from . import UserPool

SESSION_TTL = 3 * 60  # a challenge session lasts 3 minutes
TOKEN_TTL = 3600
REFRESH_TTL = 30 * 86_400

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_users (pool TEXT, username TEXT, sub TEXT NOT NULL, password TEXT,
  status TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, attributes TEXT NOT NULL, totp TEXT,
  totp_pending TEXT, mfa INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, PRIMARY KEY (pool, username));
CREATE TABLE IF NOT EXISTS auth_groups (pool TEXT, name TEXT, description TEXT, PRIMARY KEY (pool, name));
CREATE TABLE IF NOT EXISTS auth_members (pool TEXT, grp TEXT, username TEXT, PRIMARY KEY (pool, grp, username));
CREATE TABLE IF NOT EXISTS auth_codes (pool TEXT, username TEXT, purpose TEXT, code TEXT NOT NULL,
  expires REAL NOT NULL, PRIMARY KEY (pool, username, purpose));
CREATE TABLE IF NOT EXISTS auth_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, pool TEXT, at REAL,
  username TEXT, destination TEXT, subject TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS auth_sessions (pool TEXT, origin_jti TEXT PRIMARY KEY, username TEXT NOT NULL,
  refresh TEXT NOT NULL, auth_time INTEGER NOT NULL, expires REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS auth_challenges (session TEXT PRIMARY KEY, pool TEXT, username TEXT NOT NULL,
  name TEXT NOT NULL, expires REAL NOT NULL)
"""


class LocalAuthStore:
    def __init__(self, data_dir: str | Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "auth.db", durability)
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        self.keys = KeyRing(self.db)

    def close(self) -> None:
        self.db.close()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LocalUserPoolBackend(LocalSignUp, LocalAdmin, LocalMfa):
    capabilities = frozenset({"outbox", "totp", "groups", "revocation"})

    def __init__(self, store: LocalAuthStore, pool: UserPool) -> None:
        self.store = store
        self.pool = pool  # the facade: name, policy, mfa
        self.pool_id, self.client_id = pool.local_ids
        self.name = self.pool_id
        self.now: Callable[[], float] = clock.now  # strato's clock (virtual in tests); some tests set their own
        self.attempts = Attempts(store.db, self.name, lambda: self.now())

    @property
    def issuer(self) -> str:
        """The dev server's URL for the pool, where it serves the JWKS (as a Cognito issuer does)."""
        return f"{dev_url(self.pool.config.data_dir)}/_strato/auth/{self.pool_id}"

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def conn(self) -> Any:
        return self.store.db.conn

    def _user(self, username: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT username, sub, password, status, enabled, attributes, totp, totp_pending, "
            "mfa, created FROM auth_users WHERE pool = ? AND username = ?",
            (self.name, username),
        ).fetchone()
        if row is None:
            return None
        keys = (
            "username",
            "sub",
            "password",
            "status",
            "enabled",
            "attributes",
            "totp",
            "totp_pending",
            "mfa",
            "created",
        )
        user = dict(zip(keys, row, strict=True))
        user["attributes"] = json.loads(user["attributes"])
        return user

    def _need_user(self, username: str) -> dict[str, Any]:
        user = self._user(username)
        if user is None:
            raise AuthError("User does not exist.", "UserNotFoundException")
        return user

    def groups_of(self, username: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT grp FROM auth_members WHERE pool = ? AND username = ? ORDER BY grp", (self.name, username)
            )
        ]

    # -- sign-in -----------------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> Tokens | Challenge:
        self.attempts.begin_password_attempt(username)  # counted as a failure until it succeeds
        user = self._user(username)
        stored = user["password"] if user is not None and user["password"] else None
        # an unknown user costs one scrypt too, so timing does not tell who exists
        matches = check_password(password, stored or dummy_hash())
        if user is None or stored is None or not matches:
            if user is None and not self.pool.prevent_user_existence_errors:
                raise AuthError("User does not exist.", "UserNotFoundException")
            raise AuthError("Incorrect username or password.", "NotAuthorizedException")
        self.attempts.password_ok(username)
        if not user["enabled"]:
            raise AuthError("User is disabled.", "NotAuthorizedException")
        if user["status"] == "UNCONFIRMED":
            raise AuthError("User is not confirmed.", "UserNotConfirmedException")
        if user["status"] == "FORCE_CHANGE_PASSWORD":
            return self._challenge(username, "NEW_PASSWORD_REQUIRED")
        return self._after_password(user)

    def _after_password(self, user: dict[str, Any]) -> Tokens | Challenge:
        if user["mfa"] and user["totp"]:
            return self._challenge(user["username"], "SOFTWARE_TOKEN_MFA")
        if self.pool.mfa == "required":
            return self._challenge(user["username"], "MFA_SETUP")
        return self._issue(user)

    def _challenge(self, username: str, name: str) -> Challenge:
        session = secrets.token_urlsafe(48)
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM auth_challenges WHERE expires < ?", (self.now(),))
            conn.execute(
                "INSERT INTO auth_challenges VALUES (?, ?, ?, ?, ?)",
                (session, self.name, username, name, self.now() + SESSION_TTL),
            )
        return Challenge(name, session, {"USER_ID_FOR_SRP": username})

    def _take_challenge(self, session: str, name: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT username, name, expires FROM auth_challenges WHERE session = ? AND pool = ?", (session, self.name)
        ).fetchone()
        if row is None or row[1] != name:
            raise AuthError("Invalid session for the user.", "NotAuthorizedException")
        if row[2] < self.now():
            raise AuthError("Invalid session for the user, session is expired.", "NotAuthorizedException")
        return self._need_user(row[0])

    def _end_challenge(self, session: str) -> None:
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM auth_challenges WHERE session = ?", (session,))
        self.attempts.clear("challenge", session)

    def respond(self, name: str, session: str, answers: dict[str, str]) -> Tokens | Challenge:
        user = self._take_challenge(session, name)
        if name == "NEW_PASSWORD_REQUIRED":
            self.pool.policy.check(answers.get("NEW_PASSWORD", ""))
            with self.store.db.write() as conn:
                conn.execute(
                    "UPDATE auth_users SET password = ?, status = 'CONFIRMED' WHERE pool = ? AND username = ?",
                    (hash_password(answers["NEW_PASSWORD"]), self.name, user["username"]),
                )
            self._end_challenge(session)
            return self._after_password(self._need_user(user["username"]))
        if name == "SOFTWARE_TOKEN_MFA":
            tries = self.attempts.fail("challenge", session)  # counted first: parallel guesses count too
            if tries > CHALLENGE_ATTEMPTS:
                raise AuthError("Invalid session for the user.", "NotAuthorizedException")
            if not self._totp_ok(user["totp"], answers.get("SOFTWARE_TOKEN_MFA_CODE", ""), user["username"]):
                if tries >= CHALLENGE_ATTEMPTS:
                    self._end_challenge(session)  # a session survives 3 wrong codes
                raise AuthError("Invalid code received for user", "CodeMismatchException")
            self.attempts.clear("challenge", session)
            self._end_challenge(session)
            return self._issue(user)
        if name == "MFA_SETUP":
            if not (user["mfa"] and user["totp"]):
                raise AuthError(
                    "MFA is not set up yet: call setup_totp(challenge) and confirm_totp(challenge, code)",
                    "InvalidParameterException",
                )
            self._end_challenge(session)
            return self._issue(user)
        raise AuthError(f"unknown challenge {name}", "InvalidParameterException")

    # -- tokens ------------------------------------------------------------------------------------
    def _issue(
        self, user: dict[str, Any], origin: str | None = None, auth_time: int | None = None, refresh: str | None = None
    ) -> Tokens:
        now = int(clock.now())
        new_session = origin is None
        origin = origin or str(uuid.uuid4())
        auth_time = auth_time or now
        groups = self.groups_of(user["username"])
        common = {
            "sub": user["sub"],
            "iss": self.issuer,
            "origin_jti": origin,
            "event_id": str(uuid.uuid4()),
            "auth_time": auth_time,
            "iat": now,
            "exp": now + TOKEN_TTL,
        }
        if groups:
            common["cognito:groups"] = groups
        attrs = user["attributes"]
        id_claims = {
            **common,
            "aud": self.client_id,
            "token_use": "id",
            "cognito:username": user["username"],
            "jti": str(uuid.uuid4()),
            **{k: v for k, v in attrs.items() if k in ("email", "phone_number", "name")},
        }
        if "email" in attrs:
            id_claims["email_verified"] = user["status"] == "CONFIRMED"
        access_claims = {
            **common,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "jti": str(uuid.uuid4()),
            "username": user["username"],
        }
        if new_session:
            refresh = secrets.token_urlsafe(64)
            with self.store.db.write() as conn:
                conn.execute(
                    "INSERT INTO auth_sessions VALUES (?, ?, ?, ?, ?, ?, 0)",
                    (self.name, origin, user["username"], _digest(refresh), auth_time, now + REFRESH_TTL),
                )
        keys = self.store.keys
        return Tokens(keys.sign(id_claims), keys.sign(access_claims), refresh if new_session else None, TOKEN_TTL)

    def refresh(self, refresh_token: str) -> Tokens:
        row = self.conn.execute(
            "SELECT origin_jti, username, auth_time, expires, revoked FROM auth_sessions "
            "WHERE pool = ? AND refresh = ?",
            (self.name, _digest(str(refresh_token))),
        ).fetchone()
        if row is None or row[4]:
            raise AuthError(
                "Refresh Token has been revoked" if row else "Invalid Refresh Token", "NotAuthorizedException"
            )
        if row[3] < clock.now():
            raise AuthError("Refresh Token has expired", "NotAuthorizedException")
        user = self._need_user(row[1])
        if not user["enabled"]:
            raise AuthError("User is disabled.", "NotAuthorizedException")
        return self._issue(user, origin=row[0], auth_time=row[2])

    def revoked(self, claims: dict[str, Any]) -> bool:
        row = self.conn.execute(
            "SELECT revoked FROM auth_sessions WHERE origin_jti = ?", (claims.get("origin_jti"),)
        ).fetchone()
        return row is None or bool(row[0])

    def verify(self, token: str, token_use: str | None) -> dict[str, Any]:
        claims = verify_jwt(
            token,
            issuer=self.issuer,
            client_ids={self.client_id},
            key_for=self.store.keys.public_key,
            token_use=token_use,
            revoked=self.revoked,
        )
        user = self._user(claims.get("cognito:username") or claims.get("username") or "")
        if user is None or user["sub"] != claims["sub"] or not user["enabled"]:
            raise InvalidToken("token's user no longer exists or is disabled")
        return claims

    def sign_out(self, access_token: str) -> None:
        claims = self.verify(access_token, "access")
        with self.store.db.write() as conn:  # GlobalSignOut: every session of the user
            conn.execute(
                "UPDATE auth_sessions SET revoked = 1 WHERE pool = ? AND username = ?", (self.name, claims["username"])
            )

    def jwks(self) -> dict[str, Any]:
        return self.store.keys.jwks()

    # -- TOTP --------------------------------------------------------------------------------------
    # -- admin -------------------------------------------------------------------------------------
    def outbox(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT at, username, destination, subject, message FROM auth_outbox WHERE pool = ? ORDER BY seq",
            (self.name,),
        ).fetchall()
        return [dict(zip(("at", "username", "destination", "subject", "message"), r, strict=True)) for r in rows]

    def drop(self) -> None:
        with self.store.db.write() as conn:
            for table in (
                "auth_users",
                "auth_groups",
                "auth_members",
                "auth_codes",
                "auth_outbox",
                "auth_sessions",
                "auth_challenges",
            ):
                conn.execute(f"DELETE FROM {table} WHERE pool = ?", (self.name,))
        self.attempts.drop()


def open_backend(pool: UserPool, services: ProviderServices) -> LocalUserPoolBackend:
    """The registry's factory: every local pool of an app in one SQLite file."""
    store = services.local_store(LocalAuthStore)
    return LocalUserPoolBackend(store, pool)
