"""All-or-nothing writes across tables of one provider (DynamoDB TransactWriteItems).

Kept apart from the ``Table`` facade because a transaction spans tables: it validates each operation
with its table's rules as it is added and runs them together on commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core import clock
from ..core.errors import AccessDenied, ValidationError
from ..core.hints import TYPE_CHECKING, Any
from .model import Condition, TxOp

if TYPE_CHECKING:
    from . import Table

MAX_TRANSACTION_OPS = 100  # DynamoDB TransactWriteItems


class Transaction:
    """Use as a context manager; the operations run when the block exits without an exception::

    with app.transaction() as tx:
        tx.put(orders, order, if_absent=True)
        tx.update(stock, sku, add={"count": -1}, if_match={"count": 1})
    """

    def __init__(self) -> None:
        self.ops: list[TxOp] = []

    def put(self, table: Table, item: dict, *, if_absent: bool = False, if_match: dict | None = None) -> None:
        clean = table._item(item)
        self._add(
            TxOp("put", table, table.schema.key_of(clean), clean, condition=Condition.of(if_absent, False, if_match))
        )

    def update(
        self,
        table: Table,
        key: Any,
        *,
        set: dict | None = None,
        remove: Sequence[str] | None = None,
        add: dict | None = None,
        if_exists: bool = False,
        if_match: dict | None = None,
    ) -> None:
        self._add(
            TxOp(
                "update",
                table,
                table.schema.key_of(key),
                update=table._update(set, remove, add),
                condition=Condition.of(False, if_exists, if_match),
            )
        )

    def delete(self, table: Table, key: Any, *, if_exists: bool = False, if_match: dict | None = None) -> None:
        self._add(TxOp("delete", table, table.schema.key_of(key), condition=Condition.of(False, if_exists, if_match)))

    def check(
        self, table: Table, key: Any, *, if_exists: bool = False, if_absent: bool = False, if_match: dict | None = None
    ) -> None:
        cond = Condition.of(if_absent, if_exists, if_match)
        if cond is None:
            raise ValidationError("a transaction check needs a condition (if_exists, if_absent or if_match)")
        self._add(TxOp("check", table, table.schema.key_of(key), condition=cond))

    def _add(self, op: TxOp) -> None:
        needed = "read" if op.kind == "check" else "write"
        if needed not in op.table.allowed:
            raise AccessDenied(
                f"AccessDenied: table {op.table.name!r} does not allow {needed!r} (declared allow="
                f"{tuple(sorted(op.table.allowed))}); a transaction {op.kind} needs it"
            )
        op.table._need("transactions")  # refused as it is added, so a block without them fails at its first line
        if op.condition is not None:
            op.table._need("conditions")
        if len(self.ops) >= MAX_TRANSACTION_OPS:
            raise ValidationError(f"a transaction holds at most {MAX_TRANSACTION_OPS} operations")
        ident = (op.table.name, tuple(repr(op.key[n]) for n in op.table.schema.key_names()))
        if any((o.table.name, tuple(repr(o.key[n]) for n in o.table.schema.key_names())) == ident for o in self.ops):
            raise ValidationError(f"a transaction cannot touch the same item twice ({op.table.name} {op.key})")
        self.ops.append(op)

    def commit(self) -> None:
        if not self.ops:
            return
        first = self.ops[0].table
        for op in self.ops[1:]:  # each table's capabilities were checked as its operation was added
            if op.table.backend.store is not first.backend.store:
                raise ValidationError("a transaction can only span tables of the same provider and store")
        first.backend.transact(self.ops, clock.now())
        self.ops = []

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
