"""A fake Telegram Bot API for tests, benchmarks and offline development: a real HTTP server on a free
127.0.0.1 port that records every call and can answer the next calls with 429 + ``retry_after``
(or any status), as Telegram does (https://core.telegram.org/bots/api#making-requests).

    with FakeBotAPI() as fake:          # TELEGRAM_API_BASE=fake.url
        fake.fail_next(1, 429, retry_after=1)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    token: str
    method: str
    payload: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


class FakeBotAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._failures: list[tuple[int, float | None]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as api.telegram.org
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                token, _, method = self.path.lstrip("/").partition("/")
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"_raw": raw.decode(errors="replace")}
                status, body = fake._answer(Call(token.removeprefix("bot"), method, payload))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def fail_next(self, count: int, status: int = 429, *, retry_after: float | None = None) -> None:
        """Answer the next ``count`` calls with ``status`` (and ``parameters.retry_after`` if given)."""
        with self._lock:
            self._failures += [(status, retry_after)] * count

    def _answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        with self._changed:
            status, retry_after = self._failures.pop(0) if self._failures else (200, None)
            call.status = status
            self.calls.append(call)
            self._changed.notify_all()
        if status == 200:
            result = {"message_id": len(self.calls), "chat": {"id": call.payload.get("chat_id")}}
            return 200, {"ok": True, "result": result if call.method == "sendMessage" else True}
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": f"fake error {status}"}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return status, body

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Delivered sendMessage calls (status 200), to one chat or all."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "sendMessage"
                and c.status == 200
                and (chat_id is None or c.payload.get("chat_id") == chat_id)
            ]

    def wait_for(self, chat_id: int, count: int = 1, timeout: float = 15.0) -> list[Call]:
        """The chat's first ``count`` delivered messages, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    c
                    for c in self.calls
                    if c.method == "sendMessage" and c.status == 200 and c.payload.get("chat_id") == chat_id
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"chat {chat_id}: {len(found)} of {count} messages after {timeout}s: {found}")
                self._changed.wait(left)
