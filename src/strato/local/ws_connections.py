"""The calls handlers and other processes make on a gateway's live connections, API Gateway's
``@connections`` API: post to one (or many), get its info, close it; from any thread, or from an async
handler on the gateway's own loop without blocking it.

A post from a handler thread is checked there (a closed connection is ``GoneError``, a client whose
socket buffer is full is API Gateway's LimitExceededException, ``ServiceUnavailable``) and queued on the
gateway's outbox: the thread does not wait for the loop, and posts are written in the order they were made.

Mixed into ``WsGateway`` (ws_gateway.py), which owns the connections' life cycle."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..core.errors import GoneError, ServiceUnavailable
from .ws_dispatch import SEND_BUFFER_LIMIT, Outbox

if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    from .ws_gateway import LiveConnection

log = logging.getLogger("strato.ws")


class ConnectionsApi:
    """Needs the gateway's ``connections``, ``loop``, ``ws`` and its ``_write`` / ``_send`` / ``_close``."""

    if TYPE_CHECKING:
        connections: dict[str, LiveConnection]
        loop: asyncio.AbstractEventLoop | None
        outbox: Outbox | None

        @property
        def ws(self) -> Any: ...

        def _write(self, conn: LiveConnection, protocol: WebSocketsSansIOProtocol, raw: bytes, text: bool) -> None: ...

        async def _send(self, conn: LiveConnection, raw: bytes, text: bool) -> None: ...

        async def _close(self, conn: LiveConnection, code: int, reason: str) -> None: ...

        def _deliver(self, conn: LiveConnection, raw: bytes, text: bool) -> None: ...

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

    def _post(self, conn: LiveConnection, raw: bytes, text: bool) -> None:
        """Queue a write to ``conn`` on the loop (from any thread; posts keep their order)."""
        if self.outbox is None:
            raise GoneError("no connection has been opened on this gateway")
        self.outbox.post(self._deliver, conn, raw, text)

    def _ready(self, connection_id: str) -> LiveConnection:
        """The open connection a post may go to, checked on the posting thread."""
        conn = self._open(connection_id)
        protocol = conn.protocol
        if protocol is not None:
            if protocol.close_sent or protocol.transport.is_closing():
                raise GoneError(f"connection {connection_id!r} of websocket {self.ws.name!r} is gone (closing)")
            if protocol.transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
                raise ServiceUnavailable(
                    f"connection {connection_id!r} of websocket {self.ws.name!r} is not reading: over "
                    f"{SEND_BUFFER_LIMIT} bytes wait in its buffer (API Gateway's LimitExceededException, "
                    "'the WebSocket client side buffer is full')"
                )
        return conn

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def send_threadsafe(self, connection_id: str, raw: bytes, text: bool) -> None:
        conn = self._ready(connection_id)
        if self._on_loop():  # an async handler on the gateway's loop: write now (in order with the rest)
            self._deliver(conn, raw, text)
        else:
            self._post(conn, raw, text)

    def broadcast_threadsafe(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        """Post to each open connection of ``ids``; returns those that are gone. A connection whose buffer
        is full is not posted to and, once the others were, raises ``ServiceUnavailable`` (as the AWS
        backend's broadcast raises a throttled post's error after the rest went out)."""
        gone, ready, full = [], [], []
        for connection_id in ids:
            try:
                ready.append(self._ready(connection_id))
            except GoneError:
                gone.append(connection_id)
            except ServiceUnavailable as exc:
                full.append(exc)
        if ready:
            if self._on_loop():
                self._deliver_all(ready, raw, text)
            elif self.outbox is not None:
                self.outbox.post(self._deliver_all, ready, raw, text)
        if full:
            raise full[0]
        return gone

    def _deliver_all(self, conns: list[LiveConnection], raw: bytes, text: bool) -> None:
        for conn in conns:
            self._deliver(conn, raw, text)

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
