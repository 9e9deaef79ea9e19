"""SNS events: the record Lambda receives for one message delivered to a function subscription, and
``SnsRecord``, its fields read back (attributes in the SNS API's ``{"DataType", "StringValue" |
"BinaryValue"}`` form, so one codec decodes them everywhere)."""

from __future__ import annotations

from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass


def sns_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """Wrap a (signed) SNS message envelope as the record of a Lambda subscription's event."""
    return {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn, "Sns": envelope}


@dataclass(frozen=True)
class SnsRecord:
    message_id: str
    topic_arn: str
    message: str
    attributes: dict[str, dict[str, Any]]
    subject: str | None
    timestamp: str
    subscription_arn: str

    @classmethod
    def read(cls, record: dict[str, Any]) -> SnsRecord:
        sns = record["Sns"]
        attrs = {
            n: {"DataType": a["Type"], "StringValue": a["Value"]}
            if not a["Type"].startswith("Binary")
            else {"DataType": "Binary", "BinaryValue": a["Value"]}
            for n, a in (sns.get("MessageAttributes") or {}).items()
        }
        return cls(
            sns["MessageId"],
            sns["TopicArn"],
            sns["Message"],
            attrs,
            sns.get("Subject"),
            sns.get("Timestamp", ""),
            record.get("EventSubscriptionArn", ""),
        )
