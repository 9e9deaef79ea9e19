"""The SQS queue provider (boto3, imported on first use)."""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import ItemTooLarge, NotFound, ServiceUnavailable, StratoError, ValidationError
from ..runtime.aws import error_code
from . import Outgoing, Queue
from .message import Message, QueueStats, decode_attributes

if TYPE_CHECKING:
    from .spi import QueueBackend


def _translate(exc: BaseException, queue: str) -> StratoError:
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
        return NotFound(f"SQS queue for {queue!r} does not exist: deploy the stack or set STRATO_AUTO_CREATE=1")
    if code in ("ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"):
        if "not in flight" in message.lower() or code == "MessageNotInflight":
            return NotFound(f"queue {queue!r}: message is not in flight ({message})")
        return ValidationError(f"queue {queue!r}: {message}")
    if "too long" in message.lower() or "longer than" in message.lower():
        return ItemTooLarge(f"queue {queue!r}: {message}")
    if code in ("ThrottlingException", "RequestThrottled", "OverLimit"):
        return ServiceUnavailable(f"queue {queue!r} is throttled: {message}")
    return StratoError(f"queue {queue!r}: SQS error {code or type(exc).__name__}: {message}")


class SqsQueueBackend:
    # SQS reports age of the oldest message only as a CloudWatch metric, not through the queue API.
    capabilities = frozenset({"fifo", "dlq", "long_poll", "delay"})

    def __init__(self, session: AwsClients, queue: Queue, physical: str, auto_create: bool) -> None:
        self.session = session
        self.queue = queue
        self.physical = queue.physical_name
        self.auto_create = auto_create
        self._url: str | None = None

    @property
    def client(self) -> Any:
        return self.session.client("sqs")

    @property
    def url(self) -> str:
        url = self._url
        if url is None:
            try:
                url = self._url = self.client.get_queue_url(QueueName=self.physical)["QueueUrl"]
            except Exception as exc:
                if not self.auto_create or error_code(exc) not in (
                    "AWS.SimpleQueueService.NonExistentQueue",
                    "QueueDoesNotExist",
                ):
                    raise _translate(exc, self.queue.name) from exc
                url = self._create()
        return url

    def arn(self) -> str:
        attrs = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]
        return attrs["QueueArn"]

    def ensure(self) -> None:
        self._create()

    def _create(self) -> str:
        """Create the queue (idempotent, with its redrive policy); returns its URL."""
        q = self.queue
        attributes = {
            "VisibilityTimeout": str(q.visibility_timeout),
            "DelaySeconds": str(q.delay),
            "MessageRetentionPeriod": str(q.retention),
        }
        if q.fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = "true" if q.content_dedup else "false"
        if q.dlq is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": q.dlq.backend.arn(), "maxReceiveCount": q.max_receive_count}
            )
        try:
            url: str = self.client.create_queue(QueueName=self.physical, Attributes=attributes)["QueueUrl"]
        except Exception as exc:
            raise _translate(exc, q.name) from exc
        self._url = url
        return url

    def drop(self) -> None:
        try:
            self.client.delete_queue(QueueUrl=self.url)
        except NotFound:
            pass
        self._url = None

    def send(self, messages: list[Outgoing], now: float) -> list[str]:
        entries = []
        for i, out in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": out.body}
            if out.attributes:
                entry["MessageAttributes"] = out.attributes
            if out.delay and not self.queue.fifo:
                entry["DelaySeconds"] = out.delay
            if out.group is not None:
                entry["MessageGroupId"] = out.group
            if out.dedup_id is not None:
                entry["MessageDeduplicationId"] = out.dedup_id
            if out.trace is not None:  # https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html
                entry["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": out.trace}}
            entries.append(entry)
        try:
            if len(entries) == 1:
                single = {k: v for k, v in entries[0].items() if k != "Id"}
                return [self.client.send_message(QueueUrl=self.url, **single)["MessageId"]]
            result = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc
        if result.get("Failed"):
            detail = "; ".join(f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in result["Failed"])
            raise ServiceUnavailable(f"queue {self.queue.name!r}: some messages were not sent ({detail})")
        by_id = {s["Id"]: s["MessageId"] for s in result["Successful"]}
        return [by_id[str(i)] for i in range(len(entries))]

    def receive(self, limit: int, visibility: int, wait: float, bill_empty: bool = True) -> list[Message]:
        try:
            out = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=limit,
                VisibilityTimeout=visibility,
                # whole seconds only: a wait under one second is one second of long polling, not a
                # short poll (round(0.5) is 0: a poller spun on empty receives, each one billed)
                WaitTimeSeconds=min(20, math.ceil(wait)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc
        messages = []
        for m in out.get("Messages", []):
            system = m.get("Attributes", {})
            first = system.get("ApproximateFirstReceiveTimestamp")
            messages.append(
                Message(
                    id=m["MessageId"],
                    body=m["Body"],
                    receipt=m["ReceiptHandle"],
                    attributes=decode_attributes(m.get("MessageAttributes", {})),
                    receive_count=int(system.get("ApproximateReceiveCount", 1)),
                    sent_at=int(system.get("SentTimestamp", time.time() * 1000)) / 1000,  # SQS's clock
                    first_received_at=int(first) / 1000 if first else None,
                    group=system.get("MessageGroupId"),
                    dedup_id=system.get("MessageDeduplicationId"),
                    queue=self.queue.name,
                    trace=system.get("AWSTraceHeader"),
                )
            )
        return messages

    def delete(self, receipts: list[str]) -> None:
        try:
            if len(receipts) == 1:
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipts[0])
                return
            result = self.client.delete_message_batch(
                QueueUrl=self.url, Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts)]
            )
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc
        if result.get("Failed"):
            raise ValidationError(f"queue {self.queue.name!r}: could not delete {result['Failed']}")

    def change_visibility(self, receipt: str, seconds: int) -> None:
        try:
            self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=seconds)
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc

    def purge(self) -> None:
        try:
            self.client.purge_queue(QueueUrl=self.url)
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc

    def stats(self) -> QueueStats:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        try:
            attrs = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        except Exception as exc:
            raise _translate(exc, self.queue.name) from exc
        return QueueStats(*(int(attrs.get(n, 0)) for n in names))


def open_backend(queue: Queue, services: ProviderServices) -> SqsQueueBackend:
    """The registry's factory: the SQS queue named by the template (or auto-created against moto)."""
    return SqsQueueBackend(
        services.aws(), queue, services.config.physical_name("queue", queue.name), services.config.auto_create
    )


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: SqsQueueBackend) -> QueueBackend:
        return backend
