"""The cache provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import TYPE_CHECKING, Protocol
from ..table.spi import DYNAMO_READ, DYNAMO_WRITE

if TYPE_CHECKING:
    from collections.abc import Iterable

CAPABILITIES = frozenset({"ttl", "incr", "persist"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {"read": DYNAMO_READ, "write": DYNAMO_WRITE}


class CacheBackend(Protocol):
    capabilities: frozenset[str]

    def get_many(self, keys: list[str]) -> dict[str, bytes]: ...
    def set_many(self, items: dict[str, bytes], expires_at: float | None) -> None: ...
    def delete(self, key: str) -> bool: ...
    def incr(self, key: str, by: int, expires_at: float | None) -> int: ...
    def dump(self) -> Iterable[tuple[str, bytes, float | None]]: ...
    def load(self, entries: list[tuple[str, bytes, float | None]]) -> None: ...
    def drop(self) -> None: ...
