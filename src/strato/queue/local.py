"""The embedded queue provider: messages in SQLite (WAL), durable when send returns.

Receiving leases messages (visible_at moves into the future and a fresh receipt is issued) inside
one write transaction, so two processes polling the same queue never get the same lease. FIFO
queues hand out a group's messages only while none of that group is in flight.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import NotFound, ValidationError
from ..ids import new_id
from ..sqlite import Database
from ..wakeup import Wakeup
from . import DEDUP_WINDOW_S, Outgoing
from .message import Message, QueueStats, decode_attributes

SCHEMA = """
CREATE TABLE IF NOT EXISTS q_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_at REAL,
    receipt TEXT,
    grp TEXT,
    dedup TEXT,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS q_ready ON q_messages (queue, visible_at, seq);
CREATE INDEX IF NOT EXISTS q_receipt ON q_messages (receipt);
CREATE TABLE IF NOT EXISTS q_dedup (
    queue TEXT NOT NULL, dedup TEXT NOT NULL, message_id TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (queue, dedup)
) WITHOUT ROWID;
"""


class MessagingStore:
    """messaging.db: queues and topics share it, so a topic's fan-out to queues is one transaction."""

    def __init__(self, data_dir: Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "messaging.db", durability)
        self.sent = Wakeup()  # wakes long polls and deliveries in this process; other processes poll
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def notify(self) -> None:
        self.sent.notify()

    def close(self) -> None:
        self.db.close()


def _encode_attrs(attrs: dict[str, dict[str, Any]]) -> str:
    plain = {}
    for name, attr in attrs.items():
        if "BinaryValue" in attr:
            import base64

            plain[name] = {"DataType": attr["DataType"], "BinaryValue": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            plain[name] = attr
    return json.dumps(plain, separators=(",", ":"))


def enqueue(conn: Any, queue: str, messages: list[Outgoing], now: float, retention: int) -> list[str]:
    """Insert messages in an open write transaction (also used by topics fanning out to queues)."""
    ids = []
    for out in messages:
        if out.dedup_id is not None:
            row = conn.execute(
                "SELECT message_id FROM q_dedup WHERE queue = ? AND dedup = ? AND expires_at > ?",
                (queue, out.dedup_id, now),
            ).fetchone()
            if row:
                ids.append(row[0])  # accepted, not delivered again within the dedup window
                continue
        message_id = _uuid()
        conn.execute(
            "INSERT INTO q_messages (queue, id, body, attributes, sent_at, visible_at, grp, dedup, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                queue,
                message_id,
                out.body,
                _encode_attrs(out.attributes),
                now,
                now + out.delay,
                out.group,
                out.dedup_id,
                now + retention,
            ),
        )
        if out.dedup_id is not None:
            conn.execute(
                "INSERT OR REPLACE INTO q_dedup (queue, dedup, message_id, expires_at) VALUES (?, ?, ?, ?)",
                (queue, out.dedup_id, message_id, now + DEDUP_WINDOW_S),
            )
        ids.append(message_id)
    return ids


