"""messaging.db: the SQLite file local queues and topics share, so a topic's fan-out to its queues is
one transaction. The queue provider owns the tables' meaning; ``enqueue`` is here because the topic
provider inserts into queues too, and one provider never imports another.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .checkpointer import BACKSTOP_PAGES, Checkpointer
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
    @property
    def trace(self) -> str | None: ...


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
    expires_at REAL NOT NULL,
    head INTEGER NOT NULL DEFAULT 0,
    trace TEXT
);
CREATE INDEX IF NOT EXISTS q_ready ON q_messages (queue, visible_at, seq);
CREATE TABLE IF NOT EXISTS q_dedup (
    queue TEXT NOT NULL, dedup TEXT NOT NULL, message_id TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (queue, dedup)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS q_dedup_expiry ON q_dedup (expires_at);
"""

# Indexes that need the ``head`` column (added to files made before it) or replace an older definition.
# q_receipt: only leased messages have a receipt, so a send does not add a NULL entry to it.
# q_expiry: by expiry alone, not (queue, expiry): a publish to 50 queues then adds its 50 entries to
# one leaf page instead of 50 (each page a commit touches is written to the WAL, 4 KB apiece).
# q_group / q_heads / q_leased: FIFO receives walk each message group's first message ("head") in
# (visible_at, seq) order and check the group for a message in flight, instead of every message.
INDEXES = {
    "q_receipt": "CREATE INDEX q_receipt ON q_messages (receipt) WHERE receipt IS NOT NULL",
    "q_expiry": "CREATE INDEX q_expiry ON q_messages (expires_at)",
    "q_group": "CREATE INDEX q_group ON q_messages (queue, grp, seq) WHERE grp IS NOT NULL",
    "q_heads": "CREATE INDEX q_heads ON q_messages (queue, visible_at, seq) WHERE head = 1",
    "q_leased": (
        "CREATE INDEX q_leased ON q_messages (queue, grp, visible_at) WHERE grp IS NOT NULL AND receive_count > 0"
    ),
}


def _migrate(conn: Any) -> None:
    """Bring a messaging.db from before FIFO heads up to date (in the caller's write transaction)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(q_messages)")}
    if "trace" not in columns:  # the AWSTraceHeader system attribute (files made before tracing)
        conn.execute("ALTER TABLE q_messages ADD COLUMN trace TEXT")
    if "head" not in columns:
        conn.execute("ALTER TABLE q_messages ADD COLUMN head INTEGER NOT NULL DEFAULT 0")
        conn.execute(
            "UPDATE q_messages SET head = 1 WHERE seq IN "
            "(SELECT min(seq) FROM q_messages WHERE grp IS NOT NULL GROUP BY queue, grp)"
        )
    existing = dict(
        conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'q_messages'")
    )
    for name, sql in INDEXES.items():
        if existing.get(name) != sql:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
            conn.execute(sql)


class _MessagingDatabase(Database):
    """The shared Database, with checkpoints moved to a background thread (see runtime.checkpointer)."""

    def __init__(self, path: Path, durability: str) -> None:
        super().__init__(path, durability)
        self.checkpointer = Checkpointer(self.path)

    @property
    def conn(self) -> sqlite3.Connection:
        fresh = getattr(self._local, "conn", None) is None
        conn = super().conn
        if fresh:
            conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self.checkpointer.start()
        return conn

    def close(self) -> None:
        self.checkpointer.stop()
        super().close()


class MessagingStore:
    """messaging.db: queues and topics share it, so a topic's fan-out to queues is one transaction."""

    def __init__(self, data_dir: Path, durability: str = "process") -> None:
        self.db: Database = _MessagingDatabase(Path(data_dir) / "messaging.db", durability)
        self.sent = Wakeup()  # wakes long polls and deliveries in this process; other processes poll
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            _migrate(conn)

    def notify(self) -> None:
        self.sent.notify()

    def close(self) -> None:
        self.db.close()


def encode_attrs(attrs: dict[str, dict[str, Any]]) -> str:
    """Encoded attributes as stored (binary values in base64)."""
    if not attrs:
        return "{}"
    plain = {}
    for name, attr in attrs.items():
        if "BinaryValue" in attr:
            plain[name] = {"DataType": attr["DataType"], "BinaryValue": base64.b64encode(attr["BinaryValue"]).decode()}
        else:
            plain[name] = attr
    return json.dumps(plain, separators=(",", ":"))


