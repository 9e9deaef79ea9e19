"""uvicorn's httptools protocol with the bounds of ``http_protocol``: at most ``HEAD_BUFFER`` bytes of an
unfinished head (431), ``header_timeout`` for a whole head counted from the connection or the previous
response (408), ``body_timeout`` between chunks of a body. httptools keeps no limit of its own on a
head, so the bytes of the head in progress are counted here as they arrive.

The clocks cost nothing per request: each phase only records when it began, and one timer per
connection, armed when none is, wakes at the earliest moment a limit could be passed, checks the
phase then and re-arms for what is left (at most one wake per timeout per connection).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .http_protocol import HEAD_BUFFER, _Timer, no_delay

HEAD, BODY, BUSY = "head", "body", "busy"  # waiting for a head, for the rest of a body, for the app


class BoundedHttpToolsProtocol(_Timer, HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_kind = ""
        self._head_bytes = 0  # bytes received since the head in progress began
        self._parsing_head = True  # the parser waits for (the rest of) a request head
        self._phase = HEAD
        self._since = 0.0  # when the phase's clock started (loop time)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
        self._enter(HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._parsing_head:
            self._head_bytes += len(data)
        HttpToolsProtocol.data_received(self, data)  # (not super(): this runs for every request)
        if self.transport.is_closing() or self.parser is None:
            self._disarm()
        elif self._parsing_head and self._head_bytes > HEAD_BUFFER:
            self._refuse(431, b"Request Header Fields Too Large")
        elif self._phase is BODY:  # every arriving chunk restarts the body clock
            self._since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._parsing_head, self._head_bytes = False, 0
        self._enter(BODY)
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        self._parsing_head = True
        self._phase = BUSY  # the handler's turn, not the client's: no clock
        HttpToolsProtocol.on_message_complete(self)

    def on_response_complete(self) -> None:
        HttpToolsProtocol.on_response_complete(self)
        if not self.transport.is_closing() and self._phase is BUSY and self.cycle.response_complete:
            self._enter(HEAD)  # idle until the next head: its clock starts now

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol has its own idle and size rules from here on
        self._phase = BUSY
        super().handle_websocket_upgrade()

    # -- one lazy timer per connection ----------------------------------------------------------
    def _enter(self, phase: str) -> None:
        self._phase, self._since = phase, self.loop.time()
        if self._timer is None:
            self._timer_kind = "watch"
            self._timer = self.loop.call_at(self._since + self._limit(phase), self._check)

    def _limit(self, phase: str) -> float:
        return self.header_timeout if phase is HEAD else self.body_timeout

    def _check(self) -> None:
        self._timer, self._timer_kind = None, ""
        if self._phase is BUSY or self.transport.is_closing():
            return  # re-armed when a head or body is awaited again
        now = self.loop.time()
        if self._phase is BODY and self.flow.read_paused:  # the app is slow to read, not the client to send
            self._since = now
        due = self._since + self._limit(self._phase)
        if now < due:
            self._timer_kind = "watch"
            self._timer = self.loop.call_at(due, self._check)
            return
        self._timer_kind = self._phase  # what _expired reports and acts on
        self._expired()
