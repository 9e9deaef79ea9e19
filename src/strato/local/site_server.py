"""``strato dev`` serving an app's sites the way S3 + CloudFront will: content types, a strong ETag
(the MD5 S3 gives a single-part upload) and 304s, Cache-Control by name, gzip / Brotli under
CloudFront's rules (with its weak ETag on compressed bodies), single Range requests, the SPA fallback,
a 404 page, and the runtime configuration (``/strato-config.json`` and its ES module).

Precedence beside the HTTP API follows a CloudFront distribution with the API as an origin: a path
some API route matches (any method) goes to the API, as its more specific behaviour would; every
other GET / HEAD under a site's prefix goes to the site, the default (``*``) behaviour on S3."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..app import App
from ..core.config import region
from ..site import Site
from ..site.build import run_build
from ..site.files import cache_control, compressible, content_type, safe_parts
from ..site.settings import meeting_clients, module, settings
from .site_signin import SignIn

CACHED_BYTES = 16 * 1024 * 1024  # files up to this size are kept in memory; larger ones read per request
CHUNK = 256 * 1024
_CONDITIONS = frozenset({b"range", b"accept-encoding", b"if-none-match", b"if-range"})


@dataclass
class Entry:
    """One file as last read: its stat identity, bytes (if small enough) and encodings made so far."""

    stamp: tuple[int, int, int]
    size: int
    etag: str
    ctype: str
    cache: str
    body: bytes | None
    full: str = ""  # the resolved path on disk ("" for generated content)
    encoded: dict[str, bytes] = field(default_factory=dict)

    def encoding(self, name: str) -> bytes:
        if name not in self.encoded:
            assert self.body is not None
            if name == "br":
                import brotli

                self.encoded[name] = brotli.compress(self.body, quality=5)
            else:
                self.encoded[name] = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self.encoded[name]


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _header(scope: dict, wanted: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == wanted:
            return value.decode("latin-1")
    return None


def _accepts(accept: str | None, coding: str) -> bool:
    for part in (accept or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == coding:
            q = params.strip().lower()
            return not (q.startswith("q=") and float(q[2:] or 0) == 0) if q.startswith("q=") else True
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/"x" and "x" match, as 304s for compressed copies need."""
    strong = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == strong for tag in if_none_match.split(","))


def _range(value: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) of one ``bytes=`` range; None to ignore the header (as S3 does with several
    ranges or an unknown unit); "unsatisfiable" for a 416."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if not first_text:
        length = int(last_text)
        return (max(0, size - length), size - 1) if length and size else "unsatisfiable"
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text.isdigit() else size - 1
    if first >= size or (last_text and int(last_text) < first):
        return "unsatisfiable"
    return first, last


