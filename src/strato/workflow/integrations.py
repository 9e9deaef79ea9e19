"""Step Functions' optimized service integrations with the app's own resources, run by the local executor.

``arn:aws:states:::sqs:sendMessage`` sends to a strato queue, ``arn:aws:states:::sns:publish`` publishes to a
strato topic, ``arn:aws:states:::dynamodb:getItem`` (``putItem`` / ``updateItem`` / ``deleteItem``) uses a
strato table. Parameters, results and error names are the ones Step Functions uses, so a definition runs
the same on AWS; only what the strato facades can do is accepted (checked at declaration)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..core.errors import ConditionFailed, ConfigurationError, StratoError
from .errors import StatesError

PREFIX = "arn:aws:states:::"
#: integration -> (required Parameters, allowed Parameters)
SERVICES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sqs:sendMessage": (
        ("QueueUrl", "MessageBody"),
        ("MessageAttributes", "DelaySeconds", "MessageGroupId", "MessageDeduplicationId"),
    ),
    "sns:publish": (
        ("TopicArn", "Message"),
        ("MessageAttributes", "Subject", "MessageGroupId", "MessageDeduplicationId"),
    ),
    "dynamodb:getItem": (("TableName", "Key"), ("ConsistentRead",)),
    "dynamodb:putItem": (
        ("TableName", "Item"),
        ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues"),
    ),
    "dynamodb:updateItem": (
        ("TableName", "Key", "UpdateExpression"),
        ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues", "ReturnValues"),
    ),
    "dynamodb:deleteItem": (
        ("TableName", "Key"),
        ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues", "ReturnValues"),
    ),
}
_RETURN_VALUES = {"dynamodb:updateItem": ("NONE", "ALL_NEW"), "dynamodb:deleteItem": ("NONE", "ALL_OLD")}
_NAME = r"#?[A-Za-z_][A-Za-z0-9_]*"
_EXISTS = re.compile(rf"^\s*attribute_(not_)?exists\s*\(\s*({_NAME})\s*\)\s*$")
_EQUALS = re.compile(rf"^\s*({_NAME})\s*=\s*(:[A-Za-z0-9_]+)\s*$")
_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD)\b", re.IGNORECASE)


def is_integration(resource: str) -> bool:
    return resource.startswith(PREFIX)


def check(name: str, state: dict[str, Any]) -> None:
    """At declaration: a known integration, its required Parameters, and expressions strato can run."""
    service = state["Resource"][len(PREFIX) :]
    if service not in SERVICES:
        known = ", ".join(PREFIX + s for s in SERVICES)
        raise ConfigurationError(f"state {name!r}: unknown service integration {state['Resource']!r} (known: {known})")
    given = check_fields(name, service, state.get("Parameters"), *SERVICES[service])
    try:
        if isinstance(given.get("UpdateExpression"), str):
            parse_update(given["UpdateExpression"], {}, None)
        if isinstance(given.get("ConditionExpression"), str):
            parse_condition(given["ConditionExpression"], {}, None, service)
    except StatesError as exc:
        raise ConfigurationError(f"state {name!r}: {exc.cause}") from None
    returns = given.get("ReturnValues")
    if isinstance(returns, str) and returns not in _RETURN_VALUES.get(service, ("NONE",)):
        allowed = " or ".join(_RETURN_VALUES.get(service, ("NONE",)))
        raise ConfigurationError(f"state {name!r}: {service} ReturnValues must be {allowed} here, not {returns!r}")


def check_fields(
    name: str, service: str, given: Any, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    """A Task's Parameters hold the service's required fields and no field it does not take."""
    if not isinstance(given, dict):
        raise ConfigurationError(f"state {name!r}: {service} needs Parameters ({', '.join(required)})")
    fields = {k[:-2] if k.endswith(".$") else k for k in given}
    missing = [f for f in required if f not in fields]
    if missing:
        raise ConfigurationError(f"state {name!r}: {service} needs the Parameters {', '.join(missing)}")
    unknown = sorted(fields - {*required, *optional})
    if unknown:
        raise ConfigurationError(f"state {name!r}: {service} does not take {', '.join(unknown)} (locally)")
    return given


def handler(resource: str, find: Callable[[str], list[Any]]) -> Callable[[Any], Any]:
    """The callable the executor runs for an integration Task; ``find(kind)`` lists the app's resources."""
    service = resource[len(PREFIX) :]
    run = _RUNS[service]
    prefix = service.split(":")[0]
    family = {"sqs": "SQS.AmazonSQSException", "sns": "SNS.AmazonSNSException"}.get(
        prefix, "DynamoDB.AmazonDynamoDBException"
    )

    def call(params: Any) -> Any:
        try:
            return run(params, find)
        except StatesError:
            raise
        except ConditionFailed as exc:
            raise StatesError("DynamoDB.ConditionalCheckFailedException", str(exc)) from None
        except (StratoError, ValueError, TypeError) as exc:
            raise StatesError(family, str(exc)) from None

    return call


