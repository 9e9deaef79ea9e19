"""kv on the table primitive: serves the local (SQLite) and aws (DynamoDB) providers alike."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..core.context import ProviderServices
from ..table import Sort, Table

if TYPE_CHECKING:
    from . import KV
    from .spi import KVBackend

PARTITION = "kv"  # one partition per namespace keeps prefix listing an ordered range query


class TableKV:
    """Items ``{p: "kv", k: key, s|b: value, exp: epoch}``; ``exp`` is the table's TTL attribute."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.capabilities = frozenset({"ttl", "list", "bytes"})

    def get(self, key: str, now: float) -> str | bytes | None:
        item = self.table.get((PARTITION, key))
        if item is None:
            return None
        return item["b"] if "b" in item else item["s"]

    def set(self, key: str, value: str | bytes, expires_at: float | None) -> None:
        item: dict[str, Any] = {"p": PARTITION, "k": key, ("b" if isinstance(value, bytes) else "s"): value}
        if expires_at is not None:
            item["exp"] = Decimal(f"{expires_at:.3f}")
        self.table.put(item)

    def delete(self, key: str, now: float) -> bool:
        return self.table.delete((PARTITION, key)) is not None

    def list(self, prefix: str, limit: int, after: str | None, now: float) -> list[str]:
        cursor = self.table._encode_cursor({"p": PARTITION, "k": after}, None, PARTITION) if after else None
        sort = Sort.begins_with(prefix) if prefix else None
        page = self.table.query(PARTITION, sort=sort, limit=limit, cursor=cursor)
        return [item["k"] for item in page.items]

    def drop(self) -> None:
        self.table.drop()


def open_backend(kv: KV, services: ProviderServices) -> TableKV:
    """The registry's factory for the local and aws providers: a namespace is a table of its own."""
    table = Table(kv.ctx, kv.name, "p", "k", ttl="exp", provider=kv.provider)
    table.stored_as = "kv"
    return TableKV(table)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: TableKV) -> KVBackend:
        return backend
