"""The queue primitive: SQS semantics (visibility, delay, long polling, DLQ + redrive, FIFO groups
and deduplication, partial batch failures), on SQLite locally and on SQS in AWS.

``Queue`` validates everything once (body, attributes, sizes, delays, FIFO rules) so every provider
raises the same errors; providers only store, lease and delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache

from ..core import clock, outbox
from ..core.config import region
from ..core.context import Context
from ..core.errors import ConfigurationError, ValidationError
from ..core.hints import TYPE_CHECKING, Any
from ..core.permissions import requires
from ..core.resource import Resource
from ..events import ACCOUNT_ID  # loaded on every cold start anyway (as core.config): no import per call
from .message import (
    MAX_BATCH,
    MAX_DELAY_S,
    MAX_MESSAGE_BYTES,
    MAX_VISIBILITY_S,
    MAX_WAIT_S,
    Message,
    QueueStats,
    check_size,
    encode_attributes,
    encode_body,
)
from .spi import ACTIONS, CAPABILITIES, QueueBackend

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

__all__ = [
    "CAPABILITIES",
    "MAX_MESSAGE_BYTES",
    "Consumer",
    "Message",
    "Outgoing",
    "Queue",
    "QueueBackend",
    "QueueStats",
]

DEFAULT_RETENTION_S = 4 * 86_400
MAX_RETENTION_S = 14 * 86_400


@dataclass(frozen=True)
class Outgoing:
    """One message on its way to a provider, validated and encoded."""

    body: str
    attributes: dict[str, dict[str, Any]]
    delay: int = 0
    group: str | None = None
    dedup_id: str | None = None
    #: the sender's ``X-Amzn-Trace-Id``, sent as the ``AWSTraceHeader`` message system attribute
    trace: str | None = None


@dataclass
class Consumer:
    """A handler bound to a queue; runs locally in the worker, on AWS behind an event source mapping."""

    queue: Queue
    handler: Callable[..., Any]
    batch_size: int = 10
    max_concurrency: int = 2
    batch: bool = False
    visibility_timeout: int | None = None


def _seconds(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValidationError(f"{name} must be a number of seconds from {low} to {high}, got {value!r}")
    return int(value)


class Queue(Resource[QueueBackend]):
    """A queue declared with ``app.queue(name, ...)``. Thread-safe."""

    kind = "queue"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        fifo: bool = False,
        content_dedup: bool = False,
        visibility_timeout: int = 30,
        delay: int = 0,
        retention: int = DEFAULT_RETENTION_S,
        max_receive_count: int | None = None,
        provider: str | None = None,
        dead_letter_for: Queue | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        self.fifo = fifo
        self.content_dedup = content_dedup
        if content_dedup and not fifo:
            raise ConfigurationError(f"queue {name!r}: content_dedup is for FIFO queues")
        self.visibility_timeout = _seconds(visibility_timeout, "visibility_timeout", 0, MAX_VISIBILITY_S)
        self.delay = _seconds(delay, "delay", 0, MAX_DELAY_S)
        self.retention = _seconds(retention, "retention", 60, MAX_RETENTION_S)
        if max_receive_count is not None and (
            isinstance(max_receive_count, bool)
            or not isinstance(max_receive_count, int)
            or not 1 <= max_receive_count <= 1000
        ):
            raise ConfigurationError(f"queue {name!r}: max_receive_count must be an integer from 1 to 1000")
        self.max_receive_count = max_receive_count
        self.dead_letter_for = dead_letter_for
        self.dlq: Queue | None = None
        self.consumers: list[Consumer] = []

    def required_capabilities(self) -> set[str]:
        needs = {"fifo"} if self.fifo else set()
        if self.max_receive_count is not None:
            needs.add("dlq")
        if self.delay:
            needs.add("delay")
        return needs

    @property
    def physical_name(self) -> str:
        """The SQS queue name (``.fifo`` appended for FIFO queues), as in the event source ARN."""
        name = self.config.physical_name("queue", self.name)
        return f"{name}.fifo" if self.fifo and not name.endswith(".fifo") else name

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{region()}:{ACCOUNT_ID}:{self.physical_name}"

    # -- sending --------------------------------------------------------------------------------
    def _outgoing(
        self,
        body: Any,
        attributes: dict | None,
        delay: int | None,
        group: str | None,
        dedup_id: str | None,
        trace: str | None,
    ) -> Outgoing:
        text = encode_body(body)
        attrs = encode_attributes(attributes)
        check_size(text, attrs, self.name)
        if delay is not None:
            if self.fifo:
                raise ValidationError(f"queue {self.name!r} is FIFO: set delay on the queue, not per message")
            delay = _seconds(delay, "delay", 0, MAX_DELAY_S)
            if delay:
                self._need("delay")
        if self.fifo:  # the fifo capability was checked when the backend opened (required_capabilities)
            if not group or not isinstance(group, str) or len(group) > 128:
                raise ValidationError(f"FIFO queue {self.name!r} needs a message group (1-128 characters)")
            if dedup_id is None:
                if not self.content_dedup:
                    raise ValidationError(f"FIFO queue {self.name!r} needs dedup_id (or declare content_dedup=True)")
                import hashlib

                dedup_id = hashlib.sha256(text.encode("utf-8")).hexdigest()
            elif not isinstance(dedup_id, str) or not 1 <= len(dedup_id) <= 128:
                raise ValidationError("dedup_id must be 1-128 characters")
        elif group is not None or dedup_id is not None:
            raise ValidationError(f"queue {self.name!r} is not FIFO: group and dedup_id are for FIFO queues")
        return Outgoing(text, attrs, self.delay if delay is None else delay, group, dedup_id, trace)

    @requires("send")
    def send(
        self,
        body: Any,
        *,
        attributes: dict[str, Any] | None = None,
        delay: int | None = None,
        group: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Enqueue one message (str, or anything JSON-able); returns its id once it is durable."""
        out = self._outgoing(body, attributes, delay, group, dedup_id, _trace_header())
        ids = self.backend.send([out], clock.now())
        if outbox.listeners:
            self._tell([out], ids)
        return ids[0]

    @requires("send")
    def send_batch(
        self, bodies: Iterable[Any], *, attributes: dict[str, Any] | None = None, group: str | None = None
    ) -> list[str]:
        """Enqueue up to 10 messages in one call (SQS SendMessageBatch); all are checked before any is sent."""
        fifo_needs_id = self.fifo and not self.content_dedup
        trace = _trace_header()  # every message of the batch is sent from the same span
        outs = [
            self._outgoing(b, attributes, None, group, _missing_dedup(self.name) if fifo_needs_id else None, trace)
            for b in bodies
        ]
        if not 1 <= len(outs) <= MAX_BATCH:
            raise ValidationError(f"send_batch takes 1 to {MAX_BATCH} messages, got {len(outs)}")
        total = sum(len(o.body.encode()) for o in outs)
        if total > MAX_MESSAGE_BYTES:
            raise ValidationError(f"a batch may total at most {MAX_MESSAGE_BYTES} bytes, this one is {total}")
        ids = self.backend.send(outs, clock.now())
        if outbox.listeners:
            self._tell(outs, ids)
        return ids

    def _tell(self, outs: list[Outgoing], ids: list[str]) -> None:
        for out, message_id in zip(outs, ids, strict=False):
            details = {"id": message_id, "body": out.body, "attributes": out.attributes, "delay": out.delay}
            outbox.tell("queue", self.name, {**details, "group": out.group, "dedup_id": out.dedup_id})

    # -- receiving ------------------------------------------------------------------------------
    @requires("receive")
    def receive(
        self, max_messages: int = 1, *, visibility_timeout: int | None = None, wait: float = 0
    ) -> list[Message]:
        """Lease up to ``max_messages`` (1-10) for ``visibility_timeout`` seconds; long-poll up to ``wait``."""
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or not 1 <= max_messages <= MAX_BATCH:
            raise ValidationError(f"max_messages must be an integer from 1 to {MAX_BATCH}")
        vt = (
            self.visibility_timeout
            if visibility_timeout is None
            else _seconds(visibility_timeout, "visibility_timeout", 0, MAX_VISIBILITY_S)
        )
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_WAIT_S:
            raise ValidationError(f"wait must be from 0 to {MAX_WAIT_S} seconds")
        if wait:
            self._need("long_poll")
        return self.backend.receive(max_messages, vt, wait)

    @requires("receive")
    def delete(self, message: Message | str) -> None:
        """Acknowledge a message (by the Message or its receipt) so it is not delivered again."""
        self.backend.delete([_receipt(message)])

    @requires("receive")
    def delete_batch(self, messages: Sequence[Message | str]) -> None:
        receipts = [_receipt(m) for m in messages]
        for start in range(0, len(receipts), MAX_BATCH):
            self.backend.delete(receipts[start : start + MAX_BATCH])

    @requires("receive")
    def change_visibility(self, message: Message | str, seconds: int) -> None:
        """Extend (or end, with 0) the lease of an in-flight message."""
        self.backend.change_visibility(_receipt(message), _seconds(seconds, "seconds", 0, MAX_VISIBILITY_S))

    @requires("purge")
    def purge(self) -> None:
        """Delete every message in the queue."""
        self.backend.purge()

    def stats(self) -> QueueStats:
        """Approximate counts. ``oldest_age`` is a field of this report, not a call: a provider without the
        ``oldest_age`` capability (SQS's GetQueueAttributes has no such attribute) reports None, not an error."""
        stats = self.backend.stats()
        if "oldest_age" not in self.capabilities:
            stats.oldest_age = None
        if self.dlq is not None:
            stats.dlq_depth = self.dlq.backend.stats().depth
        return stats

    @requires("send")
    def redrive(self, limit: int | None = None) -> int:
        """Move messages from this queue's DLQ back into it (at least once); returns how many moved."""
        if self.dlq is None:
            raise ConfigurationError(f"queue {self.name!r} has no DLQ (declare max_receive_count)")
        moved = 0
        while limit is None or moved < limit:
            batch = self.dlq.receive(min(MAX_BATCH, (limit - moved) if limit else MAX_BATCH), visibility_timeout=60)
            if not batch:
                return moved
            outs = [
                Outgoing(
                    m.body,
                    encode_attributes(m.attributes),
                    0,
                    m.group,
                    f"redrive-{m.id}" if self.fifo else None,
                    m.trace,  # a redriven message stays in the trace that sent it
                )
                for m in batch
            ]
            self.backend.send(outs, clock.now())
            self.dlq.delete_batch(batch)
            moved += len(batch)
        return moved

    # -- consumers ------------------------------------------------------------------------------
    def consumer(
        self,
        *,
        batch_size: int = 10,
        max_concurrency: int = 2,
        batch: bool = False,
        visibility_timeout: int | None = None,
    ) -> Callable:
        """Register ``handler(message)`` (or ``handler(messages)`` with ``batch=True``); one per queue.

        A raised exception fails that message (or, in batch mode, the whole batch); a batch handler may
        return the messages that failed. Failed messages come back after the visibility timeout and
        go to the DLQ after ``max_receive_count`` receives.
        """
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigurationError(f"batch_size must be 1 to {MAX_BATCH}")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            if self.consumers:  # two event source mappings would split the messages between them at random
                raise ConfigurationError(
                    f"queue {self.name!r} already has a consumer ({self.consumers[0].handler.__qualname__}); "
                    f"a second one ({fn.__qualname__}) would get a random share of the messages, not a copy. "
                    "Use one consumer, or a topic with a queue per subscriber to give each handler every message."
                )
            self.consumers.append(Consumer(self, fn, batch_size, max_concurrency, batch, visibility_timeout))
            return fn

        return register

    def _runtime_receive(self, limit: int, visibility: int, wait: float) -> list[Message]:
        """The consumer runtime's lease: its permission comes with the trigger, not with allow=."""
        return self.backend.receive(limit, visibility, wait, bill_empty=False)

    def _runtime_ack(self, messages: Sequence[Message]) -> None:
        receipts = [m.receipt for m in messages]
        for start in range(0, len(receipts), MAX_BATCH):
            self.backend.delete(receipts[start : start + MAX_BATCH])

    def _runtime_release(self, message: Message) -> None:
        self.backend.change_visibility(message.receipt, 0)

    def background_work(self) -> bool:
        return True  # SQS deletes messages past their retention period by itself

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None


def _trace_header() -> str | None:
    """The ``AWSTraceHeader`` a message sent now carries (None outside any trace)."""
    return _trace_context().outgoing_header()


@cache
def _trace_context() -> Any:
    """``strato.trace.context``, loaded by the first send (an import statement a send cost ~10k
    instructions: the import lock and a failed attribute lookup formatted into an error each time)."""
    from ..trace import context

    return context


def _missing_dedup(name: str) -> str:
    raise ValidationError(
        f"FIFO queue {name!r}: send_batch needs content_dedup=True (or send one by one with dedup_id)"
    )


def _receipt(message: Message | str) -> str:
    receipt = message.receipt if isinstance(message, Message) else message
    if not isinstance(receipt, str) or not receipt:
        raise ValidationError("pass a received Message or its receipt handle")
    return receipt
