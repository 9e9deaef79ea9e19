"""The table provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import Any, Protocol
from .model import Condition, Sort, TxOp, Update
from .schema import Index

#: Everything a table provider may offer; each provider declares the subset it has.
CAPABILITIES = frozenset({"conditions", "indexes", "ttl", "batch", "transactions", "change_stream"})

DYNAMO_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
DYNAMO_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)
#: action -> the IAM actions it needs (kv and cache, kept in a table, grant the same)
ACTIONS = {"read": DYNAMO_READ, "write": DYNAMO_WRITE}


class TableBackend(Protocol):
    """What a provider implements. Inputs are normalised; outputs are normalised items."""

    capabilities: frozenset[str]
    store: Any  # transactions may span only backends with the same store

    def get(self, key: dict[str, Any], now: float) -> dict[str, Any] | None: ...
    def put(self, item: dict[str, Any], cond: Condition | None, now: float) -> None: ...
    def update(self, key: dict[str, Any], update: Update, cond: Condition | None, now: float) -> dict[str, Any]: ...
    def delete(self, key: dict[str, Any], cond: Condition | None, now: float) -> dict[str, Any] | None: ...
    def query(
        self,
        partition: Any,
        sort: Sort | None,
        index: Index | None,
        descending: bool,
        limit: int | None,
        after: dict[str, Any] | None,
        now: float,
    ) -> list[dict[str, Any]]: ...
    def batch_get(self, keys: list[dict[str, Any]], now: float) -> list[dict[str, Any]]: ...
    def batch_put(self, items: list[dict[str, Any]]) -> None: ...
    def transact(self, ops: list[TxOp], now: float) -> None: ...
    def ensure(self) -> None: ...
    def drop(self) -> None: ...
