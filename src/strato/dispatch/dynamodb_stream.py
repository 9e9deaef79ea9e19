"""DynamoDB Streams records to ``@table.on_change`` handlers, with partial batch failures by sequence
number (the records after a failure are reported failed too, to keep per-key order)."""

from __future__ import annotations

from typing import Any

from ..core.usage import Counter
from ..events.dynamodb_stream import ChangeRecord
from .base import Invocation, span_each, tracer
from .batch import batch_response, run_batch


def handle(spec: Any, event: dict[str, Any], usage: Counter) -> dict[str, Any]:
    """Run one stream handler (``Table.on_change``) on the records of one event."""
    records = [ChangeRecord(r) for r in event.get("Records") or []]
    per_record = tracer() is not None and not spec.batch
    parent = next((r.trace for r in records if r.trace), None) if tracer() is not None and spec.batch else None
    table = spec.table.name if hasattr(spec, "table") else spec.name
    with Invocation(usage, "stream", spec.name, resource=table, parent=parent, traced=not per_record):
        failed = run_batch(
            records,
            span_each(spec.handler, "stream", table, spec.name, _trace_of) if per_record else spec.handler,
            batch=spec.batch,
            ordered=True,
            ident=lambda r: r.sequence,
            describe=lambda r: f"{r.event} {r.keys}",
            name=spec.name,
        )
    return batch_response(failed)


def _trace_of(record: ChangeRecord) -> str | None:
    return record.trace
