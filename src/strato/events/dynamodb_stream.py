"""DynamoDB Streams events: the AttributeValue codec, the record builder the local change-log tailer
uses, and ``ChangeRecord``, the view ``@table.on_change`` handlers get."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ..core.errors import ValidationError
from . import ACCOUNT_ID, region

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def to_av(value: Any, as_json: bool = False) -> dict[str, Any]:
    """A normalised value as a DynamoDB AttributeValue (``as_json``: binary as base64 text, as JSON carries it)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        if as_json:
            import base64

            return {"B": base64.b64encode(value).decode()}
        return {"B": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: to_av(v, as_json) for k, v in value.items()}}
    return {"L": [to_av(v, as_json) for v in value]}


def from_av(av: dict[str, Any]) -> Any:
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else number
    if kind == "B":  # bytes from boto3; base64 text in a Lambda event's JSON
        return _binary(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_av(v) for k, v in value.items()}
    if kind == "L":
        return [from_av(v) for v in value]
    if kind in ("SS", "BS"):
        return [_binary(v) if kind == "BS" else v for v in value]
    if kind == "NS":
        return [from_av({"N": v}) for v in value]
    raise ValidationError(f"unknown DynamoDB attribute type {kind}")


def _binary(value: Any) -> bytes:
    if isinstance(value, str):
        import base64

        return base64.b64decode(value)
    return bytes(value)


def item_to_av(item: dict[str, Any], as_json: bool = False) -> dict[str, Any]:
    return {k: to_av(v, as_json) for k, v in item.items()}


def item_from_av(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_av(v) for k, v in item.items()}


_STREAM_ARN = re.compile(r"arn:[\w-]+:dynamodb:[\w-]*:\d*:table/([A-Za-z0-9_.-]{3,255})/stream/[^/]+")


def table_of_stream(arn: Any) -> str:
    """The table name in a stream ARN (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``).
    Anything else is refused with the ARN named, not an IndexError from deep in the entry point."""
    match = _STREAM_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise ValidationError(
            f"DynamoDB stream record has eventSourceARN {arn!r}, not a stream ARN "
            "(arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>)"
        )
    return match.group(1)


TRACE_KEY = "strato:trace"  # the local change log's writer trace, added to the records it builds


class ChangeRecord:
    """One change: ``event`` is INSERT / MODIFY / REMOVE, ``keys``, ``old`` and ``new`` plain dicts."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.event: str = record["eventName"]
        data = record["dynamodb"]
        self.sequence: str = data["SequenceNumber"]
        self.keys = {k: from_av(v) for k, v in data.get("Keys", {}).items()}
        self.old = {k: from_av(v) for k, v in data["OldImage"].items()} if "OldImage" in data else None
        self.new = {k: from_av(v) for k, v in data["NewImage"].items()} if "NewImage" in data else None
        self.by_ttl = record.get("userIdentity") == TTL_IDENTITY
        #: the X-Amzn-Trace-Id of the write that made this change (local change log only; None on AWS)
        self.trace: str | None = record.get(TRACE_KEY)

    def __repr__(self) -> str:
        return f"<ChangeRecord {self.event} {self.keys}>"


def stream_record(
    physical: str,
    seq: int,
    event: str,
    keys: dict[str, Any],
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    at: float,
    by_ttl: bool = False,
) -> dict[str, Any]:
    """One DynamoDB Streams record (NEW_AND_OLD_IMAGES) of table ``physical``, as Lambda receives it."""
    # built as Lambda's JSON carries it (B as base64 text) directly: a dumps/loads round trip per record was
    # a third of the local stream reader's time
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": int(at),
        "Keys": item_to_av(keys, as_json=True),
        "SequenceNumber": f"{seq:021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        data["NewImage"] = item_to_av(new, as_json=True)
    if old is not None:
        data["OldImage"] = item_to_av(old, as_json=True)
    data["SizeBytes"] = len(json.dumps(data))
    record = {
        "eventID": f"{seq:032x}",
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region(),
        "dynamodb": data,
        "eventSourceARN": f"arn:aws:dynamodb:{region()}:{ACCOUNT_ID}:table/{physical}/stream/local",
    }
    if by_ttl:
        record["userIdentity"] = TTL_IDENTITY
    return record
