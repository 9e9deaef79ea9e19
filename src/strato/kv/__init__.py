"""The kv primitive: str or bytes values under string keys, with TTL and ordered prefix listing.

For users coming from Cloudflare KV-style stores. Providers: ``local`` and ``aws`` store each
namespace in a table (SQLite or DynamoDB, partition ``p`` + sort key ``k``, so prefix listing is
an ordered range query); ``redis`` keeps values as Redis strings with native expiry and an
ordered index of keys.
"""

from __future__ import annotations

from ..core import clock
from ..core.context import Context
from ..core.errors import ItemTooLarge, ValidationError, utf8
from ..core.hints import Any
from ..core.permissions import requires
from ..core.resource import Resource
from ..table.model import Page
from .spi import ACTIONS, CAPABILITIES, KVBackend

__all__ = ["CAPABILITIES", "KV", "MAX_KEY_BYTES", "MAX_VALUE_BYTES", "KVBackend"]

MAX_KEY_BYTES = 1024  # DynamoDB's sort-key limit, applied to every provider
MAX_VALUE_BYTES = 400_000  # DynamoDB's 400 KB item, less room for the key and attribute names


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise ValidationError(f"kv keys are strings, got {type(key).__name__}")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size == 0 or size > MAX_KEY_BYTES:
        raise ValidationError(f"kv key must be 1 to {MAX_KEY_BYTES} bytes of UTF-8, got {size} bytes")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("kv key is not valid UTF-8 (it holds a lone surrogate)") from None
    return key


class KV(Resource[KVBackend]):
    """A key-value namespace declared with ``app.kv(name)``. Thread-safe."""

    kind = "kv"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(self, ctx: Context, name: str, *, provider: str | None = None, allow: Any = None) -> None:
        super().__init__(ctx, name, provider, allow)

    @requires("read")
    def get(self, key: str) -> str | bytes | None:
        """The value, or None when absent or expired."""
        return self.backend.get(check_key(key), clock.now())

    @requires("write")
    def set(self, key: str, value: str | bytes, *, ttl: float | None = None) -> None:
        """Store a value; with ``ttl`` (seconds) it disappears after that long."""
        check_key(key)
        if isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        if isinstance(value, bytes):
            self._need("bytes")
            size = len(value)
        elif isinstance(value, str):
            size = len(utf8(value, "kv value"))
        else:
            raise ValidationError(
                f"kv values are str or bytes, got {type(value).__name__}; "
                "serialise it first (json.dumps) or use a table"
            )
        if size > MAX_VALUE_BYTES:
            raise ItemTooLarge(
                f"kv value for {key!r} is {size} bytes; the limit is {MAX_VALUE_BYTES} (store large values in a bucket)"
            )
        expires_at = None
        if ttl is not None:
            self._need("ttl")
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
                raise ValidationError(f"ttl must be a positive number of seconds, got {ttl!r}")
            expires_at = clock.now() + ttl
        self.backend.set(key, value, expires_at)

    @requires("write")
    def delete(self, key: str) -> bool:
        """Remove a key; True if it was there."""
        return self.backend.delete(check_key(key), clock.now())

    @requires("read")
    def list(self, prefix: str = "", *, limit: int = 100, cursor: str | None = None) -> Page[str]:
        """Keys starting with ``prefix`` in byte order, ``limit`` at a time."""
        self._need("list")
        if not isinstance(prefix, str):
            raise ValidationError("prefix must be a string")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError(f"limit must be an integer from 1 to 1000, got {limit!r}")
        if cursor is not None:
            check_key(cursor)
            if not cursor.startswith(prefix):
                raise ValidationError("this cursor belongs to a listing with another prefix")
        keys = self.backend.list(prefix, limit + 1, cursor, clock.now())
        if len(keys) > limit:
            return Page(keys[:limit], keys[limit - 1])
        return Page(keys, None)

    def drop(self) -> None:
        """Delete the namespace and every key in it."""
        self.backend.drop()
        self._backend = None