def _uuid() -> str:
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class LocalQueueBackend:
    capabilities = frozenset({"fifo", "dlq", "long_poll", "delay", "oldest_age"})
    usage: Any = None  # SQS requests for `strato cost` (each 64 KB chunk of a payload is one request)

    def _requests(self, count: int) -> None:
        if self.usage is not None:
            self.usage.add("sqs_fifo" if self.queue.fifo else "sqs", "requests", count)

    def __init__(self, store: MessagingStore, queue: Any) -> None:
        self.store = store
        self.queue = queue
        self.name = queue.name
        self._last_sweep = 0.0

    def ensure(self) -> None:
        """Nothing to create: a local queue exists as soon as it is declared."""

    def drop(self) -> None:
        self.purge()

    def send(self, messages: list[Outgoing], now: float) -> list[str]:
        self._requests(max(1, -(-sum(len(m.body) for m in messages) // 65536)))
        with self.store.db.write() as conn:
            ids = enqueue(conn, self.name, messages, now, self.queue.retention)
        self.store.notify()
        return ids

    def _candidates(self, conn: Any, now: float, limit: int) -> list[tuple]:
        cols = "seq, id, body, attributes, sent_at, receive_count, first_receive_at, grp, dedup, expires_at"
        if not self.queue.fifo:
            return conn.execute(
                f"SELECT {cols} FROM q_messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                (self.name, now, limit),
            ).fetchall()
        busy = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT grp FROM q_messages WHERE queue = ? AND visible_at > ? AND receive_count > 0",
                (self.name, now),
            )
        }
        blocked = set(busy)
        picked = []
        rows = conn.execute(f"SELECT {cols}, visible_at FROM q_messages WHERE queue = ? ORDER BY seq", (self.name,))
        for row in rows:
            group, visible_at = row[7], row[10]
            if group in blocked:
                continue
            if visible_at > now:
                blocked.add(group)  # an earlier message of this group is not available: keep order
                continue
            picked.append(row[:10])
            if len(picked) >= limit:
                break
        return picked

    def _lease(self, limit: int, visibility: int) -> list[Message]:
        now = time.time()
        dlq = self.queue.dlq
        out: list[Message] = []
        with self.store.db.write() as conn:
            if now - self._last_sweep > 5:
                conn.execute("DELETE FROM q_messages WHERE queue = ? AND expires_at <= ?", (self.name, now))
                conn.execute("DELETE FROM q_dedup WHERE expires_at <= ?", (now,))
                self._last_sweep = now
            while len(out) < limit:
                rows = self._candidates(conn, now, limit - len(out))
                if not rows:
                    break
                for seq, mid, body, attrs, sent_at, count, first, group, dedup, expires_at in rows:
                    if expires_at <= now:
                        conn.execute("DELETE FROM q_messages WHERE seq = ?", (seq,))
                    elif dlq is not None and self.queue.max_receive_count and count >= self.queue.max_receive_count:
                        conn.execute(
                            "UPDATE q_messages SET queue = ?, visible_at = ?, receipt = NULL, "
                            "expires_at = ? WHERE seq = ?",
                            (dlq.name, now, sent_at + dlq.retention, seq),
                        )
                    else:
                        receipt = f"{mid}#{new_id()}"
                        first = first or now
                        conn.execute(
                            "UPDATE q_messages SET receive_count = receive_count + 1, visible_at = ?, "
                            "receipt = ?, first_receive_at = ? WHERE seq = ?",
                            (now + visibility, receipt, first, seq),
                        )
                        out.append(
                            Message(
                                mid,
                                body,
                                receipt,
                                decode_attributes(json.loads(attrs)),
                                count + 1,
                                sent_at,
                                first,
                                group,
                                dedup,
                                self.name,
                            )
                        )
        return out

    def receive(self, limit: int, visibility: int, wait: float) -> list[Message]:
        self._requests(1)
        deadline = time.monotonic() + wait
        while True:
            seen = self.store.sent.generation
            found = self._lease(limit, visibility)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            self.store.sent.wait(seen, min(remaining, 0.05))  # re-checks for other processes' sends

    def delete(self, receipts: list[str]) -> None:
        self._requests(1)
        for receipt in receipts:
            if "#" not in receipt:
                raise ValidationError(f"receipt handle {receipt[:40]!r} is not valid for this queue")
        with self.store.db.write() as conn:
            conn.executemany(
                "DELETE FROM q_messages WHERE queue = ? AND receipt = ?", [(self.name, r) for r in receipts]
            )

    def change_visibility(self, receipt: str, seconds: int) -> None:
        now = time.time()
        with self.store.db.write() as conn:
            changed = conn.execute(
                "UPDATE q_messages SET visible_at = ? WHERE queue = ? AND receipt = ? AND visible_at > ?",
                (now + seconds, self.name, receipt, now),
            ).rowcount
        if not changed:
            raise NotFound(
                f"message with receipt {receipt[:40]!r} is not in flight on queue {self.name!r} "
                "(deleted, or its visibility timeout already ran out)"
            )
        if seconds == 0:
            self.store.notify()

    def purge(self) -> None:
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM q_messages WHERE queue = ?", (self.name,))
            conn.execute("DELETE FROM q_dedup WHERE queue = ?", (self.name,))

    def stats(self) -> QueueStats:
        now = time.time()
        row = self.store.db.conn.execute(
            "SELECT coalesce(sum(visible_at <= ?), 0), coalesce(sum(visible_at > ? AND receive_count > 0), 0), "
            "coalesce(sum(visible_at > ? AND receive_count = 0), 0), min(sent_at) "
            "FROM q_messages WHERE queue = ? AND expires_at > ?",
            (now, now, now, self.name, now),
        ).fetchone()
        return QueueStats(row[0], row[1], row[2], (now - row[3]) if row[3] is not None else 0.0)
