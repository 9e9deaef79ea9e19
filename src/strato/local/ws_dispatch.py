"""How the local WebSocket gateway moves messages between its event loop and the handlers' threads
without paying a thread hop and a wait per message.

- ``Inbox``: one per connection. Messages are handled in the order they arrived (one at a time per
  connection, many connections at once), on a shared pool of handler threads: a burst costs one hop, and a
  connection that floods past ``BACKLOG`` unhandled messages is answered API Gateway's throttling error
  frame for each one refused, never dropped silently.
- ``Outbox``: posts from handler threads (``@connections``, replies) are queued and written by one
  callback on the loop per batch, in the order they were posted; the posting thread does not wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .handler_threads import HandlerThreads

log = logging.getLogger("strato.ws")

#: unhandled messages one connection may have queued before more are refused ("Too Many Requests")
BACKLOG = int(os.environ.get("STRATO_WS_BACKLOG", "1000"))
#: bytes waiting in a connection's socket buffer before a post to it fails as API Gateway's
#: LimitExceededException ("the WebSocket client side buffer is full") does
SEND_BUFFER_LIMIT = 8 * 1024 * 1024
#: handler threads of one gateway: how many connections' handlers run at once (Lambda concurrency)
HANDLER_THREADS = 16


class Inbox:
    """The messages of one connection not handled yet, handled in arrival order by ``handle``."""

    __slots__ = ("_done", "_lock", "busy", "handle", "limit", "loop", "pending", "pool")

    def __init__(self, pool: HandlerThreads, loop: asyncio.AbstractEventLoop, handle: Callable[[Any], None]):
        self.pool = pool
        self.loop = loop
        self.handle = handle
        self.pending: deque[Any] = deque()
        self.limit = BACKLOG
        self.busy = False
        self._lock = threading.Lock()
        self._done: asyncio.Future | None = None

    def offer(self, message: Any) -> bool:
        """Queue ``message`` (False: the backlog is full and it was not queued). On the loop."""
        with self._lock:
            if len(self.pending) >= self.limit:
                return False
            self.pending.append(message)
            if self.busy:
                return True
            self.busy = True
        self.pool.submit(self._drain)
        return True

    def _drain(self) -> None:
        """On a handler thread: handle queued messages until none is left."""
        while True:
            with self._lock:
                if not self.pending:
                    self.busy = False
                    done, self._done = self._done, None
                    break
                message = self.pending.popleft()
            try:
                self.handle(message)
            except Exception:
                log.exception("websocket message handling failed")
        if done is not None:
            self.loop.call_soon_threadsafe(_settle, done)

    async def drained(self) -> None:
        """Wait until every queued message was handled (before $disconnect runs). On the loop."""
        with self._lock:
            if not self.busy:
                return
            if self._done is None:
                self._done = self.loop.create_future()
            done = self._done
        await done


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Outbox:
    """Calls queued from any thread, run on the loop in order, many per wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: deque[tuple[Callable[..., None], tuple]] = deque()
        self._scheduled = False
        self._lock = threading.Lock()

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._pending.append((fn, args))
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, deque()
            self._scheduled = False
        for fn, args in batch:
            try:
                fn(*args)
            except Exception:
                log.exception("websocket post failed")


def handler_pool() -> HandlerThreads:
    """strato dev's adaptive pool (see handler_threads): 2 threads while handlers compute, more, up to
    ``HANDLER_THREADS``, while messages wait on handlers that wait. 16 threads from the start made 500
    relay sessions 1.5x slower: each message woke an idle thread that then queued for the GIL."""
    return HandlerThreads(size=HANDLER_THREADS)
