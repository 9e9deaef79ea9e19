"""SQS events to a queue consumer, answering with Lambda's ReportBatchItemFailures."""

from __future__ import annotations

from typing import Any

from ..core.usage import Counter
from .base import Invocation, name_of
from .batch import batch_response, run_batch


def handle(consumer: Any, event: dict[str, Any], usage: Counter) -> dict[str, Any]:
    """Run ``consumer`` (a ``Queue.consumer``) on the records of one SQS event."""
    from ..queue.message import Message

    records = event.get("Records") or []
    if not records:
        return batch_response([])
    with Invocation(usage, "queue", name_of(consumer.handler)):
        messages = [Message.from_record(r) for r in records]
        failed = run_batch(
            messages,
            consumer.handler,
            batch=consumer.batch,
            ordered=consumer.queue.fifo,  # keep group order: the rest of the batch waits too
            ident=lambda m: m.id,
            describe=lambda m: f"message {m.id} (receive {m.receive_count})",
            name=consumer.handler.__qualname__,
        )
    return batch_response(failed)
