"""A small Telegram Bot API client: JSON over one kept-alive HTTP/1.1 connection per thread, retried with
backoff on 429 and 5xx, honouring the ``retry_after`` Telegram sends with a 429.

Standard library only (socket, ssl), so the Lambda package needs nothing extra. Telegram's error
body is ``{"ok": false, "error_code": 429, "description": ..., "parameters": {"retry_after": N}}``
(https://core.telegram.org/bots/api#responseparameters)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BASE = "https://api.telegram.org"


class BotApiError(Exception):
    """A Bot API call that failed; ``retryable`` for 429 / 5xx / network errors (``retry_after`` seconds
    when Telegram said how long to wait)."""

    def __init__(self, message: str, *, status: int | None, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class BotAPI:
    """``call(method, payload)`` -> the ``result``; ``attempts`` tries in all, sleeping ``retry_after``
    (capped at ``max_wait``) or an exponential backoff between them."""

    def __init__(
        self,
        token: str,
        base: str = DEFAULT_BASE,
        *,
        attempts: int = 4,
        backoff: float = 0.2,
        max_wait: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(base.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"TELEGRAM_API_BASE must be an http(s) URL, not {base!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.authority = parts.netloc.rpartition("@")[2]  # the Host header: host[:port]
        self.prefix = f"{parts.path}/bot{token}"
        self.attempts, self.backoff, self.max_wait, self.timeout = attempts, backoff, max_wait, timeout
        self._local = threading.local()

    @classmethod
    def from_env(cls, **kwargs: Any) -> BotAPI:
        return cls(os.environ.get("BOT_TOKEN", ""), os.environ.get("TELEGRAM_API_BASE", DEFAULT_BASE), **kwargs)

    def send_message(self, chat_id: int, text: str) -> Any:
        return self.call("sendMessage", {"chat_id": chat_id, "text": text})

    def call(self, method: str, payload: dict[str, Any], *, attempts: int | None = None) -> Any:
        tries = attempts or self.attempts
        for attempt in range(1, tries + 1):
            try:
                return self._once(method, payload)
            except BotApiError as exc:
                if not exc.retryable or attempt == tries:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(wait, self.max_wait))
        raise AssertionError("unreachable")

    # -- one request -----------------------------------------------------------------------------
    def _connection(self) -> tuple[socket.socket, Any, bool]:
        """(socket, its reader, reused): this thread's kept-alive connection, or a new one."""
        held = getattr(self._local, "conn", None)
        if held is not None:
            return held[0], held[1], True
        port = self.port or (443 if self.scheme == "https" else 80)
        sock = socket.create_connection((self.host, port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.scheme == "https":
            import ssl  # only for the real Bot API

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self._local.conn = (sock, sock.makefile("rb"))
        return sock, self._local.conn[1], False

    def _drop(self) -> None:
        held, self._local.conn = getattr(self._local, "conn", None), None
        if held is not None:
            held[1].close()
            held[0].close()

    def _exchange(self, method: str, body: bytes) -> tuple[int, bytes]:
        """One POST and its answer over HTTP/1.1. Head and body leave in one write (http.client makes
        two, and parses the answer's head with the email package: most of a call's CPU)."""
        head = (
            f"POST {self.prefix}/{method} HTTP/1.1\r\nHost: {self.authority}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        for fresh in (False, True):
            sock, reader, reused = self._connection()
            try:
                sock.sendall(head + body)
                status_line = reader.readline(65537)
            except (ConnectionResetError, BrokenPipeError):
                if fresh or not reused:
                    raise
                status_line = b""  # a kept-alive connection the server had closed: reset, not an empty read
            if status_line or fresh or not reused:
                break
            self._drop()  # the server closed the idle kept-alive connection before reading: send again
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP response: {status_line[:100]!r}")
        length, chunked, close = None, False, parts[0] == b"HTTP/1.0"
        while (line := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            chunks = []
            while size := int(reader.readline(65537).split(b";")[0], 16):
                chunks.append(reader.read(size))
                reader.readline(65537)
            while reader.readline(65537) not in (b"\r\n", b"\n", b""):  # trailers
                pass
            raw = b"".join(chunks)
        elif length is not None:
            raw = reader.read(length)
            if len(raw) < length:
                raise ValueError(f"the answer ended after {len(raw)} of {length} bytes")
        else:
            raw, close = reader.read(), True
        if close:
            self._drop()
        return int(parts[1]), raw

    def _once(self, method: str, payload: dict[str, Any]) -> Any:
        try:
            status, raw = self._exchange(method, json.dumps(payload).encode())
        except (OSError, ValueError) as exc:
            self._drop()  # a dropped keep-alive connection: open a new one next time
            raise BotApiError(f"{method}: {exc!r}", status=None, retryable=True) from exc
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if status == 200 and isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        params = data.get("parameters") if isinstance(data, dict) else None
        retry_after = params.get("retry_after") if isinstance(params, dict) else None
        description = data.get("description") if isinstance(data, dict) else None
        raise BotApiError(
            f"{method}: HTTP {status} {description or raw[:200]!r}",
            status=status,
            retryable=status == 429 or status >= 500,
            retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
        )
