"""Cognito-shaped JWTs: RS256 signing with a rotating key ring, JWKS, and strict verification.

Verification pins the algorithm to RS256 before looking at anything else (so ``alg: none`` and
HS256-with-the-public-key tricks never reach a key), finds the key by ``kid`` in the JWKS, then
checks signature, exp, iat, iss, audience (``aud`` on ID tokens, ``client_id`` on access tokens)
and ``token_use``; each failure raises InvalidToken with a message saying which check failed.

Nothing a caller sends can make it fail otherwise: a token longer than MAX_TOKEN_BYTES is refused
before any base64 or crypto work, any error of PyJWT's (a non-string ``kid``, an unknown ``crit``)
becomes InvalidToken, and the claims strato reads must have Cognito's types (``exp`` a number, not a
numeric string; ``aud`` one string, not a list).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..core import clock
from ..core.errors import InvalidToken

ALGORITHM = "RS256"
#: Cognito's tokens are 1-2 KB (a user in many groups, 4-5 KB); API Gateway refuses request headers
#: over 10 KB. Anything longer is refused before it is decoded, so a 10 MB "token" costs nothing.
MAX_TOKEN_BYTES = 16 * 1024
_STRING_CLAIMS = ("sub", "iss", "token_use", "aud", "client_id", "username", "cognito:username", "origin_jti")
_NUMBER_CLAIMS = ("exp", "iat", "auth_time", "nbf")


def _jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - depends on the install
        from ..core.errors import ConfigurationError

        raise ConfigurationError("auth needs PyJWT with cryptography: pip install 'strato[auth]'") from None
    return jwt


class KeyRing:
    """RSA signing keys in SQLite: the newest signs; keys younger than two rotations stay in the JWKS.

    A key is created once per due rotation however many threads or processes ask at the same moment
    (the check and the insert share one write transaction), and a ``kid`` missing from the 5-second
    cache reloads the keys once before it is refused, so a token another thread just signed verifies."""

    def __init__(self, db: Any, rotation_days: float = 30) -> None:
        self.db = db
        self.rotation = rotation_days * 86_400
        with db.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS auth_keys (kid TEXT PRIMARY KEY, pem BLOB NOT NULL, "
                "public_jwk TEXT NOT NULL, created REAL NOT NULL)"
            )
        self._cache: tuple[float, list[tuple[str, Any, dict]]] | None = None
        self._parsed: dict[str, Any] = {}  # kid -> private key: PEM parsing costs, keys never change
        self._lock = threading.Lock()

    def _load(self, now: float) -> list[tuple[str, Any, dict]]:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        rows = self.db.conn.execute(
            "SELECT kid, pem, public_jwk, created FROM auth_keys ORDER BY created DESC"
        ).fetchall()
        if not rows or now - rows[0][3] >= self.rotation:
            self.rotate(now, only_if_due=True)
            return self._load(now)
        keys = []
        for kid, pem, jwk, created in rows:
            if now - created < 2 * self.rotation:
                if kid not in self._parsed:
                    self._parsed[kid] = load_pem_private_key(pem, None)
                keys.append((kid, self._parsed[kid], json.loads(jwk)))
        return keys

    def _keys(self, now: float, fresh: bool = False) -> list[tuple[str, Any, dict]]:
        with self._lock:
            if not fresh and self._cache and now - self._cache[0] < 5:
                return self._cache[1]
            keys = self._load(now)
            self._cache = (now, keys)
            return keys

    def rotate(self, now: float | None = None, *, only_if_due: bool = False) -> str:
        """A new signing key; with ``only_if_due``, only if no key younger than a rotation exists (checked
        inside the write transaction, so concurrent first sign-ins make one key)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        now = clock.now() if now is None else now
        with self.db.write() as conn:
            newest = conn.execute("SELECT kid, created FROM auth_keys ORDER BY created DESC LIMIT 1").fetchone()
            if only_if_due and newest is not None and now - newest[1] < self.rotation:
                return str(newest[0])
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            kid = uuid.uuid4().hex
            jwk = json.loads(_jwt().algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            conn.execute("INSERT INTO auth_keys VALUES (?, ?, ?, ?)", (kid, pem, json.dumps(jwk), now))
        self._parsed[kid] = key
        self._cache = None
        return kid

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        return {"keys": [jwk for _, _, jwk in self._keys(clock.now() if now is None else now)]}

    def sign(self, claims: dict[str, Any]) -> str:
        kid, key, _ = self._keys(clock.now())[0]
        return _jwt().encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})

    def public_key(self, kid: str) -> Any:
        now = clock.now()
        for fresh in (False, True):  # a kid the cache lacks: another thread may have just made it
            for found, key, _ in self._keys(now, fresh=fresh):
                if found == kid:
                    return key.public_key()
        return None


