"""The cache on the table primitive: SQLite locally, DynamoDB on AWS (the no-ElastiCache option).

Integers live in a number attribute so ``incr`` is DynamoDB's atomic ADD; other values are tagged
bytes. ``t`` says which, so ``incr`` on a string fails cleanly instead of corrupting it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.context import ProviderServices
from ..core.errors import ConditionFailed, ValidationError
from ..table import Table
from ..table.values import number

if TYPE_CHECKING:
    from . import Cache
    from .redis import RedisCache
    from .spi import CacheBackend

PARTITION = "cache"


class TableCache:
    capabilities = frozenset({"ttl", "incr", "persist"})

    def __init__(self, table: Table) -> None:
        self.table = table

    def _item(self, key: str, raw: bytes, expires_at: float | None) -> dict[str, Any]:
        item: dict[str, Any] = {"p": PARTITION, "k": key}
        if raw.startswith(b"\x00"):
            item.update(t="val", v=raw)
        else:
            item.update(t="int", n=int(raw))
        if expires_at is not None:
            item["exp"] = round(expires_at, 3)
        return item

    @staticmethod
    def _raw(item: dict[str, Any]) -> bytes:
        return str(item["n"]).encode() if item.get("t") == "int" else bytes(item["v"])

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        found = self.table.batch_get([(PARTITION, k) for k in keys])
        return {k: self._raw(item) for k, item in zip(keys, found, strict=True) if item is not None}

    def set_many(self, items: dict[str, bytes], expires_at: float | None) -> None:
        if len(items) == 1:
            ((key, raw),) = items.items()
            self.table.put(self._item(key, raw, expires_at))
        else:
            self.table.batch_put([self._item(k, v, expires_at) for k, v in items.items()])

    def delete(self, key: str) -> bool:
        return self.table.delete((PARTITION, key)) is not None

    def incr(self, key: str, by: int, expires_at: float | None) -> int:
        modify = getattr(self.table.backend, "modify", None)
        if modify is not None:  # a provider that can read-modify-write in one transaction (SQLite)
            return self._incr_in_place(modify, key, by, expires_at)
        for _ in range(5):
            try:
                return int(self.table.update((PARTITION, key), add={"n": by}, if_match={"t": "int"})["n"])
            except ConditionFailed:
                pass
            try:
                self.table.put(self._item(key, str(by).encode(), expires_at), if_absent=True)
                return by
            except ConditionFailed:
                current = self.table.get((PARTITION, key))
                if current is not None and current.get("t") != "int":
                    raise ValidationError(f"cache key {key!r} does not hold an integer") from None
        raise ValidationError(f"cache key {key!r} changed type while being incremented")

    def _incr_in_place(self, modify: Any, key: str, by: int, expires_at: float | None) -> int:
        """The same outcomes as the update / put-if-absent dance below, in one commit instead of two."""

        def change(item: dict[str, Any] | None) -> dict[str, Any]:
            if item is None:  # already in the table's normal form: a str key, an int, a Decimal expiry
                created: dict[str, Any] = {"p": PARTITION, "k": key, "t": "int", "n": by}
                if expires_at is not None:
                    created["exp"] = number(round(expires_at, 3), "exp")
                return created
            if item.get("t") != "int":
                raise ValidationError(f"cache key {key!r} does not hold an integer")
            return {**item, "n": int(item["n"]) + by}

        return int(modify(self.table.schema.key_of((PARTITION, key)), change, clock.now())["n"])

    def dump(self) -> Iterable[tuple[str, bytes, float | None]]:
        for item in self.table.iterate(PARTITION, page_size=500):
            yield item["k"], self._raw(item), float(item["exp"]) if "exp" in item else None

    def load(self, entries: list[tuple[str, bytes, float | None]]) -> None:
        self.table.batch_put([self._item(k, v, e) for k, v, e in entries])

    def drop(self) -> None:
        self.table.drop()


def open_backend(cache: Cache, services: ProviderServices) -> TableCache | RedisCache:
    """The registry's factory for the local and aws providers: entries in a table of their own. On
    AWS, ``USE_ELASTICACHE=1`` or ``ELASTICACHE_ENDPOINT`` (set by the template) selects ElastiCache."""
    import os

    provider = cache.provider
    if provider == "aws" and (
        os.environ.get("USE_ELASTICACHE", "").lower() in ("1", "true") or os.environ.get("ELASTICACHE_ENDPOINT")
    ):
        from .redis import open_backend as open_redis

        return open_redis(cache, services)
    table = Table(cache.ctx, cache.name, "p", "k", ttl="exp", provider=provider, decimals=True)
    table.stored_as = "cache"
    return TableCache(table)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: TableCache) -> CacheBackend:
        return backend
