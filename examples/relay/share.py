"""The CLI side of the relay protocol, without the terminal: pairing, encryption, reconnects.

``Share`` owns one session: it seals terminal output for every viewer, opens their input, and on
a lost connection reconnects, resumes after the last input it delivered and sends what it could not.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

try:
    from .crypto import Channel, KeyPair, Rejected, key_id, pack, unpack
except ImportError:  # run as a script
    from crypto import Channel, KeyPair, Rejected, key_id, pack, unpack  # type: ignore[no-redef]

log = logging.getLogger("relay")
MAX_RAW = 24 * 1024 * 3 // 4  # bytes of records that fit the 24 KB base64 payload limit
SCROLLBACK = 16 * 1024  # output a viewer gets when it joins


class Share:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        on_input: Callable[[bytes], None],
        on_resize: Callable[[int, int], None] | None = None,
        on_session: Callable[[str, str], None] | None = None,
    ) -> None:
        self.url, self.token = url, token
        self.on_input, self.on_resize, self.on_session = on_input, on_resize, on_session
        self.keys = KeyPair()
        self.channels: dict[bytes, Channel] = {}
        self.session_id: str | None = None
        self.seq = -1
        self.outbox: list[dict[str, Any]] = []  # frames not yet handed to a connection
        self.scrollback = b""
        self.size: tuple[int, int] | None = None
        self.ws: Any = None
        self.closed = asyncio.Event()
        self.connected = asyncio.Event()

    # -- output ----------------------------------------------------------------------------------
    async def output(self, data: bytes) -> None:
        """Terminal output: kept for late viewers, sealed for the current ones, sent in seq order."""
        self.scrollback = (self.scrollback + data)[-SCROLLBACK:]
        if self.channels:
            await self._seal(list(self.channels.values()), data)

    async def _seal(self, channels: list[Channel], data: bytes) -> None:
        chunk = max(256, MAX_RAW // len(channels) - 40)
        for at in range(0, len(data), chunk):
            self.seq += 1
            records = [channel.seal(self.seq, data[at : at + chunk]) for channel in channels]
            self.outbox.append(
                {"action": "send", "sessionId": self.session_id, "seq": self.seq, "payload": pack(records)}
            )
        await self._flush()

    async def resize(self, cols: int, rows: int) -> None:
        self.size = (cols, rows)
        if self.session_id:
            self.outbox.append({"action": "resize", "sessionId": self.session_id, "cols": cols, "rows": rows})
            await self._flush()

    async def _flush(self) -> None:
        while self.outbox and self.ws is not None and self.connected.is_set():
            try:
                await self.ws.send(json.dumps(self.outbox[0]))
            except ConnectionClosed:
                return  # kept: sent again after the reconnect (a duplicate is refused as bad-seq)
            self.outbox.pop(0)

    async def close(self) -> None:
        if self.ws is not None and self.session_id:
            try:
                await self.ws.send(json.dumps({"action": "close", "sessionId": self.session_id}))
            except ConnectionClosed:
                pass
        self.closed.set()

    # -- the connection --------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, pair or resume, relay; reconnect with backoff until closed."""
        delay = 0.2
        while not self.closed.is_set():
            target = self.url + ("&" if "?" in self.url else "?") + "role=cli"
            if self.token:
                target += "&token=" + quote(self.token)
            try:
                async with connect(target, open_timeout=10, max_size=2**20) as ws:
                    self.ws, delay = ws, 0.2
                    await self._start(ws)
                    async for raw in ws:
                        await self._handle(json.loads(raw))
                        if self.closed.is_set():
                            return
            except InvalidStatus as refused:
                if refused.response.status_code in (400, 401, 403):
                    raise
            except (OSError, TimeoutError, EOFError, WebSocketException) as lost:  # a restarting server, too
                log.info("relay connection lost (%s); reconnecting", lost)
            finally:
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)

    async def _start(self, ws: Any) -> None:
        if self.session_id is None:
            await ws.send(json.dumps({"action": "create", "publicKey": self.keys.public_b64}))
            return
        # Each viewer numbers its own frames from 0, and a viewer that joined while we were away has
        # no channel here yet: replay all stored input; frames a channel already delivered are skipped.
        await ws.send(json.dumps({"action": "resume", "sessionId": self.session_id, "after": -1}))
        self.connected.set()
        await self._flush()

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "session":
            self.session_id = frame["sessionId"]
            self.connected.set()
            if self.on_session:
                self.on_session(frame["pairingCode"], frame["sessionId"])
        elif kind == "peer-joined":
            await self._joined(frame["peerPublicKey"])
        elif kind == "peer-left" and frame.get("peerPublicKey"):
            self.channels.pop(key_id(frame["peerPublicKey"]), None)
        elif kind == "data" and frame.get("from") == "web":
            for kid, ciphertext in unpack(frame["payload"]).items():
                channel = self.channels.get(kid)
                if channel and frame["seq"] <= channel.delivered:
                    continue  # replayed by a resume: delivered before the connection was lost
                try:
                    delivered = channel.open(frame["seq"], ciphertext) if channel else []
                except Rejected as rejected:
                    log.warning("dropped a web frame: %s", rejected)
                    continue
                for data in delivered:
                    self.on_input(data)
        elif kind == "resize" and self.on_resize:
            self.on_resize(int(frame["cols"]), int(frame["rows"]))
        elif kind == "closed":
            self.closed.set()
        elif kind == "error":
            log.warning("relay refused a frame: %s %s", frame.get("code"), frame.get("message"))

    async def _joined(self, public_b64: str) -> None:
        kid = key_id(public_b64)
        if kid in self.channels or public_b64 == self.keys.public_b64:
            return  # our own key (after a resume) or a viewer we already serve
        channel = Channel.between(self.keys, "cli", public_b64)
        self.channels[kid] = channel
        if self.size:
            await self.resize(*self.size)
        if self.scrollback:
            await self._seal([channel], self.scrollback)
