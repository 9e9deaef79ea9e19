"""uvicorn's h11 protocol with the bounds API Gateway has and a bare asyncio server lacks.

API Gateway refuses a request line plus headers over 10,240 bytes (HTTP API quota) and does not wait
forever for a client: this protocol reads at most ``HEAD_BUFFER`` bytes of an unfinished head
(h11's ``max_incomplete_event_size``; past it: 431), gives a client ``header_timeout`` seconds to send
a whole request head (counting from the connection or the previous response; past it: 408), and
closes a request whose body stops arriving for ``body_timeout`` seconds. The exact 10,240-byte quota
on a complete head is checked by ``guard`` on the ASGI scope.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_BUFFER = 16 * 1024  # bytes of an unfinished request head held per connection (h11's default)


class BoundedH11Protocol(H11Protocol):
    header_timeout = 10.0
    body_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_kind = ""
        self._upgraded = False  # the transport belongs to the WebSocket protocol: no timer, no 408 on it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
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

    # -- the timer ------------------------------------------------------------------------------
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
        if self.transport.is_closing() or self._upgraded:
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


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY, which asyncio sets on TCP connections but not here: `strato dev` hands uvicorn its
    listener as an fd, which uvicorn wraps as AF_UNIX, so asyncio never sees a TCP socket. Without it a
    response written in two parts (h11: head, then body) waits for the client's delayed ACK: 40 ms per
    request on a kept-alive connection (measured: 21 vs 1,019 req/s on one connection), and a WebSocket
    frame written right after another waits the same."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    try:  # not by sock.family: the wrapper says AF_UNIX whatever the socket is
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # a real Unix socket
        pass


def bounded(header_timeout: float, body_timeout: float) -> type[BoundedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, with these timeouts."""
    return type(
        "BoundedH11Protocol",
        (BoundedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
