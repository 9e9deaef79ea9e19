"""Metrics in CloudFormation: no resource for the metrics themselves, one AWS::CloudWatch::Alarm per declared
alarm; PutMetricData narrowed to the namespace with the cloudwatch:namespace condition key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Metrics


def synth(t: Template, metrics: Metrics) -> None:
    _metrics(t, metrics)
    t.grants.append(metrics)


def arns(resource: Metrics, action: str, stage: str) -> Any:
    return "*"  # CloudWatch metric actions take no resource ARN


def condition(resource: Metrics, action: str) -> dict[str, Any] | None:
    """Only this app's namespace may be written."""
    return {"StringEquals": {"cloudwatch:namespace": resource.namespace}} if action == "put" else None


def _metrics(t: Template, metrics: Metrics) -> None:
    """CloudWatch needs no resource for metrics; each declared alarm becomes an AWS::CloudWatch::Alarm."""
    from ..metrics.aws import alarm_params

    for alarm in metrics.alarms.values():
        props = alarm_params(alarm, metrics.namespace)
        props["AlarmName"] = f"{t.app.name}-{t.stage}-{alarm.name}"
        for key, topics in (
            ("AlarmActions", alarm.actions),
            ("OKActions", alarm.ok_actions),
            ("InsufficientDataActions", alarm.insufficient_data_actions),
        ):
            props[key] = [{"Ref": logical(t.name, "Topic")} for t in topics]
        t.add(logical(alarm.name, "Alarm"), "AWS::CloudWatch::Alarm", props)
