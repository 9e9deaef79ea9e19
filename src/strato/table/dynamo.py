"""DynamoDB's view of a table that both the provider and ``strato synth`` need: the key and index
layout (CreateTable and the template must agree) and DynamoDB's errors as strato's."""

from __future__ import annotations

from typing import Any

from ..core.errors import (
    ConditionFailed,
    ItemTooLarge,
    NotFound,
    ServiceUnavailable,
    StratoError,
    ValidationError,
)
from ..runtime.aws import error_code
from .schema import Schema


def table_layout(schema: Schema) -> dict[str, Any]:
    """KeySchema, AttributeDefinitions and GlobalSecondaryIndexes of a schema (CreateTable and the template)."""
    attrs = {schema.key.name: schema.key.type}
    keys = [{"AttributeName": schema.key.name, "KeyType": "HASH"}]
    if schema.sort:
        attrs[schema.sort.name] = schema.sort.type
        keys.append({"AttributeName": schema.sort.name, "KeyType": "RANGE"})
    gsis = []
    for index in schema.indexes.values():
        index_keys = [{"AttributeName": index.key.name, "KeyType": "HASH"}]
        attrs[index.key.name] = index.key.type
        if index.sort:
            index_keys.append({"AttributeName": index.sort.name, "KeyType": "RANGE"})
            attrs[index.sort.name] = index.sort.type
        gsis.append({"IndexName": index.name, "KeySchema": index_keys, "Projection": {"ProjectionType": "ALL"}})
    layout: dict[str, Any] = {
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(attrs.items())],
    }
    if gsis:
        layout["GlobalSecondaryIndexes"] = gsis
    return layout


def translate(exc: BaseException, table: str) -> StratoError:
    """A DynamoDB error as the strato error a user can act on."""
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(f"table {table!r}: the condition did not hold")
    if code == "ResourceNotFoundException":
        return NotFound(
            f"DynamoDB table for {table!r} does not exist: deploy the stack, call table.ensure(), "
            f"or set STRATO_AUTO_CREATE=1 ({message})"
        )
    if code == "ValidationException":
        if "size" in message.lower():
            return ItemTooLarge(f"table {table!r}: {message}")
        return ValidationError(f"table {table!r}: {message}")
    if code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
        return ServiceUnavailable(f"table {table!r} is throttled: {message}")
    return StratoError(f"table {table!r}: DynamoDB error {code or type(exc).__name__}: {message}")
