"""SQS events: the record a Lambda event source mapping delivers for one message, built from the
message as the SQS API describes it, and read back into the same fields (``SqsRecord``).

Attributes are in the SQS API's form (``{"DataType", "StringValue" | "BinaryValue"}``); in the record
they take Lambda's lower-camel form, binary values base64-encoded.
"""

from __future__ import annotations

from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"  # a stand-in IAM user id, shaped like SQS's SenderId


def sqs_record(
    *,
    message_id: str,
    receipt: str,
    body: str,
    attributes: dict[str, dict[str, Any]],
    receive_count: int,
    sent_at: float,
    first_received_at: float | None,
    group: str | None,
    dedup_id: str | None,
    arn: str,
    region: str,
    trace: str | None = None,
) -> dict[str, Any]:
    """The record Lambda receives from an SQS event source mapping for one message."""
    system = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(int(sent_at * 1000)),
        "SenderId": SENDER_ID,
        "ApproximateFirstReceiveTimestamp": str(int((first_received_at or sent_at) * 1000)),
    }
    if group is not None:
        system["MessageGroupId"] = group
    if dedup_id is not None:
        system["MessageDeduplicationId"] = dedup_id
    if trace is not None:  # the X-Ray trace header the sender set (SendMessage's MessageSystemAttributes)
        system["AWSTraceHeader"] = trace
    import hashlib  # building a record, not importing this module (a cold start declares queues)

    attrs: dict[str, dict[str, Any]] = {}
    for name, raw in attributes.items():
        entry: dict[str, Any] = {"dataType": raw["DataType"], "stringListValues": [], "binaryListValues": []}
        if "BinaryValue" in raw:
            import base64

            entry["binaryValue"] = base64.b64encode(raw["BinaryValue"]).decode()
        else:
            entry["stringValue"] = raw["StringValue"]
        attrs[name] = entry
    return {
        "messageId": message_id,
        "receiptHandle": receipt,
        "body": body,
        "attributes": system,
        "messageAttributes": attrs,
        "md5OfBody": hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


@dataclass(frozen=True)
class SqsRecord:
    """The fields of one SQS record; ``attributes`` stay in the record's form (decode them with the
    queue's attribute codec)."""

    message_id: str
    receipt: str
    body: str
    attributes: dict[str, dict[str, Any]]
    receive_count: int
    sent_at: float
    first_received_at: float | None
    group: str | None
    dedup_id: str | None
    queue: str
    trace: str | None = None

    @classmethod
    def read(cls, record: dict[str, Any]) -> SqsRecord:
        system = record.get("attributes") or {}
        first = system.get("ApproximateFirstReceiveTimestamp")
        return cls(
            message_id=record["messageId"],
            receipt=record.get("receiptHandle", ""),
            body=record.get("body", ""),
            attributes=record.get("messageAttributes") or {},
            receive_count=int(system.get("ApproximateReceiveCount", 1)),
            sent_at=int(system.get("SentTimestamp", 0)) / 1000,
            first_received_at=int(first) / 1000 if first else None,
            group=system.get("MessageGroupId"),
            dedup_id=system.get("MessageDeduplicationId"),
            queue=record.get("eventSourceARN", "").rsplit(":", 1)[-1],
            trace=system.get("AWSTraceHeader"),
        )
