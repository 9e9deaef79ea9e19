"""Who may talk to ``strato dev``: the Host check (against DNS rebinding) and the internal secret.

A web page can make a browser send requests to 127.0.0.1 (a form or ``fetch`` with ``text/plain``
needs no preflight), and a DNS name the page's owner rebinds to 127.0.0.1 makes them same-origin.
So every request whose Host is not a loopback name or address, or one the user allowed
(``strato dev --allow-host NAME``, ``STRATO_ALLOWED_HOSTS``), is refused with 403; and every
internal endpoint but the ones AWS serves publicly needs the data dir's secret
(:mod:`strato.runtime.devsecret`), where AWS would need credentials.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..runtime.devsecret import HEADER, internal_secret

# public as on AWS: health, presigned objects (their signature is the credential), JWKS, the SNS
# signing certificate and SubscribeURL, the meetings client and signalling (it checks join tokens);
# the API's OpenAPI document and docs page (they describe routes served to all; see local.api_docs);
# the console's page and assets (a browser cannot send a header to open a page: only this origin can read
# it, and its API needs the secret; see strato.console.page)
PUBLIC = re.compile(
    r"^/_strato/(health|buckets/.*|auth/[^/]+/\.well-known/jwks\.json|sns/signing-cert\.pem|sns/confirm"
    r"|meetings/client\.js|meetings/[^/]+/signal|openapi\.json|docs|docs/[a-z.-]+"
    r"|console|console/assets/[A-Za-z0-9_.-]+)$"
)
HEAD_LIMIT = 10_240  # API Gateway's quota on the request line plus header values, in bytes
# Starlette's TestClient calls the ASGI app in-process: no socket, so no browser and no rebinding
_IN_PROCESS = ("testserver", "testclient")


def head_size(scope: dict) -> int:
    """The request line plus header values, as API Gateway counts them against ``HEAD_LIMIT``."""
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    line = len(scope.get("method", "GET")) + 1 + target + 1 + len(b"HTTP/1.1")
    return line + sum(len(value) for _, value in scope.get("headers", []))


def configured_hosts(extra: Iterable[str] = ()) -> frozenset[str]:
    """The names the user allowed: ``extra`` plus the comma-separated ``STRATO_ALLOWED_HOSTS``."""
    names = [*extra, *os.environ.get("STRATO_ALLOWED_HOSTS", "").split(",")]
    return frozenset(n.strip().lower().rstrip(".") for n in names if n.strip())


def host_name(value: str) -> str:
    """The name part of a Host header (no port, no IPv6 brackets), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(name: str) -> bool:
    if name.rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Guard:
    def __init__(self, data_dir: Path, allowed_hosts: Iterable[str] = ()) -> None:
        self.secret = internal_secret(Path(data_dir)).encode()  # created now: the worker reads it
        self.allowed = configured_hosts(allowed_hosts)
        self._known: dict[bytes, bool] = {}  # Host header value -> loopback or allowed

    def host_ok(self, scope: dict) -> bool:
        hosts = [v for k, v in scope.get("headers", []) if k == b"host"]
        if not hosts:
            return True  # browsers always send a Host; a request without one is from a local tool
        if len(hosts) > 1:
            return False
        allowed = self._known.get(hosts[0])
        if allowed is None:
            name = host_name(hosts[0].decode("latin-1"))
            allowed = is_loopback(name) or name.rstrip(".") in self.allowed
            if len(self._known) < 256:  # the same few Host values on every request; a bounded memo of them
                self._known[hosts[0]] = allowed
        if allowed:
            return True
        client = scope.get("client") or ("", 0)
        return (host_name(hosts[0].decode("latin-1")), client[0]) == _IN_PROCESS

    def secret_ok(self, scope: dict) -> bool:
        if PUBLIC.match(scope["path"]):
            return True
        offered = next((v for k, v in scope.get("headers", []) if k == HEADER.encode()), b"")
        return hmac.compare_digest(offered, self.secret)

    def refusal(self, scope: dict) -> tuple[int, str] | None:
        """(status, why) for a request to refuse, None to serve it."""
        if head_size(scope) > HEAD_LIMIT:
            return 431, f"Request Header Fields Too Large: request line and headers over {HEAD_LIMIT} bytes"
        if not self.host_ok(scope):
            return 403, "Forbidden: this Host is not allowed (strato dev --allow-host NAME)"
        if scope["path"].startswith("/_strato/") and not self.secret_ok(scope):
            return 403, f"Forbidden: this endpoint needs the {HEADER} header (see <data dir>/internal-secret)"
        return None


async def refuse(scope: dict, receive: Any, send: Any, status: int, why: str) -> None:
    body = f'{{"message": "{why}"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
