"""The embedded topic provider, in messaging.db beside the queues.

A publish is one write transaction: matching queue subscriptions get their message enqueued,
handler and webhook subscriptions get a delivery row, email and SMS go to the outbox. The worker
delivers the rows (``deliver_due``), retrying with exponential backoff and moving a delivery that
failed ``max_attempts`` times to the subscription's DLQ. Nothing acknowledged is lost to a crash:
a delivery row stays until its handler succeeded or it reached the DLQ.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..core import clock
from ..core.context import ProviderServices
from ..core.errors import NotFound, ValidationError
from ..core.ids import new_uuid
from ..core.usage import Counter
from ..runtime.delivery import Outbox
from ..runtime.devurl import dev_url
from ..runtime.messaging import MessagingStore, message_ids
from . import Notification, Subscription, Topic
from .envelope import Signer, sns_attributes, timestamp
from .local_delivery import LocalDeliveries
from .local_publish import FanOut, SubscriptionCache

log = logging.getLogger("strato.topic")

SCHEMA = """
CREATE TABLE IF NOT EXISTS t_subscriptions (
    arn TEXT PRIMARY KEY, topic TEXT NOT NULL, protocol TEXT NOT NULL, endpoint TEXT NOT NULL, filter TEXT,
    scope TEXT NOT NULL, raw INTEGER NOT NULL, status TEXT NOT NULL, token TEXT, max_attempts INTEGER NOT NULL,
    declared INTEGER NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS t_sub_topic ON t_subscriptions (topic);
CREATE TABLE IF NOT EXISTS t_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, topic TEXT NOT NULL, envelope TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT
);
CREATE INDEX IF NOT EXISTS t_due ON t_deliveries (topic, next_at);
CREATE TABLE IF NOT EXISTS t_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, protocol TEXT NOT NULL, endpoint TEXT NOT NULL,
    kind TEXT NOT NULL, subject TEXT, message TEXT NOT NULL, message_id TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS t_sub_versions (topic TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS t_sub_inserted AFTER INSERT ON t_subscriptions BEGIN
    INSERT INTO t_sub_versions VALUES (NEW.topic, 1) ON CONFLICT (topic) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS t_sub_updated AFTER UPDATE ON t_subscriptions BEGIN
    INSERT INTO t_sub_versions VALUES (OLD.topic, 1) ON CONFLICT (topic) DO UPDATE SET version = version + 1;
    INSERT INTO t_sub_versions VALUES (NEW.topic, 1) ON CONFLICT (topic) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS t_sub_deleted AFTER DELETE ON t_subscriptions BEGIN
    INSERT INTO t_sub_versions VALUES (OLD.topic, 1) ON CONFLICT (topic) DO UPDATE SET version = version + 1;
END;
"""
# t_sub_versions: a topic's subscriptions changed (triggers, so every writer counts, in any process): a
# publish re-reads them only then, instead of parsing every subscription on every publish.


_READY: weakref.WeakSet[MessagingStore] = weakref.WeakSet()  # stores whose topic tables exist


def ensure_schema(store: MessagingStore) -> None:
    if store in _READY:
        return
    with store.db.write() as conn:
        statement = ""
        for line in SCHEMA.splitlines(keepends=True):  # a trigger's body has semicolons of its own
            statement += line
            if sqlite3.complete_statement(statement):
                conn.execute(statement)
                statement = ""
    _READY.add(store)


class LocalTopicBackend(LocalDeliveries):
    capabilities = frozenset({"fifo", "filter_body", "webhooks", "email", "sms", "outbox", "handler_delivery"})
    usage: Counter | None = None  # SNS publishes and deliveries for `strato cost`

    def _count(self, unit: str, amount: float = 1) -> None:
        if self.usage is not None:
            self.usage.add("sns", unit, amount)

    def __init__(self, store: MessagingStore, topic: Topic, data_dir: Path) -> None:
        self.store = store
        self.topic = topic
        self.name = topic.name
        self.data_dir = Path(data_dir)
        self.signer = Signer(self.data_dir, f"{dev_url(self.data_dir)}/_strato/sns/signing-cert.pem")
        self.deliveries = Outbox(store.db, "t_deliveries", "topic", "subscription", "envelope", error="last_error")
        self._synced = False
        self.subs = SubscriptionCache(self.name, self._row_to_sub, lambda: len(self.topic.declared))
        ensure_schema(store)

    # -- subscriptions --------------------------------------------------------------------------
    def _sync_declared(self, conn: Any) -> None:
        if self._synced:
            return
        declared = {s.arn: s for s in self.topic.declared}
        placeholders = ",".join("?" * len(declared)) or "''"
        conn.execute(
            f"DELETE FROM t_subscriptions WHERE topic = ? AND declared = 1 AND arn NOT IN ({placeholders})",
            (self.name, *declared),
        )
        for sub in declared.values():
            flt = json.dumps(sub.filter) if sub.filter else None
            conn.execute(
                "INSERT OR REPLACE INTO t_subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, 'confirmed', NULL, ?, 1, ?)",
                (
                    sub.arn,
                    self.name,
                    sub.protocol,
                    sub.endpoint,
                    flt,
                    sub.scope,
                    int(sub.raw),
                    sub.max_attempts,
                    clock.now(),
                ),
            )
        self._synced = True

    def ensure(self) -> None:
        with self.store.db.write() as conn:
            self._sync_declared(conn)

    def _row_to_sub(self, row: tuple[Any, ...]) -> Subscription:
        arn, _, protocol, endpoint, flt, scope, raw, status, _, max_attempts, _, _ = row
        sub = Subscription(
            arn, protocol, endpoint, json.loads(flt) if flt else None, scope, bool(raw), status, max_attempts
        )
        for declared in self.topic.declared:
            if declared.arn == arn:
                sub.handler, sub.dlq = declared.handler, declared.dlq
                break
        return sub

    def subscriptions(self) -> list[Subscription]:
        self.ensure()
        rows = self.store.db.conn.execute(
            "SELECT * FROM t_subscriptions WHERE topic = ? ORDER BY created_at", (self.name,)
        ).fetchall()
        return [self._row_to_sub(r) for r in rows]

    def subscribe(self, sub: Subscription) -> Subscription:
        now = clock.now()
        with self.store.db.write() as conn:
            self._sync_declared(conn)
            existing = conn.execute(
                "SELECT * FROM t_subscriptions WHERE topic = ? AND protocol = ? AND endpoint = ?",
                (self.name, sub.protocol, sub.endpoint),
            ).fetchone()
            if existing:  # SNS returns the same subscription for the same endpoint
                conn.execute(
                    "UPDATE t_subscriptions SET filter = ?, scope = ?, raw = ? WHERE arn = ?",
                    (json.dumps(sub.filter) if sub.filter else None, sub.scope, int(sub.raw), existing[0]),
                )
                row = conn.execute("SELECT * FROM t_subscriptions WHERE arn = ?", (existing[0],)).fetchone()
                return self._row_to_sub(row)
            sub.arn = f"{self.topic.arn}:{new_uuid()}"
            token = os.urandom(32).hex() if sub.status == "pending" else None
            conn.execute(
                "INSERT INTO t_subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (
                    sub.arn,
                    self.name,
                    sub.protocol,
                    sub.endpoint,
                    json.dumps(sub.filter) if sub.filter else None,
                    sub.scope,
                    int(sub.raw),
                    sub.status,
                    token,
                    sub.max_attempts,
                    now,
                ),
            )
            if token:
                self._send_confirmation(conn, sub, token, now)
        return sub

    def _send_confirmation(self, conn: Any, sub: Subscription, token: str, now: float) -> None:
        url = f"{dev_url(self.data_dir)}/_strato/sns/confirm?topic={quote(self.name)}&token={token}"
        envelope = {
            "Type": "SubscriptionConfirmation",
            "MessageId": new_uuid(),
            "Token": token,
            "TopicArn": self.topic.arn,
            "Timestamp": timestamp(now),
            "SubscribeURL": url,
            "Message": f"You have chosen to subscribe to the topic {self.topic.arn}.\nTo confirm the "
            "subscription, visit the SubscribeURL included in this message.",
        }
        if sub.protocol == "email":
            conn.execute(
                "INSERT INTO t_outbox (topic, protocol, endpoint, kind, subject, message, message_id, "
                "created_at) VALUES (?, 'email', ?, 'confirmation', ?, ?, ?, ?)",
                (
                    self.name,
                    sub.endpoint,
                    "AWS Notification - Subscription Confirmation",
                    f"{envelope['Message']}\n\n{url}",
                    envelope["MessageId"],
                    now,
                ),
            )
        else:
            self.deliveries.add(conn, self.name, sub.arn, json.dumps(envelope), now)

    def confirm(self, token: str) -> Subscription:
        with self.store.db.write() as conn:
            row = conn.execute(
                "SELECT * FROM t_subscriptions WHERE topic = ? AND token = ?", (self.name, token)
            ).fetchone()
            if row is None:
                raise NotFound(f"no pending subscription of topic {self.name!r} has that token")
            conn.execute("UPDATE t_subscriptions SET status = 'confirmed', token = NULL WHERE arn = ?", (row[0],))
            row = conn.execute("SELECT * FROM t_subscriptions WHERE arn = ?", (row[0],)).fetchone()
        return self._row_to_sub(row)

    def unsubscribe(self, arn: str) -> None:
        with self.store.db.write() as conn:
            gone = conn.execute(
                "DELETE FROM t_subscriptions WHERE topic = ? AND arn = ? AND declared = 0", (self.name, arn)
            ).rowcount
            conn.execute("DELETE FROM t_deliveries WHERE subscription = ?", (arn,))
        if not gone:
            raise NotFound(f"topic {self.name!r} has no run-time subscription {arn!r} (declared ones live in code)")

    # -- publishing -----------------------------------------------------------------------------
    def publish(self, entries: list[dict[str, Any]]) -> list[str]:
        self._count("publishes", sum(max(1, -(-len(e["body"]) // 65536)) for e in entries))
        now = clock.now()
        ids = []
        fresh_ids = message_ids(len(entries))
        stamp, topic_arn = timestamp(now), self.topic.arn
        unsubscribe_url = f"{dev_url(self.data_dir)}/_strato/sns/unsubscribe"
        with self.store.db.write() as conn:
            self._sync_declared(conn)
            subs = self.subs.get(conn)
            fan_out = FanOut(self.name, self.signer, self.deliveries, self._count)
            for entry, message_id in zip(entries, fresh_ids, strict=True):
                dedup = entry["dedup_id"] or (_content_hash(entry["body"]) if self.topic.fifo else None)
                if dedup is not None:
                    seen = conn.execute(
                        "SELECT message_id FROM q_dedup WHERE queue = ? AND dedup = ? AND expires_at > ?",
                        (f"topic:{self.name}", dedup, now),
                    ).fetchone()
                    if seen:
                        ids.append(seen[0])
                        continue
                    conn.execute(
                        "INSERT OR REPLACE INTO q_dedup VALUES (?, ?, ?, ?)",
                        (f"topic:{self.name}", dedup, message_id, now + 300),
                    )
                envelope = {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Message": entry["body"],
                    "Timestamp": stamp,
                    "UnsubscribeURL": unsubscribe_url,
                }
                if entry["subject"]:
                    envelope["Subject"] = entry["subject"]
                if entry["attributes"]:
                    envelope["MessageAttributes"] = sns_attributes(entry["attributes"])
                fan_out.entry(conn, subs, entry, envelope, dedup, now)
                ids.append(message_id)
            fan_out.flush(conn, now)
        self.store.notify()
        return ids

    # -- delivering -----------------------------------------------------------------------------
    def outbox(self, protocol: str | None) -> list[dict[str, Any]]:
        ensure_schema(self.store)
        sql = "SELECT protocol, endpoint, kind, subject, message, message_id, created_at FROM t_outbox WHERE topic = ?"
        args: list[Any] = [self.name]
        if protocol:
            if protocol not in ("email", "sms"):
                raise ValidationError("the outbox holds email and sms")
            sql += " AND protocol = ?"
            args.append(protocol)
        rows = self.store.db.conn.execute(sql + " ORDER BY seq", args).fetchall()
        keys = ("protocol", "endpoint", "kind", "subject", "message", "message_id", "created_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def drop(self) -> None:
        with self.store.db.write() as conn:
            for table in ("t_subscriptions", "t_deliveries", "t_outbox"):
                conn.execute(f"DELETE FROM {table} WHERE topic = ?", (self.name,))
        self._synced = False


def _content_hash(body: str) -> str:
    import hashlib

    return hashlib.sha256(body.encode()).hexdigest()


__all__ = ["LocalTopicBackend", "Notification"]


def open_backend(topic: Topic, services: ProviderServices) -> LocalTopicBackend:
    """The registry's factory: the topic lives in messaging.db beside the queues it fans out to."""
    store = services.local_store(MessagingStore)
    backend = LocalTopicBackend(store, topic, services.config.data_dir)
    backend.usage = services.usage
    return backend


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface
    from .spi import TopicBackend

    def _conforms(backend: LocalTopicBackend) -> TopicBackend:
        return backend