# -- finding the resource -------------------------------------------------------------------------
def _resource(kind: str, given: Any, find: Callable[[str], list[Any]], error: str) -> Any:
    """By the name AWS uses (physical name, ARN, queue URL), or by the strato name when no other resource's
    physical name is that string (a physical name always wins, as it is what Step Functions sees)."""
    if not isinstance(given, str) or not given:
        raise StatesError(error, f"a {kind} name is needed, got {given!r}")
    candidates = find(kind)
    last = given.rstrip("/").rsplit("/", 1)[-1] if kind == "queue" and given.startswith("http") else given
    for resource in candidates:
        if last == resource.physical_name or given == getattr(resource, "arn", None):
            return resource
    for resource in candidates:
        if given == resource.name:
            return resource
    raise StatesError(error, f"no {kind} of this app is named {given!r}")


# -- SQS ------------------------------------------------------------------------------------------
def _attributes(given: Any) -> dict[str, Any] | None:
    if not given:
        return None
    out: dict[str, Any] = {}
    for name, value in dict(given).items():
        kind = value.get("DataType", "") if isinstance(value, dict) else ""
        if kind.startswith("Binary"):
            out[name] = base64.b64decode(value.get("BinaryValue", ""))
        elif kind.startswith("Number"):
            text = value.get("StringValue", "")
            out[name] = float(text) if any(c in text for c in ".eE") else int(text)
        elif kind.startswith("String"):
            out[name] = value.get("StringValue")
        else:
            raise ValueError(f"attribute {name!r} needs a DataType of String, Number or Binary")
    return out


