"""``auth=pool`` on a site under ``strato dev``: every page needs a signed-in user of the pool. A request
without a valid ID token cookie is redirected to a hosted-UI-like sign-in page (password, then TOTP when
the user has it, or a new password when the pool demands one); success sets HttpOnly, SameSite=Lax cookies
(Secure over TLS) with the tokens and returns to the page asked for. An expired ID token is refreshed with
the refresh cookie; a tampered cookie, another client's token or a failed refresh go back to sign-in."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool

from ..core.errors import AuthError, StratoError
from ..site import Site

ID_COOKIE, REFRESH_COOKIE = "strato-id", "strato-refresh"
MAX_FORM = 16 * 1024
_CODE = '<label>Code from your authenticator app <input name="code" autocomplete="one-time-code" autofocus></label>'
_NEW_PASSWORD = (
    '<label>New password <input name="new_password" type="password" autocomplete="new-password" autofocus></label>'
)
REFRESH_DAYS = 30  # Cognito's default refresh token validity


def cookies(scope: dict) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                found.setdefault(name, val)
    return found


def set_cookie(site: Site, scope: dict, name: str, value: str, max_age: int) -> tuple[bytes, bytes]:
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    path = site.prefix if site.prefix != "/" else "/"
    cookie = f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    return b"set-cookie", cookie.encode("latin-1")


def safe_next(site: Site, value: str | None) -> str:
    """Where to go after signing in: a path of this site, never another origin (``//evil``, ``/\\evil``)."""
    home = site.prefix if site.prefix != "/" else "/"
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return home
    return value


class SignIn:
    """The gate in front of one site's files, and its sign-in page."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pool = site.pool

    async def gate(self, scope: dict, send: Any) -> list[tuple[bytes, bytes]] | None:
        """None when the request may not pass (a redirect was sent); else the cookies to add (a refresh)."""
        jar = cookies(scope)
        token = jar.get(ID_COOKIE)
        if token:
            try:
                await run_in_threadpool(self.pool.verify, token, token_use="id", check_revoked=True)
                return []
            except AuthError:
                pass
        refresh = jar.get(REFRESH_COOKIE)
        if refresh:
            try:
                tokens = await run_in_threadpool(self.pool.refresh, refresh)
                return [set_cookie(self.site, scope, ID_COOKIE, tokens.id_token, tokens.expires_in)]
            except AuthError:
                pass
        target = scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
        location = f"{self.site.signin_path}?next={quote(target, safe='/')}"
        await _respond(send, 302, b"", [(b"location", location.encode("latin-1")), (b"cache-control", b"no-store")])
        return None

    async def page(self, scope: dict, receive: Any, send: Any) -> None:
        """GET: the form. POST: one step of the sign-in (password, TOTP code or new password)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope["method"] == "GET":
            await self._form(send, 200, {"next": safe_next(self.site, (query.get("next") or [""])[0])})
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b"GET or POST\n", [(b"allow", b"GET, POST")])
            return
        body = await _read(receive)
        if body is None:
            await _respond(send, 413, b"form too large\n", [])
            return
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        state = {"next": safe_next(self.site, form.get("next")), "username": form.get("username", "")}
        try:
            result = await run_in_threadpool(self._step, form)
        except (AuthError, StratoError) as exc:
            await self._form(send, 401, {**state, "error": str(exc)})
            return
        if hasattr(result, "id_token"):
            headers = [
                set_cookie(self.site, scope, ID_COOKIE, result.id_token, result.expires_in),
                (b"location", state["next"].encode("latin-1")),
                (b"cache-control", b"no-store"),
            ]
            if result.refresh_token:
                headers.append(set_cookie(self.site, scope, REFRESH_COOKIE, result.refresh_token, REFRESH_DAYS * 86400))
            await _respond(send, 303, b"", headers)
            return
        await self._form(send, 200, {**state, "challenge": result.name, "session": result.session})

    def _step(self, form: dict[str, str]) -> Any:
        from ..auth.model import Challenge

        name = form.get("challenge")
        if not name:
            return self.pool.sign_in(form.get("username", ""), form.get("password", ""))
        challenge = Challenge(name, form.get("session", ""), {"USER_ID_FOR_SRP": form.get("username", "")})
        return self.pool.respond(challenge, code=form.get("code", ""), new_password=form.get("new_password", ""))

    async def _form(self, send: Any, status: int, state: dict[str, str]) -> None:
        challenge = state.get("challenge", "")
        if challenge == "SOFTWARE_TOKEN_MFA":
            fields = _CODE
        elif challenge == "NEW_PASSWORD_REQUIRED":
            fields = _NEW_PASSWORD
        elif challenge:
            fields = f"<p>{html.escape(challenge)} cannot be answered on this page.</p>"
        else:
            fields = (
                '<label>Username <input name="username" autocomplete="username" autofocus></label>'
                '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
            )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(state[k])}">'
            for k in ("next", "challenge", "session", "username")
            if state.get(k) and not (k == "username" and not challenge)
        )
        error = f'<p role="alert" id="error">{html.escape(state["error"])}</p>' if state.get("error") else ""
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Sign in</title></head><body>"
            f"<h1>Sign in to {html.escape(self.site.name)}</h1>{error}"
            f'<form method="post" action="{html.escape(self.site.signin_path)}">{hidden}{fields}'
            '<button type="submit">Sign in</button></form></body></html>'
        )
        await _respond(
            send,
            status,
            page.encode(),
            [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")],
        )


async def _read(receive: Any) -> bytes | None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_FORM:
            return None
        if not message.get("more_body"):
            return body


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    if not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
