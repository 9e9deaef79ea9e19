"""The kv provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import Protocol
from ..table.spi import DYNAMO_READ, DYNAMO_WRITE

CAPABILITIES = frozenset({"ttl", "list", "bytes"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {"read": DYNAMO_READ, "write": DYNAMO_WRITE}  # kept in a table


class KVBackend(Protocol):
    capabilities: frozenset[str]

    def get(self, key: str, now: float) -> str | bytes | None: ...
    def set(self, key: str, value: str | bytes, expires_at: float | None) -> None: ...
    def delete(self, key: str, now: float) -> bool: ...
    def list(self, prefix: str, limit: int, after: str | None, now: float) -> list[str]: ...
    def drop(self) -> None: ...