def _body(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _send(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    queue = _resource("queue", params.get("QueueUrl"), find, "SQS.QueueDoesNotExistException")
    body = _body(params.get("MessageBody"))
    message_id = queue.send(
        body,
        attributes=_attributes(params.get("MessageAttributes")),
        delay=params.get("DelaySeconds"),
        group=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
    )
    return {"MessageId": message_id, "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()}


# -- SNS ------------------------------------------------------------------------------------------
def _publish(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    topic = _resource("topic", params.get("TopicArn"), find, "SNS.NotFoundException")
    message_id = topic.publish(
        _body(params.get("Message")),
        attributes=_attributes(params.get("MessageAttributes")),
        subject=params.get("Subject"),
        group=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
    )
    return {"MessageId": message_id}


# -- DynamoDB -------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A DynamoDB AttributeValue (``{"S": "x"}``, ``{"N": "1"}``, ``{"M": {...}}``...) as a strato value."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"not a DynamoDB AttributeValue: {value!r}")
    ((kind, inner),) = value.items()
    if kind == "S":
        return str(inner)
    if kind == "N":
        number = Decimal(str(inner))
        return int(number) if number == number.to_integral_value() and "." not in str(inner) else number
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "B":
        return base64.b64decode(inner)
    if kind == "M":
        return {k: plain(v) for k, v in dict(inner).items()}
    if kind == "L":
        return [plain(v) for v in inner]
    raise ValueError(f"AttributeValue type {kind!r} is not supported by strato tables (sets are stored as lists)")


def typed(value: Any) -> dict[str, Any]:
    """A strato value as a DynamoDB AttributeValue, as GetItem returns it."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    return {"L": [typed(v) for v in value]}


def _item(given: Any, what: str) -> dict[str, Any]:
    if not isinstance(given, dict) or not given:
        raise ValueError(f"{what} must be a map of attribute names to AttributeValues")
    return {k: plain(v) for k, v in given.items()}


def _name(token: str, names: dict[str, Any]) -> str:
    if not token.startswith("#"):
        return token
    if token not in names:
        raise StatesError("DynamoDB.AmazonDynamoDBException", f"{token} is not in ExpressionAttributeNames")
    return str(names[token])


def _value(token: str, values: dict[str, Any] | None) -> Any:
    if values is None:
        return None  # checking the expression's shape at declaration
    if token not in values:
        raise StatesError("DynamoDB.AmazonDynamoDBException", f"{token} is not in ExpressionAttributeValues")
    return plain(values[token])


def parse_update(text: str, names: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    """``SET a = :x, #b = :y REMOVE c ADD n :one`` as the table facade's set / remove / add."""
    unsupported = "strato tables run UpdateExpressions of SET a = :v, REMOVE a and ADD n :v clauses"
    parts = _CLAUSE.split(text)
    if parts[0].strip() or len(parts) < 3:
        raise StatesError("DynamoDB.AmazonDynamoDBException", f"{unsupported}: {text!r}")
    out: dict[str, Any] = {"set": {}, "remove": [], "add": {}}
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        for action in body.split(","):
            action = action.strip()
            kind = keyword.upper()
            match = (
                re.fullmatch(rf"({_NAME})\s*=\s*(:[A-Za-z0-9_]+)", action)
                if kind == "SET"
                else re.fullmatch(rf"({_NAME})\s+(:[A-Za-z0-9_]+)", action)
                if kind == "ADD"
                else re.fullmatch(rf"({_NAME})", action)
            )
            if match is None:
                raise StatesError("DynamoDB.AmazonDynamoDBException", f"{unsupported}: {action!r}")
            if values is None:
                continue
            attr = _name(match.group(1), names)
            if kind == "REMOVE":
                out["remove"].append(attr)
            else:
                out[kind.lower()][attr] = _value(match.group(2), values)
    return out


def parse_condition(text: str, names: dict[str, Any], values: dict[str, Any] | None, service: str) -> dict[str, Any]:
    """The conditions strato tables take: attribute_not_exists(key) (putItem), attribute_exists(key)
    (updateItem / deleteItem), and ``a = :v AND ...`` (every item operation)."""
    exists = _EXISTS.match(text)
    if exists:
        allowed = service == "dynamodb:putItem" if exists.group(1) else service != "dynamodb:putItem"
        if not allowed:
            raise StatesError(
                "DynamoDB.AmazonDynamoDBException",
                "strato tables take attribute_not_exists(key) on putItem and attribute_exists(key) on updateItem "
                f"and deleteItem, not {text!r}",
            )
        return {"if_absent": True} if exists.group(1) else {"if_exists": True}
    match: dict[str, Any] = {}
    for clause in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE):
        equals = _EQUALS.match(clause)
        if equals is None:
            raise StatesError(
                "DynamoDB.AmazonDynamoDBException",
                "strato tables take ConditionExpressions of attribute_not_exists(key), attribute_exists(key) or "
                f"a = :v joined by AND, not {text!r}",
            )
        if values is not None:
            match[_name(equals.group(1), names)] = _value(equals.group(2), values)
    return {"if_match": match}


def _table(params: dict[str, Any], find: Callable[[str], list[Any]], service: str = "") -> Any:
    returns = params.get("ReturnValues", "NONE")
    if returns not in _RETURN_VALUES.get(service, ("NONE",)):
        allowed = " or ".join(_RETURN_VALUES.get(service, ("NONE",)))
        raise ValueError(f"ReturnValues must be {allowed} for {service} on a strato table, not {returns!r}")
    return _resource("table", params.get("TableName"), find, "DynamoDB.ResourceNotFoundException")


def _condition(params: dict[str, Any], service: str) -> dict[str, Any]:
    if "ConditionExpression" not in params:
        return {}
    names, values = params.get("ExpressionAttributeNames") or {}, params.get("ExpressionAttributeValues") or {}
    return parse_condition(params["ConditionExpression"], names, values, service)


def _get(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    found = _table(params, find).get(_item(params.get("Key"), "Key"))
    return {} if found is None else {"Item": {k: typed(v) for k, v in found.items()}}


def _put(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    _table(params, find).put(_item(params.get("Item"), "Item"), **_condition(params, "dynamodb:putItem"))
    return {}


def _update(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    names, values = params.get("ExpressionAttributeNames") or {}, params.get("ExpressionAttributeValues") or {}
    change = parse_update(str(params.get("UpdateExpression")), names, values)
    new = _table(params, find, "dynamodb:updateItem").update(
        _item(params.get("Key"), "Key"),
        set=change["set"] or None,
        remove=change["remove"] or None,
        add=change["add"] or None,
        **_condition(params, "dynamodb:updateItem"),
    )
    return {"Attributes": {k: typed(v) for k, v in new.items()}} if params.get("ReturnValues") == "ALL_NEW" else {}


def _delete(params: dict[str, Any], find: Callable[[str], list[Any]]) -> dict[str, Any]:
    old = _table(params, find, "dynamodb:deleteItem").delete(
        _item(params.get("Key"), "Key"), **_condition(params, "dynamodb:deleteItem")
    )
    if params.get("ReturnValues") == "ALL_OLD" and old is not None:
        return {"Attributes": {k: typed(v) for k, v in old.items()}}
    return {}


_RUNS: dict[str, Callable[[dict[str, Any], Callable[[str], list[Any]]], dict[str, Any]]] = {
    "sqs:sendMessage": _send,
    "sns:publish": _publish,
    "dynamodb:getItem": _get,
    "dynamodb:putItem": _put,
    "dynamodb:updateItem": _update,
    "dynamodb:deleteItem": _delete,
}

__all__ = ["PREFIX", "SERVICES", "check", "check_fields", "handler", "is_integration", "plain", "typed"]
