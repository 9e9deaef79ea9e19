"""A topic in CloudFormation: an SNS topic, subscriptions with their filter policies (queues, and one
function per handler with retries and a DLQ destination); IAM on the topic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import settings_of
from ..deploy.names import camel, env_name, logical
from ..queue import Queue

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Topic


def synth(t: Template, topic: Topic) -> None:
    _topic(t, topic)
    t.grants.append(topic)


def arns(resource: Topic, action: str, stage: str) -> list[Any]:
    return [{"Ref": logical(resource.name, "Topic")}]


def _topic(t: Template, topic: Topic) -> None:
    props: dict[str, Any] = {}
    if topic.fifo:
        props.update(FifoTopic=True, ContentBasedDeduplication=topic.content_dedup)
    logical_id = t.add(logical(topic.name, "Topic"), "AWS::SNS::Topic", props)
    t.env[env_name("topic", topic.name)] = {"Fn::GetAtt": [logical_id, "TopicName"]}
    t.env[env_name("topic", topic.name, "_ARN")] = {"Ref": logical_id}
    t.output(logical_id, {"Ref": logical_id}, f"SNS topic ARN of {topic.name}")
    for sub in topic.declared:
        sub_props: dict[str, Any] = {"TopicArn": {"Ref": logical_id}}
        if sub.filter:
            sub_props["FilterPolicy"] = sub.filter
            sub_props["FilterPolicyScope"] = "MessageBody" if sub.scope == "body" else "MessageAttributes"
        suffix = camel(sub.arn.rsplit(":", 1)[-1])
        if sub.protocol == "sqs":
            if not isinstance(sub.handler, Queue):  # subscribe_queue() puts the queue there
                raise TypeError(f"queue subscription {sub.arn} has no queue")
            queue_id = logical(sub.handler.name, "Queue")
            sub_props.update(Protocol="sqs", Endpoint={"Fn::GetAtt": [queue_id, "Arn"]}, RawMessageDelivery=sub.raw)
            t.allow_sns(queue_id, logical_id)
        else:
            handler = sub.arn.rsplit(":", 1)[-1]
            dlq_id = logical(sub.dlq.name, "Queue")
            fn = t.function(
                f"topic-{topic.name}-{handler}",
                60,
                settings=settings_of(sub.handler),
                env={"STRATO_HANDLER": handler},
                extra=[
                    {
                        "Sid": "FailedEventsToDlq",
                        "Effect": "Allow",
                        "Action": ["sqs:SendMessage"],
                        "Resource": [{"Fn::GetAtt": [dlq_id, "Arn"]}],
                    }
                ],
            )
            sub_props.update(Protocol="lambda", Endpoint={"Fn::GetAtt": [fn.logical, "Arn"]})
            t.add(
                f"{fn.logical}SnsPermission",
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": fn.logical},
                    "Principal": "sns.amazonaws.com",
                    "SourceArn": {"Ref": logical_id},
                },
            )
            t.add(
                f"{fn.logical}InvokeConfig",
                "AWS::Lambda::EventInvokeConfig",
                {
                    "FunctionName": {"Ref": fn.logical},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": min(max(sub.max_attempts - 1, 0), 2),
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}},
                },
            )
        t.add(f"{logical_id}{suffix}Subscription", "AWS::SNS::Subscription", sub_props)
