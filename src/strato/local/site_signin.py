"""``auth=pool`` on a site under ``strato dev``: every page needs a signed-in user of the pool. The rules
are site/gate.py's, the very code the Lambda@Edge function runs on AWS (same cookies, same checks, same
redirects), and the page is site/signin_page.py's. Here the steps are the pool's own calls (password, then
TOTP when the user has it, or a new password when the pool demands one); success sets HttpOnly,
SameSite=Lax cookies (Secure over TLS) and returns to the page asked for. An expired ID token with a
refresh cookie is exchanged and the browser sent back to the same URL with the new one; a tampered
cookie, another client's token or a failed refresh go to sign-in."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool

from ..core import clock
from ..core.errors import AuthError, StratoError
from ..site import Site, gate
from ..site.signin_page import MAX_FORM, parse_form, render


def cookies(scope: dict) -> dict[str, str]:
    return gate.parse_cookies(value.decode("latin-1") for key, value in scope["headers"] if key == b"cookie")


def set_cookie(site: Site, scope: dict, name: str, value: str, max_age: int) -> tuple[bytes, bytes]:
    secure = scope.get("scheme") == "https"
    return b"set-cookie", gate.cookie(site.prefix, name, value, max_age, secure=secure).encode("latin-1")


class SignIn:
    """The gate in front of one site's files, and its sign-in page."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pool = site.pool
        self.keys = gate.Keys(self.pool.jwks, retry=0 if self.pool.provider == "local" else gate.JWKS_RETRY_S)

    async def gate(self, scope: dict, send: Any, signed_out: int = 302) -> list[tuple[bytes, bytes]] | None:
        """``[]`` when the request may pass; None when it may not (a redirect was sent, or with
        ``signed_out=401`` the token endpoint's 401 to a caller without a session)."""
        jar = cookies(scope)
        outcome, _why = await run_in_threadpool(
            gate.decide,
            scope["path"],
            jar,
            prefix=self.site.prefix,
            issuer=self.pool.issuer,
            client_id=self.pool.client_id,
            keys=self.keys,
            now=clock.now(),
        )
        if outcome == gate.PASS:
            return []
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [(b"cache-control", b"no-store")]
        if outcome == gate.REFRESH:
            try:
                tokens = await run_in_threadpool(self.pool.refresh, jar[gate.REFRESH_COOKIE])
                back = scope["path"] + ("?" + query if query else "")
                headers += [
                    (b"location", back.encode("latin-1")),
                    set_cookie(self.site, scope, gate.ID_COOKIE, tokens.id_token, tokens.expires_in),
                ]
                await _respond(send, 302, b"", headers)
                return None
            except AuthError:
                secure = scope.get("scheme") == "https"
                headers += [(b"set-cookie", c.encode("latin-1")) for c in gate.cleared(self.site.prefix, secure=secure)]
        if signed_out == 401:
            body = gate.token_signed_out(self.site.prefix).encode()
            token_headers = [(k.encode(), v.encode()) for k, v in gate.TOKEN_HEADERS.items()]
            await _respond(send, 401, body, [*headers[1:], *token_headers])
            return None
        location = gate.signin_location(self.site.prefix, scope["path"], query)
        await _respond(send, 302, b"", [(b"location", location.encode("latin-1")), *headers])
        return None

    async def token(self, scope: dict, send: Any) -> None:
        """``<prefix>/_strato-token``: the signed-in page's script gets its ID token (gate.py says who may)."""
        headers = [(k.encode(), v.encode()) for k, v in gate.TOKEN_HEADERS.items()]

        def header(name: str) -> str | None:
            key = name.encode()
            return next((v.decode("latin-1") for k, v in scope["headers"] if k == key), None)

        refusal = gate.token_refusal(scope["method"], header)
        if refusal is not None:
            await _respond(send, 403, json.dumps({"message": refusal}).encode(), headers)
            return
        jar = cookies(scope)
        if (passed := await self.gate(scope, send, signed_out=401)) is None:
            return  # refreshed (a redirect back here with the new cookie) or signed out (a 401)
        await _respond(send, 200, gate.token_body(jar[gate.ID_COOKIE]).encode(), headers + passed)

    async def page(self, scope: dict, receive: Any, send: Any) -> None:
        """GET: the form. POST: one step of the sign-in (password, TOTP code or new password)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope["method"] == "GET":
            await self._form(send, 200, {"next": gate.safe_next(self.site.prefix, (query.get("next") or [""])[0])})
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b"GET or POST\n", [(b"allow", b"GET, POST")])
            return
        body = await _read(receive)
        if body is None:
            await _respond(send, 413, b"form too large\n", [])
            return
        form = parse_form(body)
        state = {"next": gate.safe_next(self.site.prefix, form.get("next")), "username": form.get("username", "")}
        try:
            result = await run_in_threadpool(self._step, form)
        except (AuthError, StratoError) as exc:
            await self._form(send, 401, {**state, "error": str(exc)})
            return
        if hasattr(result, "id_token"):
            headers = [
                set_cookie(self.site, scope, gate.ID_COOKIE, result.id_token, result.expires_in),
                (b"location", state["next"].encode("latin-1")),
                (b"cache-control", b"no-store"),
            ]
            if result.refresh_token:
                headers.append(
                    set_cookie(self.site, scope, gate.REFRESH_COOKIE, result.refresh_token, gate.REFRESH_DAYS * 86400)
                )
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
        page = render(self.site.name, self.site.signin_path, state)
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
