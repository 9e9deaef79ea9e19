"""S3 event notifications to a ``@bucket.on_change`` watcher (an exception propagates: S3 invokes
asynchronously, so Lambda retries)."""

from __future__ import annotations

from typing import Any

from ..core.usage import Counter
from ..events.s3 import ObjectEvent
from .base import Invocation, name_of, run


def handle(watcher: Any, event: dict[str, Any], usage: Counter) -> None:
    """Run ``watcher`` on every record of the event it wants (its event kinds, prefix and suffix)."""
    with Invocation(usage, "bucket", name_of(watcher.handler)):
        for record in event.get("Records") or []:
            change = ObjectEvent(record)
            if change.kind is not None and watcher.wants(change.kind, change.key):
                run(watcher.handler(change))
