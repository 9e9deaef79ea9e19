"""One local publish fanned out to a topic's subscriptions, with the per-publish work done once.

What is the same for every subscription of one publish is made once: the SNS attributes filters
read, the stored form of the message attributes, the envelope's JSON and its signature (SNS signs
Message, MessageId, Subject, Timestamp, TopicArn and Type: nothing of the subscription). Rows are
then written a statement per table (``executemany``), and the parsed subscriptions are kept until
``t_sub_versions`` (bumped by triggers on every change, from any process) says they changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..queue import Outgoing, Queue
from ..runtime.delivery import Outbox
from ..runtime.messaging import encode_attrs, enqueue, insert_plain, message_ids
from . import Subscription
from .envelope import Signer
from .filter import matches

TRACE_KEY = "_strato_trace"  # a stored delivery's X-Amzn-Trace-Id (taken out before the envelope is used)


class SubscriptionCache:
    """A topic's subscriptions, parsed once per change rather than once per publish."""

    def __init__(self, topic: str, parse: Callable[[tuple[Any, ...]], Subscription], declared: Callable[[], int]):
        self.topic = topic
        self.parse = parse
        self.declared = declared  # how many subscriptions this process declared (they carry the handlers)
        self._key: tuple[int, int] | None = None
        self._subs: list[Subscription] = []

    def get(self, conn: Any) -> list[Subscription]:
        """Every subscription of the topic (pending ones too), in the order they were made."""
        row = conn.execute("SELECT version FROM t_sub_versions WHERE topic = ?", (self.topic,)).fetchone()
        key = (row[0] if row else 0, self.declared())
        if key != self._key:
            rows = conn.execute("SELECT * FROM t_subscriptions WHERE topic = ?", (self.topic,)).fetchall()
            self._subs, self._key = [self.parse(r) for r in rows], key
        return self._subs


class FanOut:
    """The rows one publish call writes, gathered per table and written by ``flush``."""

    def __init__(self, topic: str, signer: Signer, deliveries: Outbox, count: Callable[[str], None]) -> None:
        self.topic = topic
        self.signer = signer
        self.deliveries = deliveries
        self.count = count
        self.plain: list[tuple[str, str, str, float, float, float, str | None]] = []  # for standard queues
        self.handed: list[tuple[str, str]] = []  # (subscription, envelope) for handlers and webhooks
        self.outbox: list[tuple[Any, ...]] = []  # email and SMS

    def entry(
        self,
        conn: Any,
        subs: list[Subscription],
        entry: dict[str, Any],
        envelope: dict[str, Any],
        dedup: str | None,
        now: float,
    ) -> None:
        """Fan one message out to each confirmed subscription whose filter accepts it."""
        body, attributes, trace = entry["body"], entry["attributes"], entry.get("trace")
        sns_attrs: dict[str, dict[str, Any]] | None = None
        stored_attrs: str | None = None
        signed: str | None = None
        as_text: str | None = None
        for sub in subs:
            if sub.status != "confirmed":
                continue
            if sub.filter:
                if sns_attrs is None:  # as Subscription.accepts converts them
                    sns_attrs = {
                        n: {"Type": a["DataType"], "Value": a.get("StringValue", "")} for n, a in attributes.items()
                    }
                if not matches(sub.filter, attributes=sns_attrs, body=body, scope=sub.scope):
                    continue
            if sub.protocol == "sqs":
                queue = sub.handler
                if not isinstance(queue, Queue):  # subscribe_queue puts the Queue there
                    raise TypeError(f"queue subscription {sub.arn} has no queue")
                if sub.raw:
                    text = body
                    if stored_attrs is None:
                        stored_attrs = encode_attrs(attributes)
                    attrs, stored = attributes, stored_attrs
                else:
                    if signed is None:  # the same envelope and signature for every enveloped queue
                        signed = json.dumps(self.signer.sign({**envelope}))
                    text, attrs, stored = signed, {}, "{}"
                if entry["group"] is None and dedup is None:
                    self.plain.append((queue.name, text, stored, now, now, now + queue.retention, trace))
                else:
                    out = Outgoing(text, attrs, 0, entry["group"], dedup, trace)
                    enqueue(conn, queue.name, [out], now, queue.retention)
            elif sub.protocol in ("email", "sms"):
                self.count(f"{sub.protocol}_deliveries")
                self.outbox.append(
                    (self.topic, sub.protocol, sub.endpoint, entry["subject"], body, envelope["MessageId"], now)
                )
            else:
                if as_text is None:  # the trace rides along, outside the envelope SNS would sign
                    as_text = json.dumps({**envelope, TRACE_KEY: trace} if trace else envelope)
                self.handed.append((sub.arn, as_text))

    def flush(self, conn: Any, now: float) -> None:
        if self.plain:
            ids = message_ids(len(self.plain))
            insert_plain(
                conn,
                [(q, mid, text, attrs, sent, visible, expires, trace)
                 for (q, text, attrs, sent, visible, expires, trace), mid in zip(self.plain, ids, strict=True)],
            )  # fmt: skip
        if self.handed:
            self.deliveries.add_many(conn, self.topic, self.handed, now)
        if self.outbox:
            conn.executemany(
                "INSERT INTO t_outbox (topic, protocol, endpoint, kind, subject, message, message_id, "
                "created_at) VALUES (?, ?, ?, 'notification', ?, ?, ?, ?)",
                self.outbox,
            )
