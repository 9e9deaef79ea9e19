"""The sign-in gate of an ``auth=pool`` site, in one copy: ``strato dev`` runs it (local/site_signin.py)
and ``strato synth`` pastes this file into the Lambda@Edge function CloudFront runs on viewer requests, so
a cookie that opens a page locally opens it on AWS and one refused here is refused there.

Standard library only: a viewer-request function's package is capped at 1 MB, so there is no PyJWT and
no ``cryptography`` at the edge. RS256 is checked by hand (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017
section 8.2.2: ``s^e mod n`` must equal the padded DER digest, compared in constant time), then the claims
as verify_jwt checks them: issuer, ``token_use`` ``id``, ``aud`` the site's app client, ``exp`` in the
future, ``iat`` / ``nbf`` not, ``sub`` a string.

The rules: the sign-in page itself passes; a valid ID token cookie (``strato-id``) passes; otherwise a
refresh cookie (``strato-refresh``) is exchanged for a new ID token and the browser is sent back to the
same URL with it; otherwise (or when the exchange fails, which also clears the cookies) to sign-in with
``?next=`` the page asked for.

The cookies are HttpOnly, so the page's script cannot read the ID token it needs for an API that wants one
(a WebSocket ``?token=``). ``<prefix>/_strato-token`` hands it over, as JSON, to the page's own script
only: the request must carry ``X-Strato-Token: 1``, which a cross-origin page can only send after a CORS
preflight this gate never grants, and a browser's ``Sec-Fetch-Site`` / ``Origin`` must say same-origin (a
form, a link, an ``<img>`` or ``<script>`` of another site gets a 403). The answer is ``no-store`` (no
cache, CloudFront's included, keeps it) and ``nosniff``; a signed-out caller gets a 401 naming the sign-in
page rather than a redirect, and an expired ID token is refreshed by the usual redirect first."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from urllib.parse import quote, urlsplit

ID_COOKIE = "strato-id"
REFRESH_COOKIE = "strato-refresh"
SIGNIN_SEGMENT = "_strato-signin"
TOKEN_SEGMENT = "_strato-token"
TOKEN_HEADER = "x-strato-token"  # "1": only a same-origin script can send it without a preflight
#: the headers of every answer of the token endpoint
TOKEN_HEADERS = {
    "content-type": "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
REFRESH_DAYS = 30  # Cognito's default refresh token validity
MAX_TOKEN_BYTES = 16 * 1024  # as auth/tokens.py: longer is no token of a pool, refused before any work
JWKS_RETRY_S = 60  # an unknown kid refetches the JWKS at most this often (a rotation, not a flood)
# DigestInfo of SHA-256 (RFC 8017 section 9.2, note 1)
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

PASS, PAGE, REFRESH, SIGN_IN = "pass", "page", "refresh", "sign-in"


class Rejected(Exception):
    """A token this gate does not accept; the message says which check failed."""


def parse_cookies(values: Iterable[str]) -> dict[str, str]:
    """``Cookie`` header values -> name: value (the first of a repeated name wins, as browsers send the
    most specific path first)."""
    found: dict[str, str] = {}
    for value in values:
        for part in value.split(";"):
            name, _, val = part.strip().partition("=")
            if name:
                found.setdefault(name, val)
    return found


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def rsa_keys(jwks: dict) -> dict[str, tuple[int, int]]:
    """kid -> (n, e) of every RSA signing key in a JWKS (Cognito's ``/.well-known/jwks.json``)."""
    keys: dict[str, tuple[int, int]] = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and isinstance(jwk.get("kid"), str):
            n = int.from_bytes(_b64(str(jwk["n"])), "big")
            e = int.from_bytes(_b64(str(jwk["e"])), "big")
            keys[jwk["kid"]] = (n, e)
    return keys


def rs256_valid(signing_input: bytes, signature: bytes, n: int, e: int) -> bool:
    size = (n.bit_length() + 7) // 8
    if len(signature) != size or size < len(_SHA256_PREFIX) + 32 + 11:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    digest = _SHA256_PREFIX + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return hmac.compare_digest(pow(s, e, n).to_bytes(size, "big"), expected)


class Keys:
    """The pool's JWKS, fetched on first use; an unknown ``kid`` fetches it again (a key rotation), at
    most every ``retry`` seconds (JWKS_RETRY_S at the edge, where it is a network call; 0 for the local
    pool, whose JWKS is a read of its own key ring)."""

    def __init__(
        self, fetch: Callable[[], dict], clock: Callable[[], float] = time.monotonic, retry: float = JWKS_RETRY_S
    ) -> None:
        self.fetch = fetch
        self.clock = clock
        self.retry = retry
        self.keys: dict[str, tuple[int, int]] = {}
        self.fetched: float | None = None

    def __call__(self, kid: str) -> tuple[int, int] | None:
        if kid not in self.keys and (self.fetched is None or self.clock() - self.fetched >= self.retry):
            self.fetched = self.clock()
            self.keys = rsa_keys(self.fetch())
        return self.keys.get(kid)


def verify_id_token(
    token: str, *, issuer: str, client_id: str, keys: Callable[[str], tuple[int, int] | None], now: float
) -> dict:
    """The claims of a valid ID token of ``client_id``, else Rejected saying which check failed."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise Rejected("malformed token: expected a JWT of three dot-separated parts")
    if len(token) > MAX_TOKEN_BYTES:
        raise Rejected(f"token is longer than {MAX_TOKEN_BYTES} bytes")
    head, body, sig = token.split(".")
    try:
        header, claims, signature = json.loads(_b64(head)), json.loads(_b64(body)), _b64(sig)
    except (ValueError, UnicodeDecodeError):
        raise Rejected("malformed token: a part is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise Rejected("algorithm is not RS256")
    kid = header.get("kid")
    key = keys(kid) if isinstance(kid, str) else None
    if key is None:
        raise Rejected(f"unknown signing key {kid!r}: not in the pool's JWKS")
    if not rs256_valid(f"{head}.{body}".encode("ascii", "replace"), signature, *key):
        raise Rejected("signature does not verify: the token was forged or altered")
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        raise Rejected("the payload lacks a 'sub' string")
    if claims.get("iss") != issuer:
        raise Rejected(f"token was issued by {claims.get('iss')!r}, not {issuer}")
    if claims.get("token_use") != "id":
        raise Rejected(f"token_use is {claims.get('token_use')!r}, not 'id'")
    if claims.get("aud") != client_id:
        raise Rejected(f"token is for client {claims.get('aud')!r}, not this site's")
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if (name in claims or name == "exp") and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Rejected(f"the {name!r} claim must be a number")
    try:
        if int(claims["exp"]) <= now:
            raise Rejected("token has expired")
        if int(claims.get("iat", 0)) > now or int(claims.get("nbf", 0)) > now:
            raise Rejected("token is not valid yet (iat / nbf in the future)")
    except (OverflowError, ValueError):
        raise Rejected("a time claim is not a finite number") from None
    return claims


def signin_path(prefix: str) -> str:
    return f"{prefix.rstrip('/')}/{SIGNIN_SEGMENT}"


def token_path(prefix: str) -> str:
    return f"{prefix.rstrip('/')}/{TOKEN_SEGMENT}"


def token_refusal(method: str, header: Callable[[str], str | None]) -> str | None:
    """Why a request for the ID token is refused (None: the signed-in page's own script asks for it).
    ``header`` looks a request header up by its lower-case name."""
    if method != "GET":
        return "the token endpoint answers GET"
    if header(TOKEN_HEADER) != "1":
        return f"send the {TOKEN_HEADER}: 1 header (from the page's own script)"
    fetch_site = header("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return f"a {fetch_site} request cannot have the token"
    origin, host = header("origin"), header("host")
    if origin is not None and (host is None or urlsplit(origin).netloc != host):
        return "a cross-origin request cannot have the token"
    return None


def token_body(token: str) -> str:
    """``{"idToken", "expiresAt"}``: ``token`` was verified by ``decide`` (``exp`` tells the page when to ask
    again)."""
    try:
        expires = json.loads(_b64(token.split(".")[1])).get("exp")
    except (ValueError, IndexError, AttributeError):
        expires = None
    return json.dumps({"idToken": token, "expiresAt": expires})


def token_signed_out(prefix: str) -> str:
    """The 401 body of the token endpoint for a caller without a session: where to sign in."""
    return json.dumps({"message": "sign in first", "signIn": signin_path(prefix)})


def decide(
    path: str,
    cookies: dict[str, str],
    *,
    prefix: str,
    issuer: str,
    client_id: str,
    keys: Callable[[str], tuple[int, int] | None],
    now: float,
) -> tuple[str, str]:
    """(outcome, why): PAGE for the sign-in page, PASS for a valid ID token, REFRESH when only the refresh
    cookie can help, SIGN_IN otherwise."""
    if path == signin_path(prefix):
        return PAGE, "the sign-in page"
    token = cookies.get(ID_COOKIE)
    why = "no ID token cookie"
    if token:
        try:
            verify_id_token(token, issuer=issuer, client_id=client_id, keys=keys, now=now)
            return PASS, "valid ID token"
        except Rejected as exc:
            why = str(exc)
    if cookies.get(REFRESH_COOKIE):
        return REFRESH, why
    return SIGN_IN, why


def signin_location(prefix: str, path: str, query: str) -> str:
    """Where a refused request goes: the sign-in page, ``next=`` the page asked for."""
    target = path + ("?" + query if query else "")
    return f"{signin_path(prefix)}?next={quote(target, safe='/')}"


def safe_next(prefix: str, value: str | None) -> str:
    """Where to go after signing in: a path of this site, never another origin (``//evil``, ``/\\evil``)."""
    home = prefix if prefix != "/" else "/"
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return home
    return value


def cookie(prefix: str, name: str, value: str, max_age: int, *, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Lax, the site's path, Secure over TLS (always at the edge)."""
    flag = "; Secure" if secure else ""
    return f"{name}={value}; Path={prefix or '/'}; Max-Age={max_age}; HttpOnly; SameSite=Lax{flag}"


def cleared(prefix: str, *, secure: bool) -> list[str]:
    """Set-Cookie values removing both cookies (a refresh token that no longer works)."""
    return [cookie(prefix, name, "", 0, secure=secure) for name in (ID_COOKIE, REFRESH_COOKIE)]
