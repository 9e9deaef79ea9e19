"""kv on Redis (or ElastiCache): native expiry, and a sorted set of keys for ordered listing.

A value and its index entry change in one MULTI/EXEC. Keys whose value expired are dropped
from the index lazily, the next time a listing meets them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.context import ProviderServices
from ..runtime.keyrange import successor

if TYPE_CHECKING:
    from . import KV
    from .spi import KVBackend


class RedisKV:
    capabilities = frozenset({"ttl", "list", "bytes"})

    def __init__(self, client: Any, namespace: str) -> None:
        self.client = client
        self.values = f"strato:{namespace}:v:".encode()
        self.index = f"strato:{namespace}:i".encode()

    def _vkey(self, key: str) -> bytes:
        return self.values + key.encode("utf-8")

    def get(self, key: str, now: float) -> str | bytes | None:
        raw = self.client.get(self._vkey(key))
        if raw is None:
            return None
        return raw[1:] if raw[:1] == b"b" else raw[1:].decode("utf-8")

    def set(self, key: str, value: str | bytes, expires_at: float | None) -> None:
        raw = b"b" + value if isinstance(value, bytes) else b"s" + value.encode("utf-8")
        pipe = self.client.pipeline(transaction=True)
        if expires_at is not None:
            pipe.set(self._vkey(key), raw, pxat=max(int(expires_at * 1000), 1))
        else:
            pipe.set(self._vkey(key), raw)
        pipe.zadd(self.index, {key.encode("utf-8"): 0})
        pipe.execute()

    def delete(self, key: str, now: float) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self._vkey(key))
        pipe.zrem(self.index, key.encode("utf-8"))
        return bool(pipe.execute()[0])

    def list(self, prefix: str, limit: int, after: str | None, now: float) -> list[str]:
        raw_prefix = prefix.encode("utf-8")
        low = b"(" + after.encode("utf-8") if after else b"[" + raw_prefix
        upper = successor(raw_prefix)
        high = b"(" + upper if upper is not None else b"+"
        found: list[str] = []
        while len(found) < limit:
            batch = self.client.zrangebylex(self.index, low, high, start=0, num=limit - len(found))
            if not batch:
                break
            pipe = self.client.pipeline(transaction=False)
            for member in batch:
                pipe.exists(self.values + member)
            alive = pipe.execute()
            dead = [m for m, ok in zip(batch, alive, strict=True) if not ok]
            if dead:
                self.client.zrem(self.index, *dead)
            found.extend(m.decode("utf-8") for m, ok in zip(batch, alive, strict=True) if ok)
            low = b"(" + batch[-1]
        return found

    def drop(self) -> None:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=self.values + b"*", count=500)
            if keys:
                self.client.delete(*keys)
            if cursor == 0:
                break
        self.client.delete(self.index)


def open_backend(kv: KV, services: ProviderServices) -> RedisKV:
    """The registry's factory: one Redis client per app, keys under the namespace's physical name."""
    return RedisKV(services.redis(), services.config.physical_name("kv", kv.name))


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: RedisKV) -> KVBackend:
        return backend
