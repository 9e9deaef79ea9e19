"""S3 event notifications to a ``@bucket.on_change`` watcher (an exception propagates: S3 invokes
asynchronously, so Lambda retries)."""

from __future__ import annotations

from typing import Any

from ..core.usage import Counter
from ..events.s3 import ObjectEvent
from .base import Invocation, name_of, run


def handle(watcher: Any, event: dict[str, Any], usage: Counter) -> None:
    """Run ``watcher`` on every record of the event it wants (its event kinds, prefix and suffix)."""
    records = event.get("Records") or []
    bucket = records[0].get("s3", {}).get("bucket", {}).get("name", "") if records else ""
    with Invocation(usage, "bucket", name_of(watcher.handler), resource=bucket, parent=_trace_of(records)):
        for record in records:
            change = ObjectEvent(record)
            if change.kind is not None and watcher.wants(change.kind, change.key):
                run(watcher.handler(change))


def _trace_of(records: list[dict[str, Any]]) -> str | None:
    """The writer's trace, which the local bucket keeps with the event (S3 itself passes none on)."""
    return next((r["strato:trace"] for r in records if r.get("strato:trace")), None)
