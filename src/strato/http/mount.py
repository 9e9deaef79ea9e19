"""An ASGI app (FastAPI, Starlette, Django) behind the HTTP API: a payload 2.0 event becomes an ASGI
``http`` scope, the app's answer becomes the Response the dispatcher finishes, as Mangum does.

The same translation runs on Lambda and under ``strato dev`` (which builds the event from the wire). The
app's lifespan starts once per event loop, so once per cold start on Lambda (the dispatcher keeps one
loop per process) and once per ``strato dev``. A payload 2.0 response is one buffered body: a streamed
response is collected up to ``max_response`` bytes, past which the client gets a 500 that says so.

Payload 2.0, as API Gateway sends it: ``rawQueryString`` keeps repeated parameters (the parsed
``queryStringParameters`` joins them with commas), the request's cookies arrive in ``cookies`` (not a
``cookie`` header), a binary body is base64 with ``isBase64Encoded``; and back: ``cookies`` carries each
``set-cookie``, other repeated headers are joined with commas.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import unquote

from ..core.errors import ConfigurationError
from .response import MAX_RESPONSE_BYTES, Response, error_body

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from .request import Request

log = logging.getLogger("strato.http.mount")
_TEXT = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form-urlencoded")


class ResponseTooLarge(Exception):
    pass


def _is_text(headers: dict[str, str]) -> bool:
    """Whether a body goes back as text: a textual content type and no content-encoding (gzip is bytes)."""
    if headers.get("content-encoding"):
        return False
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind.startswith(_TEXT) or kind.endswith(("+json", "+xml"))


def _raw(text: str) -> bytes:
    """Text of the event as the bytes ASGI carries: latin-1 as HTTP defines it, UTF-8 for what latin-1
    cannot hold (a client's UTF-8 header value, as API Gateway decodes it), never an error."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


class _Lifespan:
    """The app's lifespan on one loop: started on its first request there, its ``state`` shared with every
    request's scope (what ``lifespan`` yields in FastAPI and Starlette)."""

    def __init__(self, app: Any) -> None:
        self.state: dict[str, Any] = {}
        self.app = app
        self.supported = True
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._started

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._send)
        except (asyncio.CancelledError, GeneratorExit):  # its loop is ending
            raise
        except BaseException as exc:
            if not self._started.done():  # an app without lifespan support raises on the scope: serve it anyway
                log.debug("mounted app has no lifespan (%r)", exc)
                self.supported = False
                self._started.set_result(None)
            else:
                log.exception("mounted app's lifespan failed")
        else:
            if not self._started.done():  # it returned without a word: no lifespan
                self.supported = False
                self._started.set_result(None)

    def shutdown(self, loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> None:
        """Run the app's shutdown on its loop when the process exits (a loop strato owns: the Lambda path),
        rather than leave its task to be destroyed pending."""
        if loop.is_closed() or loop.is_running() or self.task.done() or not self.supported:
            return
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        try:
            loop.run_until_complete(asyncio.wait_for(self.task, timeout))
        except Exception:
            log.exception("mounted app's shutdown failed")

    async def aclose(self, timeout: float = 10.0) -> None:
        """Run the app's shutdown from its own running loop (``strato dev`` stopping)."""
        if self.task.done() or not self.supported:
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.task, timeout)
        except Exception:
            log.exception("mounted app's shutdown failed")

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            self._started.set_result(None)
        elif message["type"] == "lifespan.startup.failed":
            self._started.set_exception(RuntimeError(f"mounted app's startup failed: {message.get('message', '')}"))


