"""The websocket provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

CAPABILITIES = frozenset({"send", "broadcast", "info", "close", "binary"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {"manage": ("execute-api:ManageConnections",)}
