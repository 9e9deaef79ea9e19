"""The DynamoDB table provider (boto3, imported on first use).

Expired items are filtered on every read and treated as absent by every condition, because
DynamoDB deletes them only eventually (up to 48 hours later).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from ..core.context import AwsClients, ProviderServices
from ..core.errors import (
    ServiceUnavailable,
    TransactionCanceled,
    ValidationError,
)
from ..events.dynamodb_stream import item_from_av, item_to_av, to_av
from ..runtime.aws import error_code
from .dynamo import table_layout, translate
from .model import Condition, Sort, TxOp, Update
from .schema import Index, Schema

if TYPE_CHECKING:
    from . import Table
    from .spi import TableBackend


def _stamp(now: float) -> Decimal | int:
    """Now as a DynamoDB number with millisecond precision (TTL values may be fractional)."""
    value = Decimal(f"{now:.3f}").normalize()
    return int(value) if value == value.to_integral_value() else value


class _Expr:
    """Collects placeholder names and values while an expression is being written."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}

    def name(self, attr: str) -> str:
        for placeholder, existing in self.names.items():
            if existing == attr:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_av(value)
        return placeholder

    def params(self, **extra: Any) -> dict[str, Any]:
        out = dict(extra)
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


class DynamoTableBackend:
    # change_stream: DynamoDB Streams feed the Lambda event source mapping; strato dispatches the records
    capabilities = frozenset({"conditions", "indexes", "ttl", "batch", "transactions", "change_stream"})

    def __init__(
        self,
        session: AwsClients,
        schema: Schema,
        physical: str,
        auto_create: bool,
        streaming: Callable[[], bool] | None = None,
    ) -> None:
        self.streaming = streaming or (lambda: False)
        self.store = session
        self.schema = schema
        self.physical = physical
        self.auto_create = auto_create
        self._ready = not auto_create

    @property
    def client(self) -> Any:
        client = self.store.client("dynamodb")
        if not self._ready:
            self._ready = True
            self.ensure()
        return client

    # -- schema -------------------------------------------------------------------------------
    def ensure(self) -> None:
        client = self.store.client("dynamodb")
        try:
            client.describe_table(TableName=self.physical)
            return
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate(exc, self.schema.table) from exc
        params: dict[str, Any] = {
            "TableName": self.physical,
            "BillingMode": "PAY_PER_REQUEST",
            **table_layout(self.schema),
        }
        if self.streaming():
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        try:
            client.create_table(**params)
            client.get_waiter("table_exists").wait(TableName=self.physical, WaiterConfig={"Delay": 1})
            if self.schema.ttl:
                client.update_time_to_live(
                    TableName=self.physical, TimeToLiveSpecification={"Enabled": True, "AttributeName": self.schema.ttl}
                )
        except Exception as exc:
            if error_code(exc) != "ResourceInUseException":  # created meanwhile by another process
                raise translate(exc, self.schema.table) from exc

    def drop(self) -> None:
        try:
            self.store.client("dynamodb").delete_table(TableName=self.physical)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate(exc, self.schema.table) from exc

    # -- expressions --------------------------------------------------------------------------
    def _expired(self, item: dict[str, Any] | None, now: float) -> bool:
        expires = self.schema.expires_at(item) if item else None
        return expires is not None and expires <= now

    def _alive(self, expr: _Expr, ttl_attr: str, now: float) -> str:
        ttl = expr.name(ttl_attr)
        return (
            f"(attribute_not_exists({ttl}) OR NOT attribute_type({ttl}, {expr.value('N')}) "
            f"OR {ttl} > {expr.value(_stamp(now))})"
        )

    def _condition(self, cond: Condition | None, expr: _Expr, now: float, guard: bool = False) -> str | None:
        """A ConditionExpression; ``guard`` also refuses to touch an expired item."""
        ttl = self.schema.ttl
        parts = []
        if cond is None or (cond.exists is None and not cond.equals):
            if guard and ttl:
                key = expr.name(self.schema.key.name)
                parts.append(f"(attribute_not_exists({key}) OR {self._alive(expr, ttl, now)})")
        elif cond.exists is False:
            key = expr.name(self.schema.key.name)
            if ttl:
                t = expr.name(ttl)
                parts.append(
                    f"(attribute_not_exists({key}) OR (attribute_type({t}, {expr.value('N')}) "
                    f"AND {t} <= {expr.value(_stamp(now))}))"
                )
            else:
                parts.append(f"attribute_not_exists({key})")
        else:
            parts.append(f"attribute_exists({expr.name(self.schema.key.name)})")
            if ttl:
                parts.append(self._alive(expr, ttl, now))
            for attr, value in cond.equals:
                parts.append(f"{expr.name(attr)} = {expr.value(value)}")
        return " AND ".join(parts) or None

    def _key(self, key: dict[str, Any]) -> dict[str, Any]:
        return item_to_av(key)

    def _update_expr(self, update: Update, expr: _Expr) -> str:
        clauses = []
        if update.set:
            clauses.append("SET " + ", ".join(f"{expr.name(k)} = {expr.value(v)}" for k, v in update.set.items()))
        if update.remove:
            clauses.append("REMOVE " + ", ".join(expr.name(k) for k in update.remove))
        if update.add:
            clauses.append("ADD " + ", ".join(f"{expr.name(k)} {expr.value(v)}" for k, v in update.add.items()))
        return " ".join(clauses)

    def _purge_expired(self, key: dict[str, Any], now: float) -> None:
        """Delete an expired item now, so an upsert starts from nothing as it would locally."""
        if self.schema.ttl is None:
            return  # without a TTL nothing expires
        expr = _Expr()
        ttl = expr.name(self.schema.ttl)
        try:
            self.client.delete_item(
                TableName=self.physical,
                Key=self._key(key),
                **expr.params(ConditionExpression=f"{ttl} <= {expr.value(_stamp(now))}"),
            )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, self.schema.table) from exc

    # -- operations ---------------------------------------------------------------------------
    def get(self, key: dict[str, Any], now: float) -> dict[str, Any] | None:
        try:
            out = self.client.get_item(TableName=self.physical, Key=self._key(key), ConsistentRead=True)
        except Exception as exc:
            raise translate(exc, self.schema.table) from exc
        item = item_from_av(out["Item"]) if "Item" in out else None
        return None if self._expired(item, now) else item

    def put(self, item: dict[str, Any], cond: Condition | None, now: float) -> None:
        expr = _Expr()
        condition = self._condition(cond, expr, now)
        params = expr.params(ConditionExpression=condition) if condition else {}
        try:
            self.client.put_item(TableName=self.physical, Item=item_to_av(item), **params)
        except Exception as exc:
            raise translate(exc, self.schema.table) from exc

    def update(self, key: dict[str, Any], update: Update, cond: Condition | None, now: float) -> dict[str, Any]:
        for attempt in range(2):
            expr = _Expr()
            update_expr = self._update_expr(update, expr)
            condition = self._condition(cond, expr, now, guard=True)
            params = expr.params(UpdateExpression=update_expr, ReturnValues="ALL_NEW")
            if condition:
                params["ConditionExpression"] = condition
            try:
                out = self.client.update_item(TableName=self.physical, Key=self._key(key), **params)
                return item_from_av(out["Attributes"])
            except Exception as exc:
                unguarded = cond is None or (cond.exists is None and not cond.equals)
                if error_code(exc) == "ConditionalCheckFailedException" and unguarded and attempt == 0:
                    self._purge_expired(key, now)  # the guard failed: the item had expired
                    continue
                if error_code(exc) == "ValidationException" and "incorrect" in str(exc).lower():
                    raise ValidationError(
                        f"table {self.schema.table!r}: cannot add to a non-number attribute ({exc})"
                    ) from exc
                raise translate(exc, self.schema.table) from exc
        raise AssertionError("unreachable")

    def delete(self, key: dict[str, Any], cond: Condition | None, now: float) -> dict[str, Any] | None:
        expr = _Expr()
        condition = self._condition(cond, expr, now)
        params = expr.params(ReturnValues="ALL_OLD")
        if condition:
            params["ConditionExpression"] = condition
        try:
            out = self.client.delete_item(TableName=self.physical, Key=self._key(key), **params)
        except Exception as exc:
            raise translate(exc, self.schema.table) from exc
        old = item_from_av(out["Attributes"]) if "Attributes" in out else None
        return None if self._expired(old, now) else old

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
        expr = _Expr()
        pattr = index.key if index else self.schema.key
        sattr = index.sort if index else self.schema.sort
        key_cond = f"{expr.name(pattr.name)} = {expr.value(partition)}"
        if sort is not None:
            if sattr is None:  # the facade refuses a sort condition without a sort key
                raise ValidationError(f"table {self.schema.table!r} (or that index) has no sort key")
            s = expr.name(sattr.name)
            if sort.op == "between":
                key_cond += f" AND {s} BETWEEN {expr.value(sort.values[0])} AND {expr.value(sort.values[1])}"
            elif sort.op == "begins_with":
                key_cond += f" AND begins_with({s}, {expr.value(sort.values[0])})"
            else:
                key_cond += f" AND {s} {sort.op} {expr.value(sort.values[0])}"
        params = {"TableName": self.physical, "KeyConditionExpression": key_cond, "ScanIndexForward": not descending}
        if self.schema.ttl:
            params["FilterExpression"] = self._alive(expr, self.schema.ttl, now)
        params.update(expr.params())
        if index is not None:
            params["IndexName"] = index.name
        else:
            params["ConsistentRead"] = True
        if after is not None:
            params["ExclusiveStartKey"] = item_to_av(after)
        items: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                params["Limit"] = max(limit - len(items), 1)
            try:
                out = self.client.query(**params)
            except Exception as exc:
                raise translate(exc, self.schema.table) from exc
            items.extend(item_from_av(i) for i in out.get("Items", []))
            last = out.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                break
            params["ExclusiveStartKey"] = last
        items = [i for i in items if not self._expired(i, now)]
        return items[:limit] if limit is not None else items

    def batch_get(self, keys: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        request = {self.physical: {"Keys": [self._key(k) for k in keys], "ConsistentRead": True}}
        found: list[dict[str, Any]] = []
        for attempt in range(8):
            try:
                out = self.client.batch_get_item(RequestItems=request)
            except Exception as exc:
                raise translate(exc, self.schema.table) from exc
            found.extend(item_from_av(i) for i in out.get("Responses", {}).get(self.physical, []))
            request = out.get("UnprocessedKeys") or {}
            if not request:
                return [i for i in found if not self._expired(i, now)]
            time.sleep(min(0.05 * 2**attempt, 1.0))
        raise ServiceUnavailable(f"table {self.schema.table!r}: DynamoDB left keys unprocessed after retries")

    def batch_put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            request = {self.physical: [{"PutRequest": {"Item": item_to_av(i)}} for i in items[start : start + 25]]}
            for attempt in range(8):
                try:
                    out = self.client.batch_write_item(RequestItems=request)
                except Exception as exc:
                    raise translate(exc, self.schema.table) from exc
                request = out.get("UnprocessedItems") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise ServiceUnavailable(f"table {self.schema.table!r}: items left unprocessed after retries")

    def _tx_item(self, op: TxOp, now: float) -> dict[str, Any]:
        backend = cast(DynamoTableBackend, op.table.backend)  # one provider's tables (the facade checks)
        expr = _Expr()
        base = {"TableName": backend.physical}
        if op.kind == "put":
            if op.item is None:
                raise ValueError(f"op {op.kind} on {op.table.name} has no item")  # the facade sets it
            condition = backend._condition(op.condition, expr, now)
            body = {**base, "Item": item_to_av(op.item)}
        elif op.kind == "update":
            if op.update is None:
                raise ValueError(f"op {op.kind} on {op.table.name} has no update")  # the facade sets it
            body = {**base, "Key": backend._key(op.key), "UpdateExpression": backend._update_expr(op.update, expr)}
            condition = backend._condition(op.condition, expr, now, guard=True)
        else:
            condition = backend._condition(op.condition, expr, now)
            body = {**base, "Key": backend._key(op.key)}
        if condition:
            body["ConditionExpression"] = condition
        body.update(expr.params())
        kind = {"put": "Put", "update": "Update", "delete": "Delete", "check": "ConditionCheck"}[op.kind]
        return {kind: body}

    def transact(self, ops: list[TxOp], now: float) -> None:
        for attempt in range(2):
            try:
                self.client.transact_write_items(TransactItems=[self._tx_item(op, now) for op in ops])
                return
            except Exception as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise translate(exc, ops[0].table.name) from exc
                raw = getattr(exc, "response", {}).get("CancellationReasons") or [{}] * len(ops)
                reasons = [None if r.get("Code") in (None, "None") else r.get("Code") for r in raw]
                expired = [
                    op
                    for op, r in zip(ops, reasons, strict=False)
                    if r
                    and op.kind == "update"
                    and (op.condition is None or (op.condition.exists is None and not op.condition.equals))
                ]
                if expired and attempt == 0 and len(expired) == sum(1 for r in reasons if r):
                    for op in expired:
                        cast(DynamoTableBackend, op.table.backend)._purge_expired(op.key, now)
                    continue
                detail = ", ".join(
                    f"op {i} ({ops[i].kind} on {ops[i].table.name}) {r}" for i, r in enumerate(reasons) if r
                )
                raise TransactionCanceled(f"transaction canceled: {detail or exc}", reasons) from exc


def open_backend(table: Table, services: ProviderServices) -> DynamoTableBackend:
    """The registry's factory: the table named by the template (or auto-created against moto)."""
    return DynamoTableBackend(
        services.aws(),
        table.schema,
        table.physical_name,
        services.config.auto_create,
        streaming=lambda: bool(table.stream_handlers),
    )


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: DynamoTableBackend) -> TableBackend:
        return backend
