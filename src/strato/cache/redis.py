"""The cache on Redis / ElastiCache: native TTLs, INCRBY, MGET, pipelined multi-sets."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..core.context import ProviderServices
from ..core.errors import ValidationError

if TYPE_CHECKING:
    from . import Cache
    from .spi import CacheBackend

# INCRBY, and set the expiry only when this call created the key (atomic in Redis)
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and value == tonumber(ARGV[1]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return value
"""


class RedisCache:
    capabilities = frozenset({"ttl", "incr", "persist"})

    def __init__(self, client: Any, namespace: str) -> None:
        self.client = client
        self.prefix = f"strato:{namespace}:c:".encode()
        self._incr = client.register_script(_INCR)

    def _k(self, key: str) -> bytes:
        return self.prefix + key.encode("utf-8")

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        values = self.client.mget([self._k(k) for k in keys])
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    def set_many(self, items: dict[str, bytes], expires_at: float | None) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, raw in items.items():
            if expires_at is not None:
                pipe.set(self._k(key), raw, pxat=max(int(expires_at * 1000), 1))
            else:
                pipe.set(self._k(key), raw)
        pipe.execute()

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(self._k(key)))

    def incr(self, key: str, by: int, expires_at: float | None) -> int:
        import redis

        try:
            return int(self._incr(keys=[self._k(key)], args=[by, int(expires_at * 1000) if expires_at else 0]))
        except redis.ResponseError as exc:
            raise ValidationError(f"cache key {key!r} does not hold an integer ({exc})") from None

    def dump(self) -> Iterable[tuple[str, bytes, float | None]]:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=self.prefix + b"*", count=500)
            if keys:
                pipe = self.client.pipeline(transaction=False)
                for key in keys:
                    pipe.get(key)
                    pipe.pttl(key)
                results = pipe.execute()
                now = time.time()  # real time, not strato's clock: Redis expires keys on its own
                for key, raw, pttl in zip(keys, results[::2], results[1::2], strict=True):
                    if raw is not None:
                        yield key[len(self.prefix) :].decode(), raw, (now + pttl / 1000) if pttl > 0 else None
            if cursor == 0:
                return

    def load(self, entries: list[tuple[str, bytes, float | None]]) -> None:
        now = time.time()  # as above: the absolute expiry Redis compares with its own clock
        pipe = self.client.pipeline(transaction=False)
        for key, raw, expires_at in entries:
            if expires_at is None:
                pipe.set(self._k(key), raw)
            elif expires_at > now:
                pipe.set(self._k(key), raw, pxat=int(expires_at * 1000))
        pipe.execute()

    def drop(self) -> None:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=self.prefix + b"*", count=500)
            if keys:
                self.client.delete(*keys)
            if cursor == 0:
                return


def open_backend(cache: Cache, services: ProviderServices) -> RedisCache:
    """The registry's factory: one Redis client per app, keys under the cache's physical name."""
    return RedisCache(services.redis(), services.config.physical_name("cache", cache.name))


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: RedisCache) -> CacheBackend:
        return backend
