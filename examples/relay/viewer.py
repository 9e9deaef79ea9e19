"""A viewer in Python (what the browser does, for tests and benchmarks): pair, decrypt, type."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import connect

try:
    from .crypto import Channel, KeyPair, key_id, pack, unpack
except ImportError:  # run as a script
    from crypto import Channel, KeyPair, key_id, pack, unpack  # type: ignore[no-redef]


class Viewer:
    def __init__(self, url: str, *, token: str | None = None) -> None:
        query = "role=web" + (f"&token={token}" if token else "")
        target = url + ("&" if "?" in url else "?") + query
        self.ws = connect(target, open_timeout=15, max_size=2**20).__enter__()  # closed by close()
        self.keys = KeyPair()
        self.channel: Channel | None = None
        self.session_id: str | None = None
        self.seq = -1
        self.frames: list[dict[str, Any]] = []  # everything else the server sent

    def join(self, *, code: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        which = {"pairingCode": code} if code else {"sessionId": session_id}
        self.ws.send(json.dumps({"action": "join", **which, "publicKey": self.keys.public_b64}))
        answer = json.loads(self.ws.recv(timeout=15))
        if answer.get("type") == "joined":
            self.session_id = answer["sessionId"]
            self.channel = Channel.between(self.keys, "web", answer["peerPublicKey"])
        return answer

    def type(self, data: bytes) -> None:
        assert self.channel is not None, "join first"
        self.seq += 1
        payload = pack([self.channel.seal(self.seq, data)])
        self.ws.send(json.dumps({"action": "send", "sessionId": self.session_id, "seq": self.seq, "payload": payload}))

    def read(self, timeout: float) -> bytes:
        """Decrypted output that arrives within ``timeout`` seconds (in order; maybe empty)."""
        assert self.channel is not None, "join first"
        out = b""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                break
            if frame.get("type") != "data":
                self.frames.append(frame)
                continue
            mine = unpack(frame["payload"]).get(key_id(self.keys.public_b64))
            if mine is not None:
                out += b"".join(self.channel.open(frame["seq"], mine))
                if out:
                    return out
        return out

    def read_until(self, needle: bytes, timeout: float = 20) -> bytes:
        seen = b""
        deadline = time.monotonic() + timeout
        while needle not in seen and time.monotonic() < deadline:
            seen += self.read(deadline - time.monotonic())
        if needle not in seen:
            raise AssertionError(f"{needle!r} not seen; got {seen[-500:]!r}")
        return seen

    def close(self) -> None:
        self.ws.close()
