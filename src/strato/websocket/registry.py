"""The connection registry: one item per open connection in a table (SQLite locally, DynamoDB on AWS).

Items live in one partition per API (``api = <name>``) sorted by connection id, so "every connection"
is a query; each indexed data field is a secondary index, so "everyone in room r1" is a query too.
A TTL of the maximum connection duration cleans up after connections whose $disconnect never ran.
"""

from __future__ import annotations

from ..core import clock
from ..core.errors import GoneError, ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..table import Table
    from . import ConnectionInfo, WebSocketApi


class Registry:
    def __init__(self, ws: WebSocketApi) -> None:
        self.ws = ws
        self._table: Table | None = None

    @property
    def table(self) -> Table:
        if self._table is None:
            from ..table import Table

            indexes = {f"by_{field}": (field, "id") for field in self.ws.index}
            self._table = Table(
                self.ws.ctx,
                f"{self.ws.name}-connections",
                key="api",
                sort="id",
                indexes=indexes,
                ttl="expires_at",
                provider=self.ws.provider_name,
                decimals=True,
            )
        return self._table

    def add(self, connection_id: str, source_ip: str, user_agent: str, data: dict[str, Any]) -> None:
        now = int(clock.now() * 1000)
        item = {
            "api": self.ws.name,
            "id": connection_id,
            "connected_at": now,
            "last_active_at": now,
            "source_ip": source_ip,
            "user_agent": user_agent,
            "data": data,
            "expires_at": now // 1000 + int(self.ws.max_duration) + 60,
        }
        for field in self.ws.index:
            if field in data and data[field] is not None:
                item[field] = data[field] if isinstance(data[field], str) else str(data[field])
        self.table.put(item)

    def get(self, connection_id: str) -> ConnectionInfo | None:
        from . import ConnectionInfo

        item = self.table.get((self.ws.name, connection_id))
        return ConnectionInfo(item) if item else None

    def touch(self, connection_id: str) -> None:
        self.table.update(
            (self.ws.name, connection_id), set={"last_active_at": int(clock.now() * 1000)}, if_exists=True
        )

    def update(self, connection_id: str, changes: dict[str, Any]) -> ConnectionInfo:
        from ..core.errors import ConditionFailed
        from . import ConnectionInfo

        current = self.get(connection_id)
        if current is None:
            raise GoneError(f"connection {connection_id!r} is gone")
        data = {**current.data, **changes}
        sets: dict[str, Any] = {"data": data}
        removes = []
        for field in self.ws.index:
            if field in changes:
                if changes[field] is None:
                    removes.append(field)
                else:
                    sets[field] = changes[field] if isinstance(changes[field], str) else str(changes[field])
        try:
            item = self.table.update((self.ws.name, connection_id), set=sets, remove=removes, if_exists=True)
        except ConditionFailed:
            raise GoneError(f"connection {connection_id!r} is gone") from None
        return ConnectionInfo(item)

    def remove(self, connection_id: str) -> None:
        self.table.delete((self.ws.name, connection_id))

    def forget_all(self) -> int:
        """Delete every entry (the local gateway, starting, knows none of them is open)."""
        ids = [item["id"] for item in self.table.iterate(self.ws.name, page_size=500)]
        for connection_id in ids:
            self.remove(connection_id)
        return len(ids)

    def find(self, where: dict[str, Any] | None) -> list[ConnectionInfo]:
        from . import ConnectionInfo

        if not where:
            return [ConnectionInfo(i) for i in self.table.query(self.ws.name).items]
        indexed = [f for f in where if f in self.ws.index]
        if not indexed:
            raise ValidationError(
                f"websocket {self.ws.name!r}: where= needs an indexed field; declare "
                f"index=[...] with one of {sorted(where)}"
            )
        first = indexed[0]
        value = where[first] if isinstance(where[first], str) else str(where[first])
        found = [ConnectionInfo(i) for i in self.table.iterate(value, index=f"by_{first}", page_size=500)]
        rest = {k: v for k, v in where.items() if k != first}
        return [c for c in found if all(c.data.get(k) == v for k, v in rest.items())]
