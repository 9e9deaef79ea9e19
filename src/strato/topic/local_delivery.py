"""What SNS does by itself, locally: deliver each accepted message to handler subscriptions (through the
same dispatcher Lambda runs) and webhooks, retry with exponential back-off, and move a delivery that
failed ``max_attempts`` times to the subscription's DLQ. A delivery row stays until it succeeded or
reached the DLQ, so nothing acknowledged is lost to a crash."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.usage import OFF, Counter
from ..dispatch import sns
from ..events.sns import sns_record
from ..queue import Outgoing, Queue
from ..runtime.delivery import Outbox
from ..runtime.messaging import MessagingStore, enqueue
from ..runtime.work import Loop
from ..trace import context
from . import Subscription, Topic
from .envelope import Signer
from .local_publish import TRACE_KEY

if TYPE_CHECKING:
    from .local_publish import SubscriptionCache

log = logging.getLogger("strato.topic")

WEBHOOK_TIMEOUT_S = 15.0  # SNS waits 15 s for an HTTP endpoint


class LocalDeliveries:
    """Mixed into ``LocalTopicBackend``, whose store, signer and subscriptions it uses."""

    if TYPE_CHECKING:
        name: str
        store: MessagingStore
        topic: Topic
        signer: Signer
        usage: Counter | None
        deliveries: Outbox
        subs: SubscriptionCache

        def _count(self, unit: str, amount: float = 1) -> None: ...

    def background(self, topic: Topic) -> list[Loop]:
        """SNS's own job locally: deliver to handlers and webhooks, retry, dead-letter."""

        def step() -> int:
            seen = self.store.sent.generation
            done = self.deliver_due()
            if not done:  # a publish in this process wakes us at once; other processes within 50 ms
                self.store.sent.wait(seen, 0.05)
            return done

        return [Loop(f"deliveries:{self.name}", step, drain=self.deliver_due)]

    def pending(self) -> int:
        return self.deliveries.pending(self.name)

    def deliver_due(self, limit: int = 20) -> int:
        """Deliver what is due; returns how many deliveries were attempted."""
        rows = self.deliveries.lease(self.name, limit)
        if not rows:
            return 0
        subs = {sub.arn: sub for sub in self.subs.get(self.store.db.conn)}
        for seq, arn, text, attempts in rows:
            sub = subs.get(arn)
            envelope = json.loads(text)
            trace = envelope.pop(TRACE_KEY, None)
            if sub is None:
                self.deliveries.done(seq)  # unsubscribed meanwhile
                continue
            try:
                self._deliver(sub, envelope, trace)
            except Exception as exc:
                self._failed(seq, sub, envelope, attempts + 1, f"{type(exc).__name__}: {exc}")
            else:
                self.deliveries.done(seq)
        return len(rows)

    def _deliver(self, sub: Subscription, envelope: dict[str, Any], trace: str | None = None) -> None:
        if sub.protocol == "lambda":
            handler = sub.handler
            if handler is None or isinstance(handler, Queue):  # a Queue only on "sqs" subscriptions
                raise LookupError(f"handler for {sub.arn} is not declared in this process")
            record = sns_record(self.signer.sign(dict(envelope)), sub.arn)
            sns.handle(handler, {"Records": [record]}, self.usage or OFF, self.name, trace)
            return
        tracer = context.tracer
        if tracer is None:
            self._post(sub, envelope, trace)
            return
        with tracer.span("webhook", self.name, sub.endpoint, trace) as active:  # one span per attempt
            active.attributes = {"subscription": sub.arn}
            self._post(sub, envelope, active.header)

    def _post(self, sub: Subscription, envelope: dict[str, Any], trace: str | None) -> None:
        self._count("http_deliveries")
        signed = self.signer.sign(dict(envelope))
        body = (
            json.dumps(signed).encode()
            if not (sub.raw and envelope["Type"] == "Notification")
            else envelope["Message"].encode()
        )
        request = urllib.request.Request(
            sub.endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "text/plain; charset=UTF-8",
                "x-amz-sns-message-type": envelope["Type"],
                "x-amz-sns-message-id": envelope["MessageId"],
                "x-amz-sns-topic-arn": envelope["TopicArn"],
                "x-amz-sns-subscription-arn": sub.arn,
                "User-Agent": "Amazon Simple Notification Service Agent",
                **({"X-Amzn-Trace-Id": trace} if trace else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if not 200 <= status < 300:
            raise ConnectionError(f"webhook answered HTTP {status}")

    def _failed(self, seq: int, sub: Subscription, envelope: dict[str, Any], attempts: int, error: str) -> None:
        confirmation = envelope["Type"] != "Notification"
        give_up = attempts >= sub.max_attempts
        if not give_up:
            log.warning("delivery to %s failed (attempt %d of %d): %s", sub.endpoint, attempts, sub.max_attempts, error)
        else:
            log.error(
                "delivery to %s failed %d times, %s: %s",
                sub.endpoint,
                attempts,
                "dropped (a confirmation)" if confirmation else "moved to the DLQ",
                error,
            )
        dlq = sub.dlq or self.topic.webhooks_dlq

        def dead_letter(conn: Any) -> None:
            if dlq is not None and not confirmation:
                attrs = {
                    "subscription": {"DataType": "String", "StringValue": sub.arn},
                    "error": {"DataType": "String", "StringValue": error[:1000] or "unknown"},
                }
                enqueue(conn, dlq.name, [Outgoing(json.dumps(envelope), attrs)], clock.now(), dlq.retention)

        self.deliveries.failed(seq, attempts, error, give_up, dead_letter)
