"""The embedded queue provider: messages in SQLite (WAL), durable when send returns.

Receiving leases messages (visible_at moves into the future and a fresh receipt is issued) inside
one write transaction, so two processes polling the same queue never get the same lease. FIFO
queues hand out a group's messages only while none of that group is in flight.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.context import ProviderServices
from ..core.errors import NotFound, ValidationError
from ..core.usage import Counter
from ..runtime.messaging import MessagingStore, enqueue, fix_head, sweep_expired
from . import Outgoing, Queue, local_fifo
from .message import Message, QueueStats, decode_attributes

if TYPE_CHECKING:
    from .spi import QueueBackend


class LocalQueueBackend:
    capabilities = frozenset({"fifo", "dlq", "long_poll", "delay", "oldest_age"})
    usage: Counter | None = None  # SQS requests for `strato cost` (each 64 KB chunk of a payload is one request)

    def _requests(self, count: int) -> None:
        if self.usage is not None:
            self.usage.add("sqs_fifo" if self.queue.fifo else "sqs", "requests", count)

    def arn(self) -> str:
        return self.queue.arn

    def __init__(self, store: MessagingStore, queue: Queue) -> None:
        self.store = store
        self.queue = queue
        self.name = queue.name
        self._last_sweep = 0.0

    def ensure(self) -> None:
        """Nothing to create: a local queue exists as soon as it is declared."""

    def drop(self) -> None:
        self.purge()

    def send(self, messages: list[Outgoing], now: float) -> list[str]:
        size = 0
        for message in messages:
            size += len(message.body)
        self._requests(max(1, -(-size // 65536)))
        with self.store.db.write() as conn:
            ids = enqueue(conn, self.name, messages, now, self.queue.retention)
        self.store.notify()
        return ids

    def _candidates(self, conn: Any, now: float, limit: int) -> list[tuple[Any, ...]]:
        if self.queue.fifo:  # groups in order, one in flight at a time: see local_fifo
            return local_fifo.candidates(conn, self.name, now, limit)
        # best-effort order, as SQS's standard queues: earliest visible first, walking the
        # (queue, visible_at, seq) index and stopping at ``limit`` (ORDER BY seq sorted every visible row)
        return conn.execute(
            f"SELECT {local_fifo.COLUMNS} FROM q_messages WHERE queue = ? AND visible_at <= ? "
            "ORDER BY visible_at, seq LIMIT ?",
            (self.name, now, limit),
        ).fetchall()

    def _lease(self, limit: int, visibility: int) -> list[Message]:
        now = clock.now()
        out: list[Message] = []
        leased: set[int] = set()  # a lease of 0 s leaves a message visible: never hand it out twice in one call
        with self.store.db.write() as conn:
            if now - self._last_sweep > 5:  # expired messages are never handed out: the sweep only frees space
                sweep_expired(conn, now)
                self._last_sweep = now
            while len(out) < limit:
                rows = [r for r in self._candidates(conn, now, limit - len(out) + len(leased)) if r[0] not in leased]
                dropped = False
                for row in rows[: limit - len(out)]:
                    message = self._take(conn, row, now, visibility)
                    if message is None:
                        dropped = True
                    else:
                        leased.add(row[0])
                        out.append(message)
                if not dropped:  # look again only if expired or dead-lettered rows took places
                    break
        return out

    def _take(self, conn: Any, row: tuple[Any, ...], now: float, visibility: int) -> Message | None:
        """Lease one candidate; None if it expired (deleted) or has been received too often (dead-lettered)."""
        seq, mid, body, attrs, sent_at, count, first, group, dedup, expires_at, trace = row
        dlq = self.queue.dlq
        if expires_at <= now:
            conn.execute("DELETE FROM q_messages WHERE seq = ?", (seq,))
            if group is not None:
                fix_head(conn, self.name, group)
            return None
        if dlq is not None and self.queue.max_receive_count and count >= self.queue.max_receive_count:
            conn.execute(
                "UPDATE q_messages SET queue = ?, visible_at = ?, receipt = NULL, expires_at = ?, head = 0 "
                "WHERE seq = ?",
                (dlq.name, now, sent_at + dlq.retention, seq),
            )
            if group is not None:
                fix_head(conn, self.name, group)
                fix_head(conn, dlq.name, group)
            return None
        receipt = f"{mid}#{os.urandom(13).hex()}"  # opaque, fresh per lease (a ULID cost 10x more to make)
        first = first or now
        conn.execute(
            "UPDATE q_messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ?, "
            "first_receive_at = ? WHERE seq = ?",
            (now + visibility, receipt, first, seq),
        )
        attributes = decode_attributes(json.loads(attrs)) if attrs != "{}" else {}
        return Message(mid, body, receipt, attributes, count + 1, sent_at, first, group, dedup, self.name, trace)

    def receive(self, limit: int, visibility: int, wait: float, bill_empty: bool = True) -> list[Message]:
        deadline = time.monotonic() + wait
        while True:
            seen = self.store.sent.generation
            found = self._lease(limit, visibility)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                if found or bill_empty:
                    self._requests(1)
                return found
            self.store.sent.wait(seen, min(remaining, 0.05))  # re-checks for other processes' sends

    def delete(self, receipts: list[str]) -> None:
        self._requests(1)
        for receipt in receipts:
            if "#" not in receipt:
                raise ValidationError(f"receipt handle {receipt[:40]!r} is not valid for this queue")
        with self.store.db.write() as conn:
            if not self.queue.fifo:
                conn.executemany(
                    "DELETE FROM q_messages WHERE +queue = ? AND receipt = ?", [(self.name, r) for r in receipts]
                )
                return
            for receipt in receipts:  # a FIFO group whose head goes gets its next message as head
                row = conn.execute(
                    "SELECT seq, grp, head FROM q_messages WHERE +queue = ? AND receipt = ?", (self.name, receipt)
                ).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM q_messages WHERE seq = ?", (row[0],))
                    if row[2] and row[1] is not None:
                        fix_head(conn, self.name, row[1])

    def change_visibility(self, receipt: str, seconds: int) -> None:
        now = clock.now()
        with self.store.db.write() as conn:
            changed = conn.execute(
                "UPDATE q_messages SET visible_at = ? WHERE +queue = ? AND receipt = ? AND +visible_at > ?",
                (now + seconds, self.name, receipt, now),
            ).rowcount
        if not changed:
            raise NotFound(
                f"message with receipt {receipt[:40]!r} is not in flight on queue {self.name!r} "
                "(deleted, or its visibility timeout already ran out)"
            )
        if seconds == 0:
            self.store.notify()

    def sweep(self, now: float) -> int:
        """Delete messages past their retention and FIFO dedup ids past their window (every queue's: they
        share messaging.db), and wake pollers: a clock moved by a test may have made delayed messages due."""
        with self.store.db.write() as conn:
            gone = sweep_expired(conn, now)
        self._last_sweep = now
        self.store.notify()
        return gone

    def purge(self) -> None:
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM q_messages WHERE queue = ?", (self.name,))
            conn.execute("DELETE FROM q_dedup WHERE queue = ?", (self.name,))

    def stats(self) -> QueueStats:
        now = clock.now()
        row = self.store.db.conn.execute(
            "SELECT coalesce(sum(visible_at <= ?), 0), coalesce(sum(visible_at > ? AND receive_count > 0), 0), "
            "coalesce(sum(visible_at > ? AND receive_count = 0), 0), min(sent_at) "
            "FROM q_messages WHERE queue = ? AND expires_at > ?",
            (now, now, now, self.name, now),
        ).fetchone()
        return QueueStats(row[0], row[1], row[2], (now - row[3]) if row[3] is not None else 0.0)


def open_backend(queue: Queue, services: ProviderServices) -> LocalQueueBackend:
    """The registry's factory: queues and topics share messaging.db (fan-out is one transaction)."""
    store = services.local_store(MessagingStore)
    backend = LocalQueueBackend(store, queue)
    backend.usage = services.usage
    return backend


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: LocalQueueBackend) -> QueueBackend:
        return backend
