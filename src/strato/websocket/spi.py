"""The websocket provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import Any, Protocol

CAPABILITIES = frozenset({"send", "broadcast", "info", "close", "binary"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {"manage": ("execute-api:ManageConnections",)}


class WebSocketBackend(Protocol):
    """Posts to connections: the dev server's gateway locally, ``apigatewaymanagementapi`` on AWS."""

    capabilities: frozenset[str]

    def client_url(self) -> str: ...
    def send(self, connection_id: str, raw: bytes, text: bool) -> None: ...
    def broadcast(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        """Send to each id; returns the ids that are gone (410)."""
        ...

    def broadcast_all(self, raw: bytes, text: bool) -> int | None:
        """Send to every open connection when the provider knows them all (the gateway in this process);
        None when it does not, and the facade sends to the registry's ids instead."""
        ...

    def learn_endpoint(self, event: dict[str, Any]) -> None: ...
    def close(self, connection_id: str) -> None: ...
