"""What an app sends out of itself (queue messages, topic publishes, WebSocket posts, metric data points),
told to whoever listens: the test kit's ``outbox`` and ``metrics``. With no listener (Lambda, ``strato
dev``) a send costs one truth test of ``listeners`` and nothing is kept."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: called with (kind, resource name, details) after each successful send
listeners: list[Callable[[str, str, dict[str, Any]], None]] = []


def tell(kind: str, name: str, details: dict[str, Any]) -> None:
    """Report one send to every listener (facades call this only when ``listeners`` is not empty)."""
    for listener in list(listeners):
        listener(kind, name, details)
