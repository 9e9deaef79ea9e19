"""The in-process HTTP client of the test kit: a request becomes the API Gateway payload 2.0 event and
goes through the same dispatcher ``app.lambda_handler`` uses, with no socket and no thread in between.

Routes, path parameters, CORS, the JWT authorizer, Lambda's 6 MB limit and error answers behave as under
``strato dev``; what a test sees is what API Gateway would send back.
"""

from __future__ import annotations

import base64
import json as jsonlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from ..events import LocalContext
from ..events.apigw_http import http_event
from ..http import MAX_BODY_BYTES
from ..http.request import Headers

if TYPE_CHECKING:
    from ..app import App
    from .websocket import WebSocket


class Response:
    """What the client got: ``status``, ``headers`` (any case), ``body`` (bytes), ``text``, ``json()``,
    ``cookies`` (the Set-Cookie values)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, cookies: list[str]) -> None:
        self.status = status
        self.headers = Headers({k: str(v) for k, v in headers.items()})
        self.body = body
        self.cookies = cookies

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            raise AssertionError(f"response {self.status} is not JSON: {self.text[:200]!r}") from None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers.get('content-type', '')} {len(self.body)} bytes>"


class Client:
    """``client.get("/notes", headers={...})``, ``client.post("/notes", json={...})``; ``sign_in(user,
    groups=[...])`` makes later requests carry that user's token, as a signed-in browser would."""

    def __init__(self, app_of: Callable[[], App]) -> None:
        self._app_of = app_of
        self.headers: dict[str, str] = {}
        self.token: str | None = None

    @property
    def app(self) -> App:
        return self._app_of()

    # -- requests ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    ) -> Response:
        """One request. ``json=`` sends a JSON body, ``body=`` raw bytes or text; ``query=`` is added to
        any query string in ``path``."""
        app = self.app
        parts = urlsplit(path)
        raw_query = parts.query
        if query:
            extra = urlencode(list(query.items()) if isinstance(query, Mapping) else list(query))
            raw_query = f"{raw_query}&{extra}" if raw_query else extra
        sent = {**self.headers, **dict(headers or {})}
        lowered = {k.lower() for k in sent}
        if json is not None:
            if body is not None:
                raise ValueError("pass json= or body=, not both")
            body = jsonlib.dumps(json)
            if "content-type" not in lowered:
                sent["content-type"] = "application/json"
        raw = body.encode() if isinstance(body, str) else body or b""
        if len(raw) > MAX_BODY_BYTES:
            return Response(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}', [])
        if "host" not in lowered:
            sent["host"] = "127.0.0.1"
        dispatcher = app.http_dispatcher
        route, params, _ = dispatcher.api.router.match(method.upper(), parts.path or "/")
        event = http_event(
            method=method.upper(),
            raw_path=parts.path or "/",
            raw_query=raw_query,
            headers=list(sent.items()),
            body=raw,
            source_ip="127.0.0.1",
            route_key=route.key if route else "$default",
            path_parameters=params or None,
            domain=sent.get("host", "127.0.0.1"),
        )
        app.usage.add("apigateway", "http_requests", 1)  # as the gateway of strato dev counts them
        result = dispatcher.handle(event, LocalContext(f"{app.name}-http", dispatcher.api.timeout))
        payload = result.get("body") or ""
        out = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        if method.upper() == "HEAD":
            out = b""
        return Response(int(result["statusCode"]), result.get("headers") or {}, out, list(result.get("cookies") or []))

    def get(self, path: str, **options: Any) -> Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> Response:
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Response:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Response:
        return self.request("DELETE", path, **options)

    def head(self, path: str, **options: Any) -> Response:
        return self.request("HEAD", path, **options)

    def options(self, path: str, **options: Any) -> Response:
        return self.request("OPTIONS", path, **options)

    # -- users ---------------------------------------------------------------------------------
    def sign_in(
        self, user: str, *, groups: Iterable[str] = (), attributes: Mapping[str, str] | None = None, pool: str = ""
    ) -> str:
        """Make ``user`` (created in the app's user pool if new, with ``attributes``, added to ``groups``)
        the signed-in user of this client: later requests send its ID token as ``Authorization: Bearer``.
        Returns the token. The test acts as the pool's administrator, whatever the app's ``allow=``."""
        from .users import ensure_signed_in

        token = ensure_signed_in(self.app, user, list(groups), dict(attributes or {}), pool)
        self.token = token
        self.headers["authorization"] = f"Bearer {token}"
        return token

    def sign_out(self) -> None:
        self.token = None
        self.headers.pop("authorization", None)

    # -- WebSockets ------------------------------------------------------------------------------
    def websocket(
        self,
        name: str,
        *,
        query: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebSocket:
        """Connect to the app's WebSocket API ``name`` as a client would (``$connect`` runs, with its
        authorizer: ``token=`` goes in ``?token=``, else the signed-in user's token does); raises
        ``Rejected`` with the status when ``$connect`` refuses."""
        from .websocket import WebSocket

        params = dict(query or {})
        chosen = token if token is not None else self.token
        if chosen is not None and "token" not in params:
            params["token"] = chosen
        return WebSocket.connect(self.app, name, params, dict(headers or {}))


def new_password() -> str:
    """A password any Cognito password policy accepts (upper, lower, digit, symbol, 20 characters)."""
    return f"Aa1!{secrets.token_urlsafe(12)}"
