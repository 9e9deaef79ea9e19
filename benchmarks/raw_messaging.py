"""Raw-SQLite baselines for the queue and the topic: the statements strato runs for a send, receive,
delete and publish, on sqlite3 directly, with the same schema and the same file settings (WAL,
synchronous=NORMAL, checkpoints in a background thread). strato / raw is then strato's own cost
(validation, encoding, objects, its Python around the SQL), not SQLite's."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from strato.runtime.checkpointer import BACKSTOP_PAGES, Checkpointer
from strato.runtime.messaging import INDEXES, PLAIN_INSERT, SCHEMA

RETENTION_S = 4 * 86_400
CANDIDATES = (
    "SELECT seq, id, body, attributes, sent_at, receive_count, first_receive_at, grp, dedup, expires_at "
    "FROM q_messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?"
)
LEASE = (
    "UPDATE q_messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ?, first_receive_at = ? "
    "WHERE seq = ?"
)


class RawMessaging:
    """messaging.db's tables on a bare sqlite3 connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        for statement in [*SCHEMA.split(";"), *INDEXES.values()]:
            if statement.strip():
                self.conn.execute(statement)
        self.conn.execute(
            "CREATE TABLE t_sub_versions (topic TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID"
        )
        self.checkpointer = Checkpointer(path)
        self.checkpointer.start()

    def close(self) -> None:
        self.checkpointer.stop()
        self.conn.close()

    def send(self, queue: str, bodies: list[str]) -> None:
        now = time.time()
        rows = [(queue, os.urandom(16).hex(), b, "{}", now, now, now + RETENTION_S, None) for b in bodies]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(PLAIN_INSERT, rows)
        self.conn.execute("COMMIT")

    def receive(self, queue: str, limit: int, visibility: int = 30) -> list[str]:
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        receipts = []
        for row in self.conn.execute(CANDIDATES, (queue, now, limit)).fetchall():
            receipt = f"{row[1]}#{os.urandom(10).hex()}"
            self.conn.execute(LEASE, (now + visibility, receipt, row[6] or now, row[0]))
            receipts.append(receipt)
        self.conn.execute("COMMIT")
        return receipts

    def delete(self, queue: str, receipts: list[str]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("DELETE FROM q_messages WHERE +queue = ? AND receipt = ?", [(queue, r) for r in receipts])
        self.conn.execute("COMMIT")

    def publish(self, topic: str, queues: list[str], body: str) -> None:
        """A publish to standard queues: check the subscriptions' version, one row per queue."""
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("SELECT version FROM t_sub_versions WHERE topic = ?", (topic,)).fetchone()
        ids = os.urandom(16 * len(queues)).hex()
        self.conn.executemany(
            PLAIN_INSERT,
            [
                (q, ids[i * 32 : i * 32 + 32], body, "{}", now, now, now + RETENTION_S, None)
                for i, q in enumerate(queues)
            ],
        )
        self.conn.execute("COMMIT")


def round_trips(raw: RawMessaging, n: int, batch: int, body: str) -> float:
    """Messages per second through send + receive + delete, ``batch`` at a time (as bench_messaging's)."""
    started = time.perf_counter()
    done = 0
    while done < n:
        raw.send("single" if batch == 1 else "batched", [body] * batch)
        got: list[str] = []
        while len(got) < batch:
            got += raw.receive("single" if batch == 1 else "batched", batch)
        raw.delete("single" if batch == 1 else "batched", got)
        done += batch
    return done / (time.perf_counter() - started)


def publishes(raw: RawMessaging, n: int, queues: list[str], body: str) -> float:
    started = time.perf_counter()
    for _ in range(n):
        raw.publish("news", queues, body)
    return n / (time.perf_counter() - started)
