"""EventBridge scheduled events to an ``@app.schedule`` handler (which may take the event or nothing)."""

from __future__ import annotations

from typing import Any

from ..core.usage import Counter
from .base import Invocation, run


def handle(schedule: Any, event: dict[str, Any], usage: Counter) -> Any:
    code = getattr(schedule.handler, "__code__", None)
    takes_event = code is None or code.co_argcount > 0
    with Invocation(usage, "schedule", schedule.name, resource=schedule.name):
        return run(schedule.handler(event) if takes_event else schedule.handler())
