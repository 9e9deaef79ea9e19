"""The embedded table provider: one SQLite file (WAL) holding every table of an app.

Each table is a SQLite table keyed by the order-preserving bytes of its partition and sort
keys; each secondary index is a side table maintained in the same transaction as the item,
so an index is never out of step with its table (DynamoDB's GSIs are eventually consistent;
being more consistent locally hides no bug that the cloud would show, because reads through
an index are never promised to be fresh there).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..core import clock
from ..core.context import ProviderServices
from ..core.errors import ConditionFailed, ConfigurationError, TransactionCanceled
from ..core.usage import OFF, Counter
from ..runtime.work import Loop
from ..trace.context import outgoing_header
from .changelog import ChangeLog
from .docs import decode_doc, decode_floats, encode_doc
from .local_query import LocalQuery
from .local_store import LocalTableStore
from .model import Condition, TxOp, Update
from .schema import Index, Schema, sortable
from .values import check_size, check_stored_size

if TYPE_CHECKING:
    from . import Table
    from .spi import TableBackend

TTL_SWEEP_S = 30.0  # DynamoDB deletes expired items within days; reads already hide them


class LocalTableBackend(LocalQuery, ChangeLog):
    capabilities = frozenset({"conditions", "indexes", "ttl", "batch", "transactions", "change_stream"})
    usage: Counter | None = None  # set by the provider registry: DynamoDB read/write units for `strato cost`

    def _units(self, kind: str, size: int, per: int) -> None:
        if self.usage is not None:
            self.usage.add("dynamodb", kind, max(1, -(-size // per)))

    def __init__(
        self, store: LocalTableStore, schema: Schema, physical: str, streaming: Callable[[], bool] | None = None
    ) -> None:
        self.store = store
        self.schema = schema
        self.physical = physical
        self.streaming = streaming or (lambda: False)  # does the table have change handlers right now?
        self.t = f'"t_{physical}"'
        self.itables = {name: f'"i_{physical}__{name}"' for name in schema.indexes}
        self._ready = False
        self._select_sql = f"SELECT doc, expires FROM {self.t} WHERE pk = ? AND sk = ?"  # built once, not per call
        self._upsert_sql = f"INSERT OR REPLACE INTO {self.t} (pk, sk, doc, expires) VALUES (?, ?, ?, ?)"
        # put(if_absent=True) as one statement: insert, or replace an item whose TTL passed (absent to reads)
        self._insert_absent_sql = (
            f"INSERT INTO {self.t} (pk, sk, doc, expires) VALUES (?, ?, ?, ?) ON CONFLICT (pk, sk) DO UPDATE "
            f"SET doc = excluded.doc, expires = excluded.expires WHERE {self.t}.expires <= ?"
        )

    # -- schema -------------------------------------------------------------------------------
    def ensure(self) -> None:
        if self._ready:
            return
        spec = self.schema.describe()
        with self.store.db.write() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t} (pk BLOB NOT NULL, sk BLOB NOT NULL, "
                "doc TEXT NOT NULL, expires REAL, PRIMARY KEY (pk, sk)) WITHOUT ROWID"
            )
            row = conn.execute("SELECT spec FROM strato_tables WHERE name = ?", (self.physical,)).fetchone()
            old = json.loads(row[0]) if row else None
            if old and (old["key"], old["sort"]) != (spec["key"], spec["sort"]):
                raise ConfigurationError(
                    f"table {self.schema.table!r} is stored with key {old['key']}/{old['sort']} but declared with "
                    f"{spec['key']}/{spec['sort']}; delete its data (strato dev --reset) or use a new table name"
                )
            rebuild = {n for n in spec["indexes"] if not old or old["indexes"].get(n) != spec["indexes"][n]}
            for name in (old or {}).get("indexes", {}):
                if name not in spec["indexes"] or name in rebuild:
                    conn.execute(f'DROP TABLE IF EXISTS "i_{self.physical}__{name}"')
            for name in spec["indexes"]:
                it = self.itables[name]
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {it} (ipk BLOB NOT NULL, isk BLOB NOT NULL, "
                    "pk BLOB NOT NULL, sk BLOB NOT NULL, PRIMARY KEY (ipk, isk, pk, sk)) WITHOUT ROWID"
                )
                conn.execute(f'CREATE INDEX IF NOT EXISTS "x_{self.physical}__{name}" ON {it} (pk, sk)')
            if spec["ttl"]:  # TTL sweeps walk this instead of scanning the table; items without a TTL stay out
                conn.execute(
                    f'CREATE INDEX IF NOT EXISTS "e_{self.physical}" ON {self.t} (expires) WHERE expires IS NOT NULL'
                )
            if old and (rebuild or old["ttl"] != spec["ttl"]):
                self._backfill(conn, rebuild, old["ttl"] != spec["ttl"])
            conn.execute(
                "INSERT OR REPLACE INTO strato_tables (name, spec) VALUES (?, ?)", (self.physical, json.dumps(spec))
            )
        self._ready = True

    def _backfill(self, conn: sqlite3.Connection, indexes: set[str], ttl: bool) -> None:
        for pk, sk, doc in conn.execute(f"SELECT pk, sk, doc FROM {self.t}").fetchall():
            item = decode_doc(doc)
            if ttl:
                conn.execute(
                    f"UPDATE {self.t} SET expires = ? WHERE pk = ? AND sk = ?", (self.schema.expires_at(item), pk, sk)
                )
            for name in indexes:
                self._index_one(conn, self.schema.indexes[name], item, pk, sk)

    def drop(self) -> None:
        with self.store.db.write() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {self.t}")
            for it in self.itables.values():
                conn.execute(f"DROP TABLE IF EXISTS {it}")
            conn.execute("DELETE FROM strato_tables WHERE name = ?", (self.physical,))
        self._ready = False

    # -- row helpers --------------------------------------------------------------------------
    def _keys(self, key: dict[str, Any]) -> tuple[bytes, bytes]:
        sort = self.schema.sort
        return sortable(key[self.schema.key.name]), sortable(key[sort.name]) if sort else b""

    def _read(
        self,
        conn: sqlite3.Connection,
        pk: bytes,
        sk: bytes,
        now: float,
        bill: bool = False,
        decode: Callable[[str], dict[str, Any]] = decode_doc,
    ) -> dict[str, Any] | None:
        """The live item (``bill``: a read the caller asked for, in DynamoDB read units; the reads behind a
        condition or the change log are not billed by DynamoDB, the write is)."""
        row = conn.execute(self._select_sql, (pk, sk)).fetchone()
        if bill and self.usage is not None:
            self.usage.add("dynamodb", "read_units", -(-len(row[0]) // 4096) or 1 if row else 1)
        if row is None or (row[1] is not None and row[1] <= now):
            return None
        return decode(row[0])

    def _index_one(self, conn: sqlite3.Connection, index: Index, item: dict[str, Any], pk: bytes, sk: bytes) -> None:
        if index.key.name not in item or (index.sort and index.sort.name not in item):
            return  # sparse: items without the index key are not in the index
        isk = sortable(item[index.sort.name]) if index.sort else b""
        conn.execute(
            f"INSERT OR REPLACE INTO {self.itables[index.name]} (ipk, isk, pk, sk) VALUES (?, ?, ?, ?)",
            (sortable(item[index.key.name]), isk, pk, sk),
        )

    def _log(
        self, conn: sqlite3.Connection, old: dict[str, Any] | None, new: dict[str, Any] | None, by_ttl: bool = False
    ) -> None:
        if not self.streaming():
            return
        source = new if new is not None else old
        if source is None:
            raise ValueError("a change has an old item, a new item or both")
        keys = {n: source[n] for n in self.schema.key_names()}
        event = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
        conn.execute(
            "INSERT INTO strato_changes (tbl, event, keys, old, new, at, ttl, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.physical,
                event,
                encode_doc(keys),
                encode_doc(old) if old is not None else None,
                encode_doc(new) if new is not None else None,
                clock.now(),
                int(by_ttl),
                None if by_ttl else outgoing_header(),  # the writer's trace: the change's handlers continue it
            ),
        )

    def _write(self, conn: sqlite3.Connection, item: dict[str, Any], old: Any = ..., doc: str | None = None) -> None:
        """Store ``item`` (``doc``: its ``encode_doc`` text when the caller has it already)."""
        pk, sk = self._keys(item)
        if self.streaming():
            if old is ...:
                old = self._read(conn, pk, sk, clock.now())
            self._log(conn, old, item)
        if doc is None:
            doc = encode_doc(item)
        self._units("write_units", len(doc), 1024)
        conn.execute(self._upsert_sql, (pk, sk, doc, self.schema.expires_at(item)))
        for name, index in self.schema.indexes.items():
            conn.execute(f"DELETE FROM {self.itables[name]} WHERE pk = ? AND sk = ?", (pk, sk))
            self._index_one(conn, index, item, pk, sk)

    def _remove(self, conn: sqlite3.Connection, pk: bytes, sk: bytes) -> None:
        conn.execute(f"DELETE FROM {self.t} WHERE pk = ? AND sk = ?", (pk, sk))
        for it in self.itables.values():
            conn.execute(f"DELETE FROM {it} WHERE pk = ? AND sk = ?", (pk, sk))

    # -- operations ---------------------------------------------------------------------------
    def get(self, key: dict[str, Any], now: float) -> dict[str, Any] | None:
        if not self._ready:
            self.ensure()
        return self._read(self.store.db.conn, *self._keys(key), now, bill=True)

    def get_floats(self, key: dict[str, Any], now: float) -> dict[str, Any] | None:
        """``get`` with fractional numbers as float, for a table without ``decimals=True``: the facade
        would convert each Decimal to float; decoding the stored text as float gives the same value."""
        if not self._ready:
            self.ensure()
        row = self.store.db.conn.execute(self._select_sql, self._keys(key)).fetchone()  # _read, inlined
        if self.usage is not None:
            self.usage.add("dynamodb", "read_units", -(-len(row[0]) // 4096) or 1 if row else 1)
        if row is None or (row[1] is not None and row[1] <= now):
            return None
        return decode_floats(row[0])

    def put(self, item: dict[str, Any], cond: Condition | None, now: float) -> None:
        if not self._ready:
            self.ensure()
        if cond is None and not self.itables and not self.streaming():  # one statement: autocommit
            pk, sk = self._keys(item)
            doc = encode_doc(item)
            if self.usage is not None:
                self.usage.add("dynamodb", "write_units", -(-len(doc) // 1024) or 1)
            self.store.db.grouped(self._upsert_sql, (pk, sk, doc, self.schema.expires_at(item)))
            return
        if cond is not None and cond.exists is False and not self.itables and not self.streaming():
            self._put_absent(item, now)  # one statement, no transaction: a relay's per-message write
            return
        with self.store.db.write() as conn:
            current: Any = ...  # read once, for the condition and the change log
            if cond is not None or self.streaming():
                current = self._read(conn, *self._keys(item), now)
            if cond is not None and not cond.holds(current):
                self._units("write_units", len(encode_doc(item)), 1024)  # DynamoDB bills a failed write too
                raise ConditionFailed(f"put on table {self.schema.table!r}: the condition did not hold")
            self._write(conn, item, current)
        if self.streaming():
            self.notify()

    def _put_absent(self, item: dict[str, Any], now: float) -> None:
        pk, sk = self._keys(item)
        doc = encode_doc(item)
        self._units("write_units", len(doc), 1024)  # DynamoDB bills a failed conditional write too
        if self.store.db.grouped(self._insert_absent_sql, (pk, sk, doc, self.schema.expires_at(item), now)) == 0:
            raise ConditionFailed(f"put on table {self.schema.table!r}: the condition did not hold")

    def update(self, key: dict[str, Any], update: Update, cond: Condition | None, now: float) -> dict[str, Any]:
        self.ensure()
        with self.store.db.write() as conn:
            current = self._read(conn, *self._keys(key), now)
            if cond is not None and not cond.holds(current):
                self._units("write_units", 0, 1024)  # DynamoDB bills a failed conditional write (1 WRU at least)
                raise ConditionFailed(f"update on table {self.schema.table!r}: the condition did not hold")
            new = update.apply(current, key)
            doc = encode_doc(new)
            check_stored_size(new, doc, self.schema.table)
            self._write(conn, new, current, doc)
        if self.streaming():
            self.notify()
        return new

    def modify(
        self, key: dict[str, Any], change: Callable[[dict[str, Any] | None], dict[str, Any]], now: float
    ) -> dict[str, Any]:
        """Read one item (None: absent or expired), ``change`` it and write the result, in one transaction:
        a read-modify-write that needs no condition and no retry (the cache's ``incr`` on one commit)."""
        self.ensure()
        with self.store.db.write() as conn:
            current = self._read(conn, *self._keys(key), now)
            new = change(current)
            doc = encode_doc(new)
            check_stored_size(new, doc, self.schema.table)
            self._write(conn, new, current, doc)
        if self.streaming():
            self.notify()
        return new

    def delete(self, key: dict[str, Any], cond: Condition | None, now: float) -> dict[str, Any] | None:
        self.ensure()
        with self.store.db.write() as conn:
            pk, sk = self._keys(key)
            current = self._read(conn, pk, sk, now)
            if cond is not None and not cond.holds(current):
                self._units("write_units", 0, 1024)  # DynamoDB bills a failed conditional write (1 WRU at least)
                raise ConditionFailed(f"delete on table {self.schema.table!r}: the condition did not hold")
            self._remove(conn, pk, sk)
            if current is not None:
                self._log(conn, current, None)
            self._units("write_units", 0, 1024)
        if self.streaming():
            self.notify()
        return current

    def batch_get(self, keys: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        self.ensure()
        conn = self.store.db.conn
        found = (self._read(conn, *self._keys(k), now, bill=True) for k in keys)
        return [item for item in found if item is not None]

    def batch_put(self, items: list[dict[str, Any]]) -> None:
        self.ensure()

        def write(conn: sqlite3.Connection) -> None:
            for item in items:
                self._write(conn, item)

        self.store.db.together(write)  # committed with the batches other threads put meanwhile
        if self.streaming():
            self.notify()

    def transact(self, ops: list[TxOp], now: float) -> None:
        # one provider's tables (the facade refuses a transaction across stores), so all are local ones
        backends = [cast(LocalTableBackend, op.table.backend) for op in ops]
        for backend in backends:
            backend.ensure()
        with self.store.db.write() as conn:
            reasons: list[str | None] = []
            currents = []
            for op, backend in zip(ops, backends, strict=True):
                current = backend._read(conn, *backend._keys(op.key), now)
                currents.append(current)
                ok = op.condition is None or op.condition.holds(current)
                reasons.append(None if ok else "ConditionalCheckFailed")
            if any(reasons):
                raise TransactionCanceled(
                    "transaction canceled: "
                    + ", ".join(
                        f"op {i} ({ops[i].kind} on {ops[i].table.name}) {r}" for i, r in enumerate(reasons) if r
                    ),
                    reasons,
                )
            for op, backend, current in zip(ops, backends, currents, strict=True):
                if op.kind == "put":
                    if op.item is None:
                        raise ValueError(f"op {op.kind} on {op.table.name} has no item")  # the facade sets it
                    backend._write(conn, op.item, current)
                elif op.kind == "update":
                    if op.update is None:
                        raise ValueError(f"op {op.kind} on {op.table.name} has no update")  # the facade sets it
                    new = op.update.apply(current, op.key)
                    check_size(new, op.table.name)
                    backend._write(conn, new, current)
                elif op.kind == "delete":
                    backend._remove(conn, *backend._keys(op.key))
                    if current is not None:
                        backend._log(conn, current, None)
        if any(b.streaming() for b in backends):
            self.notify()

    def background(self, table: Table) -> list[Loop]:
        """DynamoDB's own jobs locally: one change-log reader for all stream handlers (it also sweeps TTL every
        second, so TTL removes reach handlers), else a TTL sweep every ``TTL_SWEEP_S``."""
        from .tailer import stream_loops

        if table.stream_handlers:
            return stream_loops(table, self.usage or OFF)
        return [Loop(f"ttl:{table.name}", lambda: self.sweep(clock.now()), idle=TTL_SWEEP_S)]

    def sweep(self, now: float) -> int:
        """Delete expired items (if the table has a TTL); returns how many."""
        return self.sweep_expired(now) if self.schema.ttl else 0

    def sweep_expired(self, now: float) -> int:
        """Delete items whose TTL has passed, as DynamoDB's TTL process does; returns how many. It walks the
        expiry index; items are decoded only for a change stream (its REMOVE records carry the old item)."""
        self.ensure()
        expired = f"FROM {self.t} WHERE expires IS NOT NULL AND expires <= ?"
        with self.store.db.write() as conn:
            if self.streaming():
                rows = conn.execute(f"SELECT pk, sk, doc {expired}", (now,)).fetchall()
                for _, _, doc in rows:
                    self._log(conn, decode_doc(doc), None, by_ttl=True)
            elif self.itables:
                rows = conn.execute(f"SELECT pk, sk {expired}", (now,)).fetchall()
            else:
                rows = []
            for it in self.itables.values():
                conn.executemany(f"DELETE FROM {it} WHERE pk = ? AND sk = ?", [(r[0], r[1]) for r in rows])
            count = int(conn.execute(f"DELETE {expired}", (now,)).rowcount)
        if count:
            self.notify()
        return count


def open_backend(table: Table, services: ProviderServices) -> LocalTableBackend:
    """The registry's factory: every local table of an app shares one SQLite file."""
    store = services.local_store(LocalTableStore)
    backend = LocalTableBackend(
        store, table.schema, f"{table.stored_as}_{table.name}", streaming=lambda: bool(table.stream_handlers)
    )
    backend.usage = services.usage
    return backend


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: LocalTableBackend) -> TableBackend:
        return backend
