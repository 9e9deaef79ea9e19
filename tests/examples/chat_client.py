"""A chat user for tests and benchmarks: signs up through the HTTP API (the code from the outbox),
then talks JSON frames over real WebSockets to `strato dev examples/chat/app.py`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

APP = "examples/chat/app.py"
PASSWORD = "Corr3ct-horse!"


def outbox_code(data_dir: Path, email: str) -> str:
    """The verification code the local pool 'mailed' to ``email`` (what the user reads in the mail)."""
    import strato

    pool = strato.App("chat", data_dir=data_dir).user_pool("users")
    for mail in reversed(pool.outbox()):
        if mail["destination"] == email:
            return mail["message"].split()[-1]
    raise AssertionError(f"no mail to {email}")


def sign_up(http: httpx.Client, data_dir: Path, email: str, name: str) -> dict:
    """Sign up, confirm with the mailed code, sign in: the login answer (tokens and userId)."""
    assert http.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": name}).status_code == 201
    confirmed = http.post("/auth/confirm", json={"email": email, "code": outbox_code(data_dir, email)})
    assert confirmed.status_code == 200, confirmed.text
    login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()


class Tab:
    """One browser tab's WebSocket: actions out, frames in (waiting for a kind, skipping the rest)."""

    def __init__(self, base_url: str, token: str) -> None:
        ws_url = base_url.replace("http://", "ws://")
        self.ws: ClientConnection = connect(f"{ws_url}/ws/chat?token={token}", open_timeout=15).__enter__()
        self.seen: list[dict] = []

    def act(self, action: str, **fields: Any) -> None:
        self.ws.send(json.dumps({"action": action, **fields}))

    def recv(self, timeout: float = 10) -> dict:
        frame = json.loads(self.ws.recv(timeout=timeout))
        self.seen.append(frame)
        return frame

    def expect(self, kind: str, timeout: float = 10, **match: Any) -> dict:
        """The next frame of type ``kind`` whose fields equal ``match`` (others are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} {match}; saw {self.seen[-10:]}")
            frame = self.recv(left)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def quiet(self, kind: str, timeout: float = 0.5) -> None:
        """No frame of type ``kind`` arrives within ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.recv(left)
            except TimeoutError:
                return
            assert frame.get("type") != kind, f"unexpected {frame}"

    def close(self) -> None:
        self.ws.close()