class SiteServer:
    """One site's files under ``strato dev``."""

    def __init__(self, app: App, site: Site) -> None:
        self.app = app
        self.site = site
        self.root = os.path.realpath(site.directory)
        self.entries: dict[str, Entry] = {}
        self.prefix_parts = [p for p in site.prefix.split("/") if p]
        self.config_path, self.module_path = site.config_path, site.module_path
        self.signin = SignIn(site) if site.auth is not None else None

    def serve_from(self, directory: str) -> None:
        """Serve another copy of the build (``--reload``'s snapshot of a new build) from the next request."""
        self.root = os.path.realpath(directory)
        self.entries = {}

    def owns(self, path: str) -> bool:
        if not self.prefix_parts:
            return True
        prefix = "/" + "/".join(self.prefix_parts)
        return path == prefix or path.startswith(prefix + "/")

    # -- files ---------------------------------------------------------------------------------------
    def _entry(self, relative: str) -> Entry | None:
        """The file at ``relative`` (inside the root once symlinks are resolved), or None. A file seen
        before is checked with one stat of the path it resolved to (a changed file is read again)."""
        cached = self.entries.get(relative)
        if cached is not None:
            try:
                if _stamp(os.stat(cached.full)) == cached.stamp:
                    return cached
            except OSError:
                pass
            del self.entries[relative]
        full = os.path.realpath(os.path.join(self.root, relative))
        if full != self.root and not full.startswith(self.root + os.sep):
            return None
        try:
            st = os.stat(full)
        except (OSError, ValueError):
            return None
        if not os.path.isfile(full):
            return None
        digest = hashlib.md5(usedforsecurity=False)
        body = None
        with open(full, "rb") as f:
            if st.st_size <= CACHED_BYTES:
                body = f.read()
                digest.update(body)
            else:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        size = len(body) if body is not None else st.st_size
        etag = f'"{digest.hexdigest()}"'
        entry = Entry(_stamp(st), size, etag, content_type(relative), cache_control(relative), body, full)
        self.entries[relative] = entry
        return entry

    def resolve(self, path: str) -> tuple[Entry | None, int]:
        """The file a path names and the status to send it with: the file (200), the SPA's index.html
        for an extension-less path (200), the site's 404.html (404), or nothing (404)."""
        parts = safe_parts(path)
        if parts is None or parts[: len(self.prefix_parts)] != self.prefix_parts:
            return self._entry("404.html"), 404
        parts = parts[len(self.prefix_parts) :]
        relative = "/".join(parts)
        if not parts or path.endswith("/"):
            relative = f"{relative}/index.html".lstrip("/")
        entry = self._entry(relative)
        if entry is not None:
            return entry, 200
        if self.site.spa and (not parts or "." not in parts[-1]):
            index = self._entry("index.html")
            if index is not None:
                return index, 200
        return self._entry("404.html"), 404

    # -- the runtime configuration ----------------------------------------------------------------------
    def runtime_config(self, scope: dict) -> dict[str, Any]:
        host = _header(scope, b"host") or "127.0.0.1"
        secure = scope.get("scheme") in ("https", "wss")
        http_url = f"{'https' if secure else 'http'}://{host}" if self.app._http is not None else None
        ws_scheme = "wss" if secure else "ws"
        pools = {p.name: {"id": p.pool_id, "clientId": p.client_id} for p in self.app.of_kind("user_pool")}
        return settings(
            stage=self.app.config.stage,
            region=region(),
            http_url=http_url,
            websockets={ws.name: f"{ws_scheme}://{host}/ws/{ws.name}" for ws in self.app.of_kind("websocket")},
            pools=pools,
            meetings=meeting_clients(self.app.of_kind("meetings"), deployed=False),
            token_url=self.site.token_path if self.site.auth is not None else None,
        )

    def _generated(self, path: str, scope: dict) -> Entry | None:
        if path == self.config_path:
            body = json.dumps(self.runtime_config(scope), sort_keys=True).encode()
            ctype = "application/json"
        elif path == self.module_path:
            body = module(self.site.config_path).encode()
            ctype = "text/javascript; charset=utf-8"
        else:
            return None
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        return Entry((0, 0, 0), len(body), etag, ctype, "no-cache", body)

    # -- HTTP ----------------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Serve one request, and count it as CloudFront bills it (each request, and the bytes sent)."""
        sent = 0

        async def counted(message: dict) -> None:
            nonlocal sent
            sent += len(message.get("body", b""))
            await send(message)

        if self.signin is None:
            await self._serve(scope, counted)
        elif scope["path"] == self.site.signin_path:
            await self.signin.page(scope, receive, counted)
        elif scope["path"] == self.site.token_path:
            await self.signin.token(scope, counted)
        elif (refreshed := await self.signin.gate(scope, counted)) is not None:
            await self._serve(scope, _adding(counted, refreshed) if refreshed else counted)
        usage = self.app.usage
        usage.add("cloudfront", "https_requests", 1)
        usage.add("cloudfront", "data_out_gb", sent / 1024**3)

    async def _serve(self, scope: dict, send: Any) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed: a site serves GET and HEAD\n", [(b"allow", b"GET, HEAD")])
            return
        path = scope["path"]
        entry = self._generated(path, scope)
        status = 200
        if entry is None:
            entry, status = self.resolve(path)
        if entry is None:
            await _plain(
                send,
                404,
                b"<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n",
                [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-cache")],
            )
            return
        await self._send_entry(scope, send, entry, status, method == "HEAD")

    async def _send_entry(self, scope: dict, send: Any, entry: Entry, status: int, head: bool) -> None:
        headers = [
            (b"content-type", entry.ctype.encode()),
            (b"cache-control", entry.cache.encode()),
            (b"accept-ranges", b"bytes"),
        ]
        body_etag = entry.etag
        coding = None
        found = {k: v.decode("latin-1") for k, v in scope["headers"] if k in _CONDITIONS}
        range_header = found.get(b"range") if status == 200 else None
        can_compress = entry.body is not None and compressible(entry.ctype, entry.size)
        if can_compress:
            headers.append((b"vary", b"Accept-Encoding"))
            if range_header is None and scope.get("http_version") != "1.0":
                accept = found.get(b"accept-encoding")
                coding = "br" if _accepts(accept, "br") else "gzip" if _accepts(accept, "gzip") else None
        if coding is not None:
            body_etag = "W/" + entry.etag  # CloudFront weakens a strong ETag on what it compresses
        headers.append((b"etag", body_etag.encode()))
        inm = found.get(b"if-none-match")
        if status == 200 and inm is not None and _matches(inm, entry.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        first, last = 0, entry.size - 1
        if range_header is not None:
            if_range = found.get(b"if-range")
            wanted = _range(range_header, entry.size) if if_range in (None, entry.etag) else None
            if wanted == "unsatisfiable":
                await _plain(send, 416, b"", [(b"content-range", f"bytes */{entry.size}".encode())])
                return
            if isinstance(wanted, tuple):
                first, last = wanted
                status = 206
                headers.append((b"content-range", f"bytes {first}-{last}/{entry.size}".encode()))
        if coding is not None:
            body = entry.encoding(coding)
            headers.append((b"content-encoding", coding.encode()))
        elif entry.body is not None:
            body = entry.body if (first, last) == (0, entry.size - 1) else entry.body[first : last + 1]
        else:
            await self._stream(send, entry, status, headers, first, last, head)
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    async def _stream(
        self, send: Any, entry: Entry, status: int, headers: list, first: int, last: int, head: bool
    ) -> None:
        """A file too large to keep in memory, read a chunk at a time off the event loop."""
        from starlette.concurrency import run_in_threadpool

        headers.append((b"content-length", str(last - first + 1).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        with open(entry.full, "rb") as f:
            f.seek(first)
            left = last - first + 1
            while left > 0:
                chunk = await run_in_threadpool(f.read, min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
            if left > 0:
                await send({"type": "http.response.body", "body": b""})


def _adding(send: Any, headers: list[tuple[bytes, bytes]]) -> Any:
    """``send`` with ``headers`` added to the response's start (a refreshed token's cookie)."""

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], *headers]}
        await send(message)

    return sending


async def _plain(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    if not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Sites:
    """Every site of an app, and the rule that sends a request to one of them or to the HTTP API."""

    def __init__(self, app: App) -> None:
        self.app = app
        for site in app.of_kind("site"):
            if site.build is not None:
                run_build(site)
        self.servers = sorted(
            (SiteServer(app, site) for site in app.of_kind("site")), key=lambda s: -len(s.prefix_parts)
        )

    def __bool__(self) -> bool:
        return bool(self.servers)

    def pick(self, scope: dict, app: App | None = None) -> SiteServer | None:
        """The site that serves this request, or None for the HTTP API: an API route matching the path
        (with any method) wins, as the API's CloudFront behaviour would; the longest prefix next. ``app``
        is the code serving the request (after a reload of ``strato dev``, its routes decide)."""
        path = scope["path"]
        serving = app or self.app
        if serving._http is not None:
            route, _, allowed = serving._http.router.match(scope["method"], path)
            if route is not None or allowed:
                return None
        return next((server for server in self.servers if server.owns(path)), None)
