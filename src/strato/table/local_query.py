"""Query on the embedded table provider: a DynamoDB key condition (partition, sort operator, index,
direction, ``ExclusiveStartKey``) as one SQL range scan over the order-preserving key bytes.

Mixed into ``LocalTableBackend`` (table/local.py) as ``ChangeLog`` is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..runtime.keyrange import successor
from .docs import decode_doc
from .schema import sortable

if TYPE_CHECKING:
    from .local_store import LocalTableStore
    from .model import Sort
    from .schema import Index


class LocalQuery:
    """Needs the backend's ``store``, table names (``t``, ``itables``), ``_keys``, ``_units`` and ``ensure()``."""

    if TYPE_CHECKING:
        store: LocalTableStore
        t: str
        itables: dict[str, str]

        def ensure(self) -> None: ...

        def _keys(self, key: dict[str, Any]) -> tuple[bytes, bytes]: ...

        def _units(self, kind: str, size: int, per: int) -> None: ...

    def query(
        self,
        partition: Any,
        sort: Sort | None,
        index: Index | None,
        descending: bool,
        limit: int | None,
        after: dict[str, Any] | None,
        now: float,
    ) -> list[dict[str, Any]]:
        self.ensure()
        args: list[Any]
        if index is None:
            source, cols, where, args = self.t, ["sk"], ["pk = ?"], [sortable(partition)]
        else:
            source = f"{self.itables[index.name]} AS i JOIN {self.t} ON {self.t}.pk = i.pk AND {self.t}.sk = i.sk"
            cols, where, args = ["i.isk", "i.pk", "i.sk"], ["i.ipk = ?"], [sortable(partition)]
        where.append("(expires IS NULL OR expires > ?)")
        args.append(now)
        if sort is not None:
            col = cols[0]
            values = [sortable(v) for v in sort.values]
            if sort.op == "between":
                where.append(f"{col} BETWEEN ? AND ?")
                args += values
            elif sort.op == "begins_with":
                where.append(f"{col} >= ?")
                args.append(values[0])
                upper = successor(values[0])
                if upper is not None:
                    where.append(f"{col} < ?")
                    args.append(upper)
            else:
                where.append(f"{col} {sort.op} ?")
                args.append(values[0])
        if after is not None:
            if index is None:
                start = [self._keys(after)[1]]
            else:
                start = [sortable(after[index.sort.name]) if index.sort else b"", *self._keys(after)]
            where.append(f"({', '.join(cols)}) {'<' if descending else '>'} ({', '.join('?' * len(cols))})")
            args += start
        order = ", ".join(f"{c} {'DESC' if descending else 'ASC'}" for c in cols)
        sql = f"SELECT {self.t}.doc FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self.store.db.conn.execute(sql, args).fetchall()
        self._units("read_units", sum(len(r[0]) for r in rows), 4096)
        return [decode_doc(row[0]) for row in rows]
