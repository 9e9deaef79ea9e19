"""The SNS topic provider (boto3, imported on first use).

Queue subscriptions declared in code are created with their filter policy on ``ensure()``; handler
subscriptions are Lambda subscriptions the deploy step creates, so SNS (not strato) delivers them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import ItemTooLarge, NotFound, StratoError, ValidationError
from ..queue import Queue
from ..runtime.aws import error_code
from . import Subscription, Topic


def _translate(exc: BaseException, topic: str) -> StratoError:
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code == "NotFound":
        return NotFound(f"topic {topic!r}: {message}")
    if "too long" in message.lower():
        return ItemTooLarge(f"topic {topic!r}: {message}")
    if code in ("InvalidParameter", "InvalidParameterValue", "ValidationError"):
        return ValidationError(f"topic {topic!r}: {message}")
    return StratoError(f"topic {topic!r}: SNS error {code or type(exc).__name__}: {message}")


def _attributes(sub: Subscription) -> dict[str, str]:
    attrs = {}
    if sub.filter:
        attrs["FilterPolicy"] = json.dumps(sub.filter)
        attrs["FilterPolicyScope"] = "MessageBody" if sub.scope == "body" else "MessageAttributes"
    if sub.raw and sub.protocol in ("sqs", "http", "https"):
        attrs["RawMessageDelivery"] = "true"
    return attrs


class SnsTopicBackend:
    # SNS itself sends email and SMS, and invokes handler Lambdas: there is no outbox to read.
    capabilities = frozenset({"fifo", "filter_body", "webhooks", "email", "sms"})

    def __init__(self, session: AwsClients, topic: Topic, auto_create: bool) -> None:
        self.session = session
        self.topic = topic
        self.auto_create = auto_create
        self._arn: str | None = None

    @property
    def client(self) -> Any:
        return self.session.client("sns")

    @property
    def arn(self) -> str:
        arn = self._arn
        if arn is None:
            if self.auto_create:
                arn = self._create()
            else:
                arn = self._arn = self.topic.arn
        return arn

    def ensure(self) -> None:
        self._create()

    def _create(self) -> str:
        """Create the topic and its declared queue subscriptions (idempotent); returns its ARN."""
        attrs = {}
        if self.topic.fifo:
            attrs = {"FifoTopic": "true", "ContentBasedDeduplication": str(self.topic.content_dedup).lower()}
        try:
            arn: str = self.client.create_topic(Name=self.topic.physical_name, Attributes=attrs)["TopicArn"]
            self._arn = arn
            for sub in self.topic.declared:
                if sub.protocol == "sqs" and isinstance(sub.handler, Queue):  # subscribe_queue put it there
                    queue = sub.handler.backend
                    self._allow_publish(queue)
                    self.client.subscribe(
                        TopicArn=arn,
                        Protocol="sqs",
                        Endpoint=queue.arn(),
                        Attributes=_attributes(sub),
                        ReturnSubscriptionArn=True,
                    )
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc
        return arn

    def _allow_publish(self, queue: Any) -> None:
        """Without this queue policy SNS drops every message it tries to deliver to the queue."""
        statement = {
            "Sid": f"strato-{self.topic.physical_name}"[:100],
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue.arn(),
            "Condition": {"ArnEquals": {"aws:SourceArn": self._arn}},
        }
        current = queue.client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["Policy"])
        policy = json.loads(current.get("Attributes", {}).get("Policy") or '{"Version": "2012-10-17", "Statement": []}')
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != statement["Sid"]] + [statement]
        queue.client.set_queue_attributes(QueueUrl=queue.url, Attributes={"Policy": json.dumps(policy)})

    def drop(self) -> None:
        try:
            self.client.delete_topic(TopicArn=self.arn)
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc
        self._arn = None

    def publish(self, entries: list[dict[str, Any]]) -> list[str]:
        def params(entry: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"Message": entry["body"]}
            if entry["attributes"]:
                out["MessageAttributes"] = entry["attributes"]
            if entry["subject"]:
                out["Subject"] = entry["subject"]
            if entry["group"]:
                out["MessageGroupId"] = entry["group"]
            if entry["dedup_id"]:
                out["MessageDeduplicationId"] = entry["dedup_id"]
            return out

        try:
            if len(entries) == 1:
                return [self.client.publish(TopicArn=self.arn, **params(entries[0]))["MessageId"]]
            result = self.client.publish_batch(
                TopicArn=self.arn,
                PublishBatchRequestEntries=[{"Id": str(i), **params(e)} for i, e in enumerate(entries)],
            )
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc
        if result.get("Failed"):
            raise StratoError(f"topic {self.topic.name!r}: some messages were not published: {result['Failed']}")
        by_id = {s["Id"]: s["MessageId"] for s in result["Successful"]}
        return [by_id[str(i)] for i in range(len(entries))]

    def subscribe(self, sub: Subscription) -> Subscription:
        try:
            sub.arn = self.client.subscribe(
                TopicArn=self.arn,
                Protocol=sub.protocol,
                Endpoint=sub.endpoint,
                Attributes=_attributes(sub),
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc
        return self._describe(sub.arn)

    def _describe(self, arn: str) -> Subscription:
        attrs = self.client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        scope = "body" if attrs.get("FilterPolicyScope") == "MessageBody" else "attributes"
        return Subscription(
            arn,
            attrs.get("Protocol", ""),
            attrs.get("Endpoint", ""),
            json.loads(attrs["FilterPolicy"]) if attrs.get("FilterPolicy") else None,
            scope,
            attrs.get("RawMessageDelivery") == "true",
            "pending" if attrs.get("PendingConfirmation") == "true" else "confirmed",
        )

    def subscriptions(self) -> list[Subscription]:
        out, token = [], None
        try:
            while True:
                page = self.client.list_subscriptions_by_topic(
                    TopicArn=self.arn, **({"NextToken": token} if token else {})
                )
                out += [
                    self._describe(s["SubscriptionArn"])
                    for s in page["Subscriptions"]
                    if s["SubscriptionArn"] not in ("PendingConfirmation", "Deleted")
                ]
                token = page.get("NextToken")
                if not token:
                    return out
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc

    def unsubscribe(self, arn: str) -> None:
        try:
            self.client.unsubscribe(SubscriptionArn=arn)
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc

    def confirm(self, token: str) -> Subscription:
        try:
            arn = self.client.confirm_subscription(TopicArn=self.arn, Token=token)["SubscriptionArn"]
        except Exception as exc:
            raise _translate(exc, self.topic.name) from exc
        return self._describe(arn)

    def outbox(self, protocol: str | None) -> list[dict[str, Any]]:
        raise AssertionError("guarded by the 'outbox' capability")


def open_backend(topic: Topic, services: ProviderServices) -> SnsTopicBackend:
    """The registry's factory: the SNS topic named by the template (or auto-created against moto)."""
    return SnsTopicBackend(services.aws(), topic, services.config.auto_create)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface
    from .spi import TopicBackend

    def _conforms(backend: SnsTopicBackend) -> TopicBackend:
        return backend
