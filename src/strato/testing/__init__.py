"""strato's test kit: an in-process client, WebSocket clients, ``drain()``, virtual time and views of
what an app sent, recorded and would be billed. As a pytest plugin (``strato.testing.plugin``) its
fixtures are ``strato_app``, ``client``, ``drain``, ``clock``, ``outbox``, ``metrics`` and ``usage``; the
classes below work without pytest too."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .client import Client, Response
    from .clock import Clock
    from .drain import Drain, DrainTimeout
    from .outbox import Outbox, Sent
    from .websocket import Closed, Rejected, WebSocket

_WHERE = {
    "Client": "client",
    "Clock": "clock",
    "Response": "client",
    "Drain": "drain",
    "DrainTimeout": "drain",
    "Outbox": "outbox",
    "Sent": "outbox",
    "Closed": "websocket",
    "Rejected": "websocket",
    "WebSocket": "websocket",
}

__all__ = [
    "Client",
    "Clock",
    "Closed",
    "Drain",
    "DrainTimeout",
    "Outbox",
    "Rejected",
    "Response",
    "Sent",
    "WebSocket",
]


def __getattr__(name: str) -> object:
    """Import a class on first use, so loading the plugin stays cheap."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'strato.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
