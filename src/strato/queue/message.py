"""Messages and their attributes, shaped like SQS's, shared by every queue provider."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache

from ..core.errors import ItemTooLarge, ValidationError, parse_json
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

MAX_MESSAGE_BYTES = 1_048_576  # SQS: 1 MiB for body + attributes (raised from 256 KiB in 2025)
MAX_ATTRIBUTES = 10
MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43_200
MAX_WAIT_S = 20
MAX_BATCH = 10


@cache
def _attr_name() -> re.Pattern[str]:
    return re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")


@cache
def _bad_chars() -> re.Pattern[str]:
    """Compiled on the first send, not at import: its Unicode ranges cost a Lambda cold start ~3 ms."""
    # SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
    return re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


AttributeValue = str | int | float | bytes | list[Any]


def encode_body(body: Any) -> str:
    """The wire form of a body: strings as they are, anything JSON-able as compact JSON."""
    if isinstance(body, str):
        text = body
    elif isinstance(body, (bytes, bytearray)):
        raise ValidationError("message bodies are text: send base64 or JSON, or put bytes in a bucket")
    else:
        try:
            text = _ENCODE(body)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"message body is not JSON-serialisable: {exc}") from None
    if not text:
        raise ValidationError("message body must not be empty (SQS refuses empty messages)")
    bad = _bad_chars().search(text)
    if bad:
        raise ValidationError(
            f"message body has character U+{ord(bad.group()):04X} at {bad.start()}, which SQS does not allow"
        )
    return text


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# one encoder for every body: json.dumps with these options builds a new one per call
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode


def encode_attributes(attributes: dict[str, AttributeValue] | None) -> dict[str, dict[str, Any]]:
    """Attributes as SQS MessageAttributes: {"name": {"DataType": ..., "StringValue"|"BinaryValue": ...}}."""
    if not attributes:
        return {}
    if not isinstance(attributes, dict):
        raise ValidationError("attributes must be a dict of name -> value")
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValidationError(f"a message carries at most {MAX_ATTRIBUTES} attributes, got {len(attributes)}")
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        if (
            not isinstance(name, str)
            or not _attr_name().match(name)
            or ".." in name
            or name.startswith(".")
            or name.endswith(".")
            or name.lower().startswith(("aws.", "amazon."))
        ):
            raise ValidationError(f"attribute name {name!r} is not allowed (letters, digits, _ - ., no 'AWS.' prefix)")
        if isinstance(value, bool):
            raise ValidationError(f"attribute {name!r}: booleans are not an SQS type; send 'true'/'false'")
        if isinstance(value, str):
            if not value:
                raise ValidationError(f"attribute {name!r} must not be empty")
            out[name] = {"DataType": "String", "StringValue": value}
        elif isinstance(value, (int, float)):
            out[name] = {"DataType": "Number", "StringValue": repr(value) if isinstance(value, float) else str(value)}
        elif isinstance(value, (bytes, bytearray)):
            out[name] = {"DataType": "Binary", "BinaryValue": bytes(value)}
        elif isinstance(value, (list, tuple)):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(list(value), separators=(",", ":"))}
        else:
            raise ValidationError(f"attribute {name!r}: {type(value).__name__} is not str, number, bytes or list")
    return out


def decode_attributes(
    raw: dict[str, dict[str, Any]], skip: Callable[[str, str], None] | None = None
) -> dict[str, AttributeValue]:
    """Attributes in the API's form as Python values. An attribute that does not decode (Binary that is
    not base64, a Number that is not a number, a String.Array that is not JSON) raises ValidationError,
    or, given ``skip``, is left out and reported as ``skip(name, why)`` so the others still arrive."""
    out: dict[str, AttributeValue] = {}
    for name, attr in (raw or {}).items():
        try:
            out[name] = _decode_one(name, attr)
        except ValidationError as exc:
            if skip is None:
                raise
            skip(name, str(exc))
    return out


def _decode_one(name: str, attr: dict[str, Any]) -> AttributeValue:
    kind = attr.get("DataType") or attr.get("dataType") or "String"
    text = attr.get("StringValue", attr.get("stringValue"))
    if kind.startswith("Binary"):
        value = attr.get("BinaryValue", attr.get("binaryValue"))
        if value is None:
            raise ValidationError(f"message attribute {name!r} ({kind}) has no BinaryValue")
        if not isinstance(value, str):
            return bytes(value)
        try:
            import base64

            return base64.b64decode(value, validate=True)
        except ValueError:
            raise ValidationError(f"message attribute {name!r} ({kind}) is not valid base64") from None
    if not isinstance(text, str):
        raise ValidationError(f"message attribute {name!r} ({kind}) has no StringValue")
    try:
        if kind.startswith("Number"):
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind.startswith("String.Array"):
            return json.loads(text)
    except ValueError:
        raise ValidationError(f"message attribute {name!r} ({kind}) does not parse: {text[:40]!r}") from None
    return text


def message_size(body: str, attributes: dict[str, dict[str, Any]]) -> int:
    size = len(body.encode("utf-8"))
    for name, attr in attributes.items():
        value = attr.get("StringValue")
        size += len(name.encode()) + len(attr["DataType"].encode())
        size += len(value.encode("utf-8")) if value is not None else len(attr.get("BinaryValue", b""))
    return size


def check_size(body: str, attributes: dict[str, dict[str, Any]], queue: str) -> None:
    size = message_size(body, attributes)
    if size > MAX_MESSAGE_BYTES:
        raise ItemTooLarge(
            f"message for queue {queue!r} is {size} bytes with its attributes; SQS allows "
            f"{MAX_MESSAGE_BYTES} (1 MiB): put the payload in a bucket and send its key"
        )


def md5_of(text: str) -> str:
    import hashlib  # not at import: _hashlib (OpenSSL) costs a cold start ~3 ms

    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class Message:
    """One received message. ``body`` is the text sent; ``json()`` parses it."""

    id: str
    body: str
    receipt: str = ""
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    receive_count: int = 0
    sent_at: float = 0.0
    first_received_at: float | None = None
    group: str | None = None
    dedup_id: str | None = None
    queue: str = ""
    #: the ``AWSTraceHeader`` system attribute: the X-Ray trace the sender was in (None: sent outside one)
    trace: str | None = None

    def json(self) -> Any:
        return parse_json(self.body, f"message {self.id} body")

    def to_record(self, arn: str, region: str) -> dict[str, Any]:
        """The record Lambda receives from an SQS event source mapping."""
        return _sqs_events().sqs_record(
            message_id=self.id,
            receipt=self.receipt,
            body=self.body,
            attributes=encode_attributes(self.attributes),
            receive_count=self.receive_count,
            sent_at=self.sent_at,
            first_received_at=self.first_received_at,
            group=self.group,
            dedup_id=self.dedup_id,
            arn=arn,
            region=region,
            trace=self.trace,
        )

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Message:
        r = _sqs_events().SqsRecord.read(record)
        return cls(
            id=r.message_id,
            body=r.body,
            receipt=r.receipt,
            attributes=decode_attributes(r.attributes),
            receive_count=r.receive_count,
            sent_at=r.sent_at,
            first_received_at=r.first_received_at,
            group=r.group,
            dedup_id=r.dedup_id,
            queue=r.queue,
            trace=r.trace,
        )


@dataclass
class QueueStats:
    """Approximate counts, as SQS reports them; ``oldest_age`` is None where the provider lacks it."""

    depth: int
    in_flight: int
    delayed: int
    oldest_age: float | None = None
    dlq_depth: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "oldest_age_seconds": self.oldest_age,
            "dlq_depth": self.dlq_depth,
        }


@cache
def _sqs_events() -> Any:
    """``strato.events.sqs``, loaded when a message first meets Lambda rather than at import (and then
    once: an import statement per message cost about 1 µs)."""
    from ..events import sqs

    return sqs
