"""A small Telegram Bot API client: JSON over one kept-alive connection per thread, retried with
backoff on 429 and 5xx, honouring the ``retry_after`` Telegram sends with a 429.

Standard library only (http.client), so the Lambda package needs nothing extra. Telegram's error
body is ``{"ok": false, "error_code": 429, "description": ..., "parameters": {"retry_after": N}}``
(https://core.telegram.org/bots/api#responseparameters)."""

from __future__ import annotations

import http.client
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
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            conn = self._local.conn = kind(self.host, self.port, timeout=self.timeout)
            conn.connect()
            # http.client may write headers and body separately: without TCP_NODELAY, Nagle holds the
            # second write until the first is ACKed, and a delayed ACK costs ~40 ms
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _once(self, method: str, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        try:
            conn = self._connection()
            conn.request("POST", f"{self.prefix}/{method}", body, {"content-type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._local.conn = None  # a dropped keep-alive connection: open a new one next time
            raise BotApiError(f"{method}: {exc!r}", status=None, retryable=True) from exc
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if response.status == 200 and isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        params = data.get("parameters") if isinstance(data, dict) else None
        retry_after = params.get("retry_after") if isinstance(params, dict) else None
        description = data.get("description") if isinstance(data, dict) else None
        raise BotApiError(
            f"{method}: HTTP {response.status} {description or raw[:200]!r}",
            status=response.status,
            retryable=response.status == 429 or response.status >= 500,
            retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
        )
