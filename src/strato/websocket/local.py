"""The local WebSocket provider: sends go straight to the gateway when it runs in this process
(`strato dev`), and otherwise to its ``@connections`` management endpoint over HTTP (`strato worker`,
scripts), exactly as a Lambda function posts to API Gateway's management API."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from ..core.context import ProviderServices
from ..core.errors import GoneError, ServiceUnavailable, StratoError

if TYPE_CHECKING:
    from . import WebSocketApi


class Gateway(Protocol):
    """What this provider uses of the WebSocket gateway of `strato dev` (``local.ws_gateway``) when it
    runs in this process: thread-safe sends into its event loop."""

    def send_threadsafe(self, connection_id: str, raw: bytes, text: bool) -> None: ...
    def broadcast_threadsafe(self, ids: list[str], raw: bytes, text: bool) -> list[str]: ...
    def close_threadsafe(self, connection_id: str) -> None: ...
    def open_ids(self) -> list[str]: ...


# (data dir, api name) -> the gateway serving it in this process
_GATEWAYS: dict[tuple[str, str], Gateway] = {}
_lock = threading.Lock()


def register_gateway(data_dir: Path, name: str, gateway: Gateway) -> None:
    with _lock:
        _GATEWAYS[(str(Path(data_dir).resolve()), name)] = gateway


def unregister_gateway(data_dir: Path, name: str) -> None:
    with _lock:
        _GATEWAYS.pop((str(Path(data_dir).resolve()), name), None)


class LocalWsBackend:
    capabilities = frozenset({"send", "broadcast", "info", "close", "binary"})

    def __init__(self, ws: WebSocketApi, data_dir: Path) -> None:
        self.ws = ws
        self.data_dir = Path(data_dir)
        self._key: tuple[str, str] | None = None  # resolved once: a send must not stat the path each time

    @property
    def gateway(self) -> Gateway | None:
        if self._key is None:
            self._key = (str(self.data_dir.resolve()), self.ws.name)
        return _GATEWAYS.get(self._key)

    def _base(self) -> str:
        from ..runtime.devurl import dev_url

        return f"{dev_url(self.data_dir)}/_strato/ws/{quote(self.ws.name)}"

    def client_url(self) -> str:
        from ..runtime.devurl import dev_url

        return dev_url(self.data_dir).replace("http://", "ws://", 1) + f"/ws/{self.ws.name}"

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        from ..runtime.devsecret import internal_headers

        headers = {"content-type": "application/octet-stream", **internal_headers(self.data_dir)}
        request = urllib.request.Request(self._base() + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = response.read()
                return json.loads(payload) if payload else None
        except urllib.error.HTTPError as exc:
            if exc.code == 410:
                raise GoneError(f"connection is gone ({path})") from None
            if exc.code == 429:  # LimitExceededException: the client's buffer is full
                raise ServiceUnavailable(
                    f"websocket post {path} throttled: {exc.read().decode(errors='replace')}"
                ) from None
            raise StratoError(f"websocket management call {method} {path} failed: HTTP {exc.code}") from None
        except OSError as exc:
            raise ServiceUnavailable(
                f"cannot reach the strato dev server at {self._base()} to post to a "
                f"WebSocket connection ({exc}); is `strato dev` running?"
            ) from None

    def send(self, connection_id: str, raw: bytes, text: bool) -> None:
        gateway = self.gateway
        if gateway is not None:
            gateway.send_threadsafe(connection_id, raw, text)
        else:
            self._call("POST", f"/@connections/{quote(connection_id, safe='')}", raw)

    def broadcast(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        gateway = self.gateway
        if gateway is not None:
            return gateway.broadcast_threadsafe(ids, raw, text)
        body = json.dumps({"ids": ids, "data": base64.b64encode(raw).decode(), "text": text}).encode()
        return self._call("POST", "/@broadcast", body)["gone"]

    def broadcast_batch(self, messages: list[tuple[list[str], bytes, bool]]) -> list[str]:
        """Each (ids, raw, text) in order; from another process in one request to the dev server."""
        gateway = self.gateway
        if gateway is not None:
            return sorted({g for ids, raw, text in messages for g in gateway.broadcast_threadsafe(ids, raw, text)})
        batch = [{"ids": ids, "data": base64.b64encode(raw).decode(), "text": text} for ids, raw, text in messages]
        return self._call("POST", "/@broadcast", json.dumps({"batch": batch}).encode())["gone"]

    def broadcast_all(self, raw: bytes, text: bool) -> int | None:
        """Send to every open connection when the gateway runs in this process (None: it does not)."""
        gateway = self.gateway
        if gateway is None:
            return None
        ids = gateway.open_ids()
        return len(ids) - len(gateway.broadcast_threadsafe(ids, raw, text))

    def learn_endpoint(self, event: dict[str, Any]) -> None:
        """Nothing to learn locally: sends go to the running dev server."""

    def close(self, connection_id: str) -> None:
        gateway = self.gateway
        if gateway is not None:
            gateway.close_threadsafe(connection_id)
        else:
            self._call("DELETE", f"/@connections/{quote(connection_id, safe='')}")


def open_backend(ws: WebSocketApi, services: ProviderServices) -> LocalWsBackend:
    """The registry's factory: sends go to the running dev server's @connections endpoint."""
    return LocalWsBackend(ws, services.config.data_dir)
