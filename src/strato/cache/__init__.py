"""The cache primitive: get / set with TTL / delete / incr / many / get_or_set, persist and restore.

Values are str, bytes, or anything JSON-able, and read back as the same type on every provider.
Providers: ``local`` (SQLite, shared by `strato dev` and `strato worker`), ``redis`` (ElastiCache:
``REDIS_URL`` / ``ELASTICACHE_ENDPOINT``, TLS with ``rediss://`` or ``REDIS_TLS=1``) and ``aws``
(ElastiCache when ``USE_ELASTICACHE=true`` or an endpoint is set, otherwise DynamoDB).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from ..core import clock
from ..core.context import Context
from ..core.errors import ItemTooLarge, ValidationError, utf8
from ..core.hints import Any
from ..core.permissions import requires
from ..core.resource import Resource
from ..kv import check_key
from .spi import ACTIONS, CAPABILITIES, CacheBackend

__all__ = ["CAPABILITIES", "Cache", "decode", "encode"]

MAX_VALUE_BYTES = 400_000  # the DynamoDB-backed provider's limit, applied everywhere
_TAG = b"\x00"
_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode  # built once, not per call


def encode(value: Any) -> bytes:
    """Plain decimal for ints (so Redis INCR works on them), a tagged form for everything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    if isinstance(value, str):
        raw = _TAG + b"s" + utf8(value, "cache value")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = _TAG + b"b" + bytes(value)
    else:
        try:
            raw = _TAG + b"j" + _COMPACT(value).encode()
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"cache values are str, bytes or JSON-serialisable; {exc}") from None
    if len(raw) > MAX_VALUE_BYTES:
        raise ItemTooLarge(f"cache value is {len(raw)} bytes; the limit is {MAX_VALUE_BYTES}")
    return raw


def decode(raw: bytes) -> Any:
    if not raw.startswith(_TAG):
        return int(raw)
    kind, body = raw[1:2], raw[2:]
    if kind == b"s":
        return body.decode("utf-8")
    if kind == b"b":
        return body
    return json.loads(body)


class Cache(Resource[CacheBackend]):
    """A cache declared with ``app.cache(name)``. Thread-safe."""

    kind = "cache"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(self, ctx: Context, name: str, *, provider: str | None = None, allow: Any = None) -> None:
        super().__init__(ctx, name, provider, allow)
        self._snapshot: Any = None

    def _expiry(self, ttl: Any) -> float | None:
        """When an entry written with ``ttl`` seconds expires (None: never); a ttl needs the capability."""
        if ttl is None:
            return None
        self._need("ttl")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValidationError(f"ttl must be a positive number of seconds, got {ttl!r}")
        return clock.now() + ttl

    @requires("read")
    def get(self, key: str) -> Any:
        raw = self.backend.get_many([check_key(key)]).get(key)
        return None if raw is None else decode(raw)

    @requires("write")
    def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        if value is None:
            raise ValidationError("None is what a miss returns; delete the key instead of caching None")
        self.backend.set_many({check_key(key): encode(value)}, self._expiry(ttl))

    @requires("write")
    def delete(self, key: str) -> bool:
        return self.backend.delete(check_key(key))

    @requires("write")
    def incr(self, key: str, by: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``by`` (a missing key starts at 0; ``ttl`` applies when it is created)."""
        self._need("incr")
        if isinstance(by, bool) or not isinstance(by, int):
            raise ValidationError("incr takes an integer")
        return self.backend.incr(check_key(key), by, self._expiry(ttl))

    @requires("read")
    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values found (missing and expired keys are absent from the result)."""
        wanted = [check_key(k) for k in keys]
        return {k: decode(v) for k, v in self.backend.get_many(wanted).items()} if wanted else {}

    @requires("write")
    def set_many(self, items: dict[str, Any], *, ttl: float | None = None) -> None:
        expires_at = self._expiry(ttl)
        encoded = {}
        for key, value in items.items():
            if value is None:
                raise ValidationError(f"cannot cache None for {key!r}")
            encoded[check_key(key)] = encode(value)
        if encoded:
            self.backend.set_many(encoded, expires_at)

    @requires("read")
    def get_or_set(self, key: str, compute: Callable[[], Any], *, ttl: float | None = None) -> Any:
        """The cached value, or ``compute()`` stored for ``ttl`` seconds and returned."""
        self._expiry(ttl)  # a ttl the provider cannot keep fails before compute() runs
        value = self.get(key)
        if value is None:
            value = compute()
            if value is not None:
                self.set(key, value, ttl=ttl)
        return value

    # -- durability -----------------------------------------------------------------------------
    @property
    def snapshot_table(self) -> Any:
        """``<name>-snapshot``: where ``persist`` writes and ``restore`` reads (a DynamoDB table on AWS)."""
        if self._snapshot is None:
            from ..table import Table

            self._snapshot = Table(self.ctx, f"{self.name}-snapshot", key="p", sort="k", ttl="exp", decimals=True)
        return self._snapshot

    @requires("read")
    def persist(self) -> int:
        """Copy every live entry (with its remaining TTL) into the snapshot table; returns the count."""
        self._need("persist")
        table = self.snapshot_table
        for old in list(table.iterate("snapshot", page_size=500)):
            table.delete(("snapshot", old["k"]))
        batch, count = [], 0
        for key, raw, expires_at in self.backend.dump():
            item: dict[str, Any] = {"p": "snapshot", "k": key, "v": raw}
            if expires_at is not None:
                item["exp"] = round(expires_at, 3)
            batch.append(item)
            if len(batch) == 100:
                count += table.batch_put(batch)
                batch = []
        return count + (table.batch_put(batch) if batch else 0)

    @requires("write")
    def restore(self) -> int:
        """Warm the cache from the snapshot table (expired entries skipped); returns the count."""
        self._need("persist")
        entries = [
            (i["k"], bytes(i["v"]), float(i["exp"]) if "exp" in i else None)
            for i in self.snapshot_table.iterate("snapshot", page_size=500)
        ]
        if entries:
            self.backend.load(entries)
        return len(entries)

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None