def verify_jwt(
    token: Any,
    *,
    issuer: str,
    client_ids: set[str],
    key_for: Callable[[str], Any],
    token_use: str | None = None,
    revoked: Callable[[dict], bool] | None = None,
    leeway: float = 0,
) -> dict[str, Any]:
    """The verified claims of ``token``, or InvalidToken saying exactly what failed."""
    jwt = _jwt()
    if isinstance(token, str) and token.lower().startswith("bearer "):
        token = token[7:]
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidToken("malformed token: expected a JWT of three dot-separated parts")
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken(f"token is longer than {MAX_TOKEN_BYTES} bytes: not a token of this pool")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:  # DecodeError, and the header checks (kid, crit) raise InvalidTokenError
        raise InvalidToken(f"malformed token header: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted; tokens must be signed {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("malformed token header: kid must be a string")
    key = key_for(kid)
    if key is None:
        raise InvalidToken(f"unknown signing key {kid!r}: not in this pool's JWKS")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=leeway,
            # exp / iat / nbf are checked below against strato's clock: PyJWT reads the real time
            options={
                "require": ["exp", "iat", "iss", "token_use"],
                "verify_aud": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidIssuerError:
        raise InvalidToken(f"token was issued by another issuer, not {issuer}") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("signature does not verify: the token was forged or altered") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"token lacks the {exc.claim!r} claim") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    except (TypeError, ValueError, KeyError, OverflowError) as exc:  # claims PyJWT compares without checking
        raise InvalidToken(f"invalid token: {type(exc).__name__}") from None
    _check_shapes(claims)
    _check_times(claims, clock.now(), leeway)
    use = claims.get("token_use")
    if use not in ("id", "access") or (token_use is not None and use != token_use):
        raise InvalidToken(f"token_use is {use!r}, expected {token_use or 'id or access'!r}")
    audience = claims.get("aud") if use == "id" else claims.get("client_id")
    if audience not in client_ids:
        raise InvalidToken(f"token is for client {audience!r}, not an app client of this pool")
    if revoked is not None and revoked(claims):
        raise InvalidToken("token was revoked (signed out)")
    return claims


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    """PyJWT's exp / iat / nbf rules (whole seconds, ``leeway`` either way), against strato's clock so a
    test's virtual clock expires tokens; ``_check_shapes`` has made sure they are numbers."""
    try:
        if "iat" in claims and int(claims["iat"]) > now + leeway:
            raise InvalidToken("token is issued in the future (iat)")
        if "nbf" in claims and int(claims["nbf"]) > now + leeway:
            raise InvalidToken("token is not valid yet (nbf)")
        if int(claims["exp"]) <= now - leeway:
            raise InvalidToken("token has expired")
    except (OverflowError, ValueError):  # Infinity or NaN in the JSON
        raise InvalidToken("invalid token: a time claim is not a finite number") from None


def _check_shapes(claims: Any) -> None:
    """Cognito's claim types, so no caller meets a list ``aud``, a missing ``sub`` or a string ``exp``."""
    if not isinstance(claims, dict):
        raise InvalidToken("invalid token: the payload is not a JSON object")
    if not isinstance(claims.get("sub"), str):
        raise InvalidToken("token lacks the 'sub' claim (a string)")
    for name in _STRING_CLAIMS:
        if name in claims and not isinstance(claims[name], str):
            raise InvalidToken(f"token's {name!r} claim must be a string")
    for name in _NUMBER_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidToken(f"token's {name!r} claim must be a number (NumericDate)")
