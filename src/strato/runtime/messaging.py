"""messaging.db: the SQLite file local queues and topics share, so a topic's fan-out to its queues is
one transaction. The queue provider owns the tables' meaning; ``enqueue`` is here because the topic
provider inserts into queues too, and one provider never imports another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..core.ids import new_uuid
from .sqlite import Database
from .wakeup import Wakeup

DEDUP_WINDOW_S = 300  # SQS FIFO deduplication interval


class Outgoing(Protocol):
    """A validated message on its way into a queue (the queue facade's ``Outgoing``)."""

    @property
    def body(self) -> str: ...
    @property
    def attributes(self) -> dict[str, dict[str, Any]]: ...
    @property
    def delay(self) -> int: ...
    @property
    def group(self) -> str | None: ...
    @property
    def dedup_id(self) -> str | None: ...


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
CREATE INDEX IF NOT EXISTS q_expiry ON q_messages (queue, expires_at);
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


def enqueue(conn: Any, queue: str, messages: Sequence[Outgoing], now: float, retention: int) -> list[str]:
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
        message_id = new_uuid()
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
