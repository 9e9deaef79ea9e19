"""SQS events to a queue consumer, answering with Lambda's ReportBatchItemFailures.

With tracing on, each message handed to a per-message handler is a span continuing the trace of its
``AWSTraceHeader``; a batch handler's call is one span continuing the first traced message's."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from ..core.usage import Counter
from ..queue.message import Message  # loaded with the queue the consumer reads; not imported per event
from .base import Invocation, name_of, span_each, tracer
from .batch import batch_response, run_batch


def handle(consumer: Any, event: dict[str, Any], usage: Counter) -> dict[str, Any]:
    """Run ``consumer`` (a ``Queue.consumer``) on the records of one SQS event."""
    records = event.get("Records") or []
    if not records:
        return batch_response([])
    name = name_of(consumer.handler)
    queue = consumer.queue.name
    traced = tracer() is not None
    per_message = traced and not consumer.batch
    parent = None
    if traced and consumer.batch:
        parent = next((h for r in records if (h := (r.get("attributes") or {}).get("AWSTraceHeader"))), None)
    with Invocation(usage, "queue", name, resource=queue, parent=parent, traced=not per_message):
        messages = [Message.from_record(r) for r in records]
        handler = span_each(consumer.handler, "queue", queue, name, _trace_of) if per_message else consumer.handler
        failed = run_batch(
            messages,
            handler,
            batch=consumer.batch,
            ordered=consumer.queue.fifo,  # keep group order: the rest of the batch waits too
            ident=lambda m: m.id,
            describe=lambda m: f"message {m.id} (receive {m.receive_count})",
            name=consumer.handler.__qualname__,
        )
    return batch_response(failed)


_trace_of = attrgetter("trace")  # a message's AWSTraceHeader (in C: no Python call per message)