class Mount:
    """``api.mount(prefix, app)``: the ASGI app and how requests under ``prefix`` reach it."""

    def __init__(self, prefix: str, app: Any, max_response: int = MAX_RESPONSE_BYTES) -> None:
        prefix = prefix.rstrip("/")
        if not prefix.startswith("/") or "{" in prefix or "}" in prefix:
            raise ConfigurationError(f"mount prefix {prefix!r} must be a literal path such as '/legacy'")
        if not callable(app):
            raise ConfigurationError(f"api.mount({prefix!r}, ...) needs an ASGI app, got {type(app).__name__}")
        self.prefix = prefix
        self.app = app
        self.max_response = max_response
        self._lifespans: dict[Any, asyncio.Future[_Lifespan]] = {}

    def route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        async def asgi_mount(request):  # unannotated: no typed binding to look for
            return await self.call(request)

        asgi_mount.__qualname__ = f"mount {self.prefix} -> {getattr(self.app, '__class__', type(self.app)).__name__}"
        return asgi_mount

    async def lifespan(self) -> _Lifespan:
        """This loop's lifespan, started by the first request (later ones wait for it)."""
        loop = asyncio.get_running_loop()
        found = self._lifespans.get(loop)
        if found is None:
            found = self._lifespans[loop] = loop.create_future()
            lifespan = _Lifespan(self.app)
            try:
                await lifespan.start()
            except BaseException as exc:
                del self._lifespans[loop]
                found.set_exception(exc)
                found.exception()  # retrieved: the next request retries the startup
                raise
            found.set_result(lifespan)
            import atexit

            atexit.register(lifespan.shutdown, loop)
        return await asyncio.shield(found)

    async def aclose(self) -> None:
        """Shut the app down on the running loop, if a request started it there."""
        found = self._lifespans.pop(asyncio.get_running_loop(), None)
        if found is not None and found.done() and not found.exception():
            await found.result().aclose()

    def scope(self, event: dict[str, Any], state: dict[str, Any], context_object: Any = None) -> dict[str, Any]:
        context = event.get("requestContext") or {}
        http = context.get("http") or {}
        headers = event.get("headers") or {}
        raw_path = event.get("rawPath") or "/"
        pairs = [(_raw(k.lower()), _raw(str(v))) for k, v in headers.items() if k != "cookie"]
        if cookies := event.get("cookies"):  # payload 2.0 moves the Cookie header here
            pairs.append((b"cookie", _raw("; ".join(cookies))))
        port = headers.get("x-forwarded-port", "")
        scheme = headers.get("x-forwarded-proto", "https")
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": http.get("method", "GET"),
            "scheme": scheme,
            "path": unquote(raw_path),
            "raw_path": _raw(raw_path),
            "root_path": self.prefix,
            "query_string": _raw(event.get("rawQueryString") or ""),
            "headers": pairs,
            "client": (http.get("sourceIp", ""), 0),
            "server": (context.get("domainName", "localhost"), int(port) if port.isdigit() else 443),
            "state": dict(state),
            "aws.event": event,  # as Mangum gives them: the raw event (claims, request id) and the context
            "aws.context": context_object,
        }

    async def call(self, request: Request) -> Response:
        """One request through the app; its whole response as a Response for the dispatcher to finish."""
        lifespan = await self.lifespan()
        scope = self.scope(request.event, lifespan.state if lifespan.supported else {}, request.context)
        if not lifespan.supported:
            del scope["state"]
        body = request.body
        sent_request = False
        done = asyncio.Event()
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        size = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # the client is there until the response is complete (no early disconnect)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_response:
                    raise ResponseTooLarge()  # and if the app swallows it, the size still says so below
                chunks.append(chunk)
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
            if size > self.max_response:
                raise ResponseTooLarge()
        except ResponseTooLarge:
            log.error(
                "%s %s: the mounted app's response is over %d bytes; API Gateway payload 2.0 buffers a whole "
                "response (Lambda's 6 MB limit), so stream large content from a bucket with a presigned URL",
                scope["method"],
                scope["path"],
                self.max_response,
            )
            out = error_body(500, "Internal Server Error")
            out.headers["x-strato-error"] = f"mounted app's response over {self.max_response} bytes"
            return out
        except Exception:
            if not done.is_set():
                raise  # nothing (whole) was sent: the dispatcher answers 500 and logs it
            log.exception("mounted app raised after its response")  # e.g. Starlette's 500, then the re-raise
        finally:
            done.set()
        if not start:
            raise RuntimeError("the mounted app returned without sending a response")
        return self.response(start, b"".join(chunks))

    @staticmethod
    def response(start: dict[str, Any], body: bytes) -> Response:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for raw_name, raw_value in start.get("headers", []):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "set-cookie":
                cookies.append(value)
            else:
                headers[name] = f"{headers[name]},{value}" if name in headers else value
        out = Response(None, start.get("status", 200), cookies=cookies)
        out.headers = headers
        if body:
            try:
                out.body = body.decode("utf-8") if _is_text(headers) else body
            except UnicodeDecodeError:
                out.body = body
        return out
