"""The calls handlers and other processes make on a gateway's live connections, API Gateway's
``@connections`` API: post to one (or many), get its info, close it; from any thread, or from an async
handler on the gateway's own loop without blocking it.

Mixed into ``WsGateway`` (ws_gateway.py), which owns the connections' life cycle."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..core.errors import GoneError

if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    from .ws_gateway import LiveConnection

log = logging.getLogger("strato.ws")


class ConnectionsApi:
    """Needs the gateway's ``connections``, ``loop``, ``ws`` and its ``_write`` / ``_send`` / ``_close``."""

    if TYPE_CHECKING:
        connections: dict[str, LiveConnection]
        loop: asyncio.AbstractEventLoop | None

        @property
        def ws(self) -> Any: ...

        def _write(self, conn: LiveConnection, protocol: WebSocketsSansIOProtocol, raw: bytes, text: bool) -> None: ...

        async def _send(self, conn: LiveConnection, raw: bytes, text: bool) -> None: ...

        async def _close(self, conn: LiveConnection, code: int, reason: str) -> None: ...

    def _open(self, connection_id: str) -> LiveConnection:
        conn = self.connections.get(connection_id)
        if conn is None or conn.state != "open":
            raise GoneError(
                f"connection {connection_id!r} of websocket {self.ws.name!r} is gone "
                f"({'still connecting' if conn else 'closed or unknown'})"
            )
        return conn

    def _run(self, coro: Any) -> Any:
        if self.loop is None:
            coro.close()
            raise GoneError("no connection has been opened on this gateway")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # called from an async handler on the gateway's loop: do not block it
            future = asyncio.ensure_future(coro)
            future.add_done_callback(_retrieve)
            return future
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def send_threadsafe(self, connection_id: str, raw: bytes, text: bool) -> None:
        self._run(self._send(self._open(connection_id), raw, text))

    async def _broadcast(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        gone = []
        slow = []
        for connection_id in ids:
            conn = self.connections.get(connection_id)
            if conn is None or conn.state != "open":
                gone.append(connection_id)
            elif conn.protocol is None:
                slow.append(conn)
            else:
                try:
                    self._write(conn, conn.protocol, raw, text)
                except GoneError:
                    gone.append(connection_id)
        results = await asyncio.gather(*(self._send(c, raw, text) for c in slow), return_exceptions=True)
        return gone + [c.id for c, r in zip(slow, results, strict=True) if isinstance(r, Exception)]

    def broadcast_threadsafe(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        result = self._run(self._broadcast(ids, raw, text))
        return result if isinstance(result, list) else []

    def open_ids(self) -> list[str]:
        return [c.id for c in list(self.connections.values()) if c.state == "open"]

    async def close_all(self, code: int, reason: str, wait: float = 10.0) -> None:
        """Close every connection (their $disconnect runs) and wait up to ``wait`` seconds for them to go."""
        for conn in list(self.connections.values()):
            await self._close(conn, code, reason)
        deadline = time.monotonic() + wait
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def close_threadsafe(self, connection_id: str) -> None:
        self._run(self._close(self._open(connection_id), 1000, "Closed by the application"))

    def info(self, connection_id: str) -> dict[str, Any]:
        conn = self._open(connection_id)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(conn.connected_at))
        return {
            "ConnectedAt": f"{iso}Z",
            "Identity": {"SourceIp": conn.source_ip, "UserAgent": conn.user_agent},
            "LastActiveAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(conn.last_active)),
        }


def _retrieve(future: asyncio.Future) -> None:
    """Collect the outcome of a send nobody awaits: a connection gone meanwhile is routine, not an
    'exception was never retrieved' in the log."""
    if future.cancelled():
        return
    exc = future.exception()
    if isinstance(exc, GoneError):
        log.debug("%s", exc)
    elif exc is not None:
        log.warning("websocket send failed: %r", exc)
