"""A queue in CloudFormation: an SQS queue (SSE, redrive to its DLQ) and, for its consumer, a function
with an event source mapping that reports partial batch failures; IAM on the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import settings_of
from ..deploy.names import env_name, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Queue


def synth(t: Template, queue: Queue) -> None:
    _queue(t, queue)
    t.grants.append(queue)


def arns(resource: Queue, action: str, stage: str) -> list[Any]:
    return [{"Fn::GetAtt": [logical(resource.name, "Queue"), "Arn"]}]


def _queue(t: Template, queue: Queue) -> None:
    props: dict[str, Any] = {
        "VisibilityTimeout": queue.visibility_timeout,
        "DelaySeconds": queue.delay,
        "MessageRetentionPeriod": queue.retention,
        "SqsManagedSseEnabled": True,
    }
    if queue.fifo:
        props.update(FifoQueue=True, ContentBasedDeduplication=queue.content_dedup)
    if queue.dlq is not None:
        props["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [logical(queue.dlq.name, "Queue"), "Arn"]},
            "maxReceiveCount": queue.max_receive_count,
        }
    logical_id = t.add(logical(queue.name, "Queue"), "AWS::SQS::Queue", props)
    t.env[env_name("queue", queue.name)] = {"Fn::GetAtt": [logical_id, "QueueName"]}
    t.output(logical_id, {"Ref": logical_id}, f"SQS queue URL of {queue.name}")
    for consumer in queue.consumers:  # at most one (Queue.consumer refuses a second)
        timeout = max(3, min(queue.visibility_timeout, 900))
        fn = t.function(
            f"queue-{queue.name}",
            timeout,
            settings=settings_of(consumer.handler),
            extra=[
                {
                    "Sid": "ConsumeOwnQueue",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage",
                    ],
                    "Resource": [{"Fn::GetAtt": [logical_id, "Arn"]}],
                }
            ],
        )
        mapping = {
            "EventSourceArn": {"Fn::GetAtt": [logical_id, "Arn"]},
            "FunctionName": {"Ref": fn.logical},
            "BatchSize": consumer.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": True,
        }
        if not queue.fifo:
            mapping["ScalingConfig"] = {"MaximumConcurrency": max(2, consumer.max_concurrency)}
        t.add(f"{logical_id}EventSource", "AWS::Lambda::EventSourceMapping", mapping)
