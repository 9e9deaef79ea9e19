"""API Gateway's WebSocket frame limit on the wire: uvicorn's protocol, refusing frames over 32 KB."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..websocket import FRAME_LIMIT


class AwsLimitsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, refusing frames over API Gateway's 32 KB with close code 1009."""

    frame_limit = FRAME_LIMIT

    def _frame_ok(self, event: Any) -> bool:
        if len(event.data) <= self.frame_limit:
            return True
        self.frames = []
        if not self.close_sent:
            self.conn.send_close(1009, "Message too big")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1009, "reason": "Message too big"})
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        return False

    def handle_text(self, event: Any) -> None:
        if self._frame_ok(event):
            super().handle_text(event)

    def handle_bytes(self, event: Any) -> None:
        if self._frame_ok(event):
            super().handle_bytes(event)

    def handle_cont(self, event: Any) -> None:
        if self._frame_ok(event):
            super().handle_cont(event)
