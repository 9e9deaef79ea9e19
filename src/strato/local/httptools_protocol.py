"""uvicorn's httptools protocol with the bounds of ``http_protocol``: at most ``HEAD_BUFFER`` bytes of an
unfinished head (431), ``header_timeout`` for a whole head counted from the connection or the previous
response (408), ``body_timeout`` between chunks of a body. httptools keeps no limit of its own on a
head, so the bytes of the head in progress are counted here as they arrive."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .http_protocol import HEAD_BUFFER, _Timer, no_delay


class BoundedHttpToolsProtocol(_Timer, HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_kind = ""
        self._head_bytes = 0  # bytes received since the head in progress began
        self._in_head = True  # the parser waits for (the rest of) a request head
        self._in_body = False  # the parser has a head and waits for the rest of its body

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
        self._arm("head", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing() or self.parser is None:
            self._disarm()
        elif self._in_head and self._head_bytes > HEAD_BUFFER:
            self._refuse(431, b"Request Header Fields Too Large")
        elif self._in_body:  # every arriving chunk restarts the clock
            self._arm("body", self.body_timeout)
        elif self.cycle is not None and not self.cycle.response_complete:  # the handler's turn, not the client's
            self._disarm()
        elif self._timer_kind != "head":
            self._arm("head", self.header_timeout)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes, self._in_body = False, 0, True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._in_body = True, False
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self._in_body or not self.cycle.response_complete:
            return
        if self._timer_kind != "head":  # idle until the next head: its clock starts now
            self._arm("head", self.header_timeout)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol has its own idle and size rules from here on
        super().handle_websocket_upgrade()
