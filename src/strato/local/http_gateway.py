"""The HTTP half of API Gateway for one App: a real request becomes the payload 2.0 event Lambda would
get, goes through the same dispatcher as ``app.lambda_handler``, and its result goes back on the wire.
Lambda's 6 MB request limit is enforced before the body is read in full. Each request is logged as one
line (method, path, status, milliseconds) on the ``strato.http`` logger, at INFO."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from ..app import App
from ..events import LocalContext
from ..events.apigw_http import http_event
from ..http import MAX_BODY_BYTES
from ..http.response import dumps
from .handler_threads import HandlerThreads

log = logging.getLogger("strato.http")


class PayloadTooLarge(Exception):
    pass


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False) -> None:
    """One whole response. Its length goes in content-length, as API Gateway sends it: without one the
    server would fall back to chunked encoding (more bytes and parsing for every client)."""
    if not head and status >= 200 and status not in (204, 304) and all(k != b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Any, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await _send(send, status, headers, dumps(payload).encode())


class Gateway:
    """The HTTP half of API Gateway for one App."""

    def __init__(self, app: App, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.dispatcher = app.http_dispatcher if app._http is not None else None
        self.threads = HandlerThreads()  # sync handlers run here
        self.function_name = f"{app.name}-http"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        status: int | None = 500  # what the client gets if the gateway itself fails
        try:
            status = await self._serve(scope, receive, send)
        finally:
            if status is not None and log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                target = f"{scope['path']}?{query}" if query else scope["path"]
                log.info("%s %s %d %.1f ms", scope["method"], target, status, (time.perf_counter() - started) * 1000)

    async def _serve(self, scope: dict, receive: Any, send: Any) -> int | None:
        """Answer one request; returns the status sent (None: the client left before the answer)."""
        if self.dispatcher is None:
            await _send_json(send, 404, {"message": "Not Found"})
            return 404
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = host = None
        for name, value in headers:
            if name == "content-length":
                declared = value if declared is None else declared
            elif name == "host" and host is None:
                host = value
        try:
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                raise PayloadTooLarge()
            body = await _read_body(receive, self.max_body)
        except PayloadTooLarge:
            why = f"request body over {self.max_body} bytes (Lambda's 6 MB payload limit)"
            await _send_json(send, 413, {"message": "Request Entity Too Large"}, {"x-strato-error": why})
            return 413
        except ConnectionError:
            return None
        method = scope["method"]
        raw_path = scope.get("raw_path", b"").decode("latin-1").split("?")[0] or scope["path"]
        api = self.dispatcher.api
        route, params, _ = api.router.match(method, raw_path)
        client = scope.get("client") or ("127.0.0.1", 0)
        event = http_event(
            method=method,
            raw_path=raw_path,
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            source_ip=client[0],
            route_key=route.key if route else "$default",
            path_parameters=params or None,
            domain=host if host is not None else "127.0.0.1",
        )
        context = LocalContext(self.function_name, api.timeout)
        self.app.usage.add("apigateway", "http_requests", 1)  # the gateway bills requests; Lambda, invocations
        result = await self.dispatcher.handle_async(event, context, self.threads.run)
        await self._respond(send, result, method == "HEAD")
        return int(result["statusCode"])

    def close(self) -> None:
        self.threads.close()

    async def _respond(self, send: Any, result: dict[str, Any], head: bool) -> None:
        out_headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in result.get("headers", {}).items()]
        if cookies := result.get("cookies"):
            out_headers += [(b"set-cookie", cookie.encode("latin-1")) for cookie in cookies]
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        await _send(send, result["statusCode"], out_headers, raw, head)
