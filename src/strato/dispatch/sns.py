"""SNS events to a topic handler. An exception propagates, so Lambda (or the local delivery loop)
retries the event as it would an asynchronous invocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.usage import Counter
from ..topic import Notification  # loaded with the topic the handler subscribes to; not imported per event
from .base import Invocation, name_of, run


def handle(
    handler: Callable[..., Any], event: dict[str, Any], usage: Counter, topic: str = "", trace: str | None = None
) -> None:
    """Run ``handler`` on each record; with tracing on, one span continuing the publisher's ``trace``."""
    with Invocation(usage, "topic", name_of(handler), resource=topic, parent=trace):
        for record in event.get("Records") or []:
            run(handler(Notification.from_record(record)))
