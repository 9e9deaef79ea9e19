"""What the dev server's HTTP gateway puts on the wire: a content-length for every response with a body
(as API Gateway sends; without it uvicorn would fall back to chunked encoding), none on a 204 or a
HEAD answer, and a handler's own content-length left alone."""

from __future__ import annotations

import asyncio

from strato.local.http_gateway import Gateway


def call(gateway: Gateway, method: str, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(gateway(scope, receive, send))
    gateway.close()
    return sent[0]["status"], sent[0]["headers"], sent[1]["body"]


def test_content_length_on_the_wire(make_app):
    app = make_app()
    api = app.http()

    @api.get("/json")
    def json_body(req):
        return {"hello": "wörld"}

    @api.get("/empty")
    def empty(req):
        return None

    @api.get("/own")
    def own(req):
        return 200, "abc", {"content-length": "3"}

    def lengths(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
        return [v for k, v in headers if k == b"content-length"]

    gateway = Gateway(app)
    status, headers, body = call(gateway, "GET", "/json")
    assert status == 200 and lengths(headers) == [str(len(body)).encode()] and len(body) > len('{"hello":"wörld"}')
    status, headers, _ = call(gateway, "GET", "/empty")
    assert status == 204 and lengths(headers) == []
    status, headers, body = call(gateway, "HEAD", "/json")
    assert status == 200 and body == b"" and lengths(headers) == []
    status, headers, body = call(gateway, "GET", "/missing")
    assert status == 404 and lengths(headers) == [str(len(body)).encode()]
    _, headers, _ = call(gateway, "GET", "/own")
    assert lengths(headers) == [b"3"]