def message_ids(count: int) -> list[str]:
    """``count`` random ids in UUID text form from one read of the OS's random source."""
    raw = os.urandom(16 * count).hex()
    return [
        f"{raw[i : i + 8]}-{raw[i + 8 : i + 12]}-{raw[i + 12 : i + 16]}-{raw[i + 16 : i + 20]}-{raw[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


PLAIN_INSERT = (
    "INSERT INTO q_messages (queue, id, body, attributes, sent_at, visible_at, expires_at, trace) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_plain(conn: Any, rows: Sequence[tuple[str, str, str, str, float, float, float, str | None]]) -> None:
    """Messages without group or dedup id, as (queue, id, body, encoded attributes, sent_at, visible_at,
    expires_at, trace header), in one statement: a topic's fan-out to many standard queues is one
    executemany."""
    conn.executemany(PLAIN_INSERT, rows)


def sweep_expired(conn: Any, now: float) -> int:
    """Delete every queue's messages past their retention, and dedup ids past their window (walking the
    q_expiry and q_dedup_expiry indexes); a FIFO group that lost its head gets the next message as head.
    Returns how many messages went."""
    groups = set(conn.execute("SELECT queue, grp FROM q_messages WHERE expires_at <= ? AND head = 1", (now,)))
    gone = int(conn.execute("DELETE FROM q_messages WHERE expires_at <= ?", (now,)).rowcount)
    conn.execute("DELETE FROM q_dedup WHERE expires_at <= ?", (now,))
    for queue, group in groups:
        fix_head(conn, queue, group)
    return gone


def fix_head(conn: Any, queue: str, group: str) -> None:
    """Keep ``head = 1`` on exactly the first message (lowest seq) of ``group``: call it after a message
    left the group (deleted, expired, dead-lettered) or joined it other than at its end (a dead letter)."""
    rows = conn.execute(
        "SELECT seq, head FROM q_messages WHERE queue = ? AND grp = ? ORDER BY seq LIMIT 2", (queue, group)
    ).fetchall()
    if rows and not rows[0][1]:
        conn.execute("UPDATE q_messages SET head = 1 WHERE seq = ?", (rows[0][0],))
    if len(rows) > 1 and rows[1][1]:
        conn.execute("UPDATE q_messages SET head = 0 WHERE seq = ?", (rows[1][0],))


def enqueue(conn: Any, queue: str, messages: Sequence[Outgoing], now: float, retention: int) -> list[str]:
    """Insert messages in an open write transaction (also used by topics fanning out to queues)."""
    ids = message_ids(len(messages))
    if all(out.group is None and out.dedup_id is None for out in messages):
        expires = now + retention
        insert_plain(
            conn,
            [
                (queue, mid, out.body, encode_attrs(out.attributes), now, now + out.delay, expires, out.trace)
                for out, mid in zip(messages, ids, strict=True)
            ],
        )
        return ids
    accepted = []
    for out, message_id in zip(messages, ids, strict=True):
        if out.dedup_id is not None:
            row = conn.execute(
                "SELECT message_id FROM q_dedup WHERE queue = ? AND dedup = ? AND expires_at > ?",
                (queue, out.dedup_id, now),
            ).fetchone()
            if row:
                accepted.append(row[0])  # accepted, not delivered again within the dedup window
                continue
        head = (
            out.group is not None
            and not conn.execute(
                "SELECT 1 FROM q_messages WHERE queue = ? AND grp = ? LIMIT 1", (queue, out.group)
            ).fetchone()
        )
        conn.execute(
            "INSERT INTO q_messages (queue, id, body, attributes, sent_at, visible_at, grp, dedup, expires_at, head, "
            "trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                queue,
                message_id,
                out.body,
                encode_attrs(out.attributes),
                now,
                now + out.delay,
                out.group,
                out.dedup_id,
                now + retention,
                int(head),
                out.trace,
            ),
        )
        if out.dedup_id is not None:
            conn.execute(
                "INSERT OR REPLACE INTO q_dedup (queue, dedup, message_id, expires_at) VALUES (?, ?, ?, ?)",
                (queue, out.dedup_id, message_id, now + DEDUP_WINDOW_S),
            )
        accepted.append(message_id)
    return accepted
