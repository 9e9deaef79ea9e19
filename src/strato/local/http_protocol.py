"""uvicorn's HTTP protocols (httptools when installed, else h11) with the bounds API Gateway has and a
bare asyncio server lacks.

API Gateway refuses a request line plus headers over 10,240 bytes (HTTP API quota) and does not wait
forever for a client: this protocol reads at most ``HEAD_BUFFER`` bytes of an unfinished head
(h11's ``max_incomplete_event_size``; past it: 431), gives a client ``header_timeout`` seconds to send
a whole request head (counting from the connection or the previous response; past it: 408), and
closes a request whose body stops arriving for ``body_timeout`` seconds. The exact 10,240-byte quota
on a complete head is checked by ``guard`` on the ASGI scope. httptools (``uvicorn[standard]``, a
dependency of ``strato[dev]``) parses a request in C at about twice h11's rate, so it is used when
present; h11 remains the fallback with the same bounds.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_BUFFER = 16 * 1024  # bytes of an unfinished request head held per connection (h11's default)


def no_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on a connection: uvicorn takes ``strato dev``'s listening socket by fd as a Unix socket,
    so neither asyncio nor uvloop sets it, and a response head and body written apart would each wait
    for the client's delayed ACK (40 ms a request under keep-alive)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (a Unix socket a caller passed in)
            pass


class _Timer:
    """The head / body clock both protocols share; the subclass says when to arm which."""

    header_timeout = 10.0
    body_timeout = 30.0
    _timer: asyncio.TimerHandle | None
    _timer_kind: str
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    flow: Any
    cycle: Any
    logger: Any
    client: Any

    def _arm(self, kind: str, seconds: float) -> None:
        self._disarm()
        self._timer_kind = kind
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_kind = None, ""

    def _expired(self) -> None:
        kind, self._timer, self._timer_kind = self._timer_kind, None, ""
        if self.transport.is_closing():
            return
        if kind == "body" and self.flow.read_paused:  # the app is slow to read, not the client to send
            self._arm("body", self.body_timeout)
            return
        self.logger.info(
            "closing a connection of %s: %s too slow", self.client, "request head" if kind == "head" else "body"
        )
        if kind == "head" or self.cycle is None or not self.cycle.response_started:  # nothing sent yet
            self._refuse(408, b"Request Timeout")
        else:
            self.transport.close()

    def _refuse(self, status: int, reason: bytes) -> None:
        self._disarm()
        head = b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        self.transport.write(head % (status, reason, len(reason)) + reason)
        self.transport.close()


class BoundedH11Protocol(_Timer, H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_kind = ""
        self._upgraded = False  # the transport belongs to the WebSocket protocol: no timer, no 408 on it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
        self._arm("head", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._upgraded:  # h11 still says SEND_BODY (it never saw the upgrade request end): arm nothing
            return
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:  # waiting for (the rest of) a request head
            if self._timer_kind != "head":
                self._arm("head", self.header_timeout)
        elif self.conn.their_state is h11.SEND_BODY:  # every arriving chunk restarts the clock
            self._arm("body", self.body_timeout)
        else:
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the WebSocket protocol has its own idle and size rules from here on
        self._upgraded = True
        super().handle_websocket_upgrade(event)

    def send_400_response(self, msg: str) -> None:
        if len(self.conn.trailing_data[0]) > HEAD_BUFFER:  # h11 gave up on a head that never ended
            self._refuse(431, b"Request Header Fields Too Large")
            return
        super().send_400_response(msg)


def bounded(header_timeout: float, body_timeout: float, fast: bool | None = None) -> type[asyncio.Protocol]:
    """The protocol class uvicorn instantiates per connection, with these timeouts: httptools' when it is
    installed and ``fast`` (default: unless ``STRATO_DEV_HTTP=h11``), else h11's."""
    base: type[asyncio.Protocol] = BoundedH11Protocol
    if fast if fast is not None else os.environ.get("STRATO_DEV_HTTP", "").lower() != "h11":
        try:
            from .httptools_protocol import BoundedHttpToolsProtocol
        except ImportError:  # strato without uvicorn[standard]'s httptools
            pass
        else:
            base = BoundedHttpToolsProtocol
    return type(base.__name__, (base,), {"header_timeout": header_timeout, "body_timeout": body_timeout})
