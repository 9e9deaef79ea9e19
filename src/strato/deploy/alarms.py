"""The default alarms as AWS::CloudWatch::Alarm resources, all notifying the ``alerts`` topic.

Queue alarms come from the same definitions the local evaluator runs (strato/alerts); the rest watch
CloudWatch's own metrics: each function's error rate (metric math Errors / Invocations over 5 minutes),
each WebSocket API's IntegrationError + ExecutionError, and with a budget the account's EstimatedCharges.
Billing metrics exist only in us-east-1 ("Billing metric data is stored in the US East (N. Virginia)
Region"), so the billing alarm carries a condition: it is created when the stack is deployed in
us-east-1 and left out elsewhere (``strato deploy`` says so; docs/production.md has the alternatives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..metrics.aws import alarm_params
from .names import logical

if TYPE_CHECKING:
    from ..alerts import AlarmOptions
    from ..metrics.alarm import Alarm
    from .synth import Template

BILLING_CONDITION = "BillingMetricsHere"


def prepare(t: Template) -> None:
    """Declare the alerts topic before the resources are written (so it and its grants are in the template)."""
    app = t.app
    options = app._alarms_options()
    if options.enabled and (app.resources or app.schedules or app._http is not None):
        app.alerts  # noqa: B018


def synth_defaults(t: Template) -> None:
    from ..alerts import SQS, queue_alarms

    app = t.app
    options = app._alarms_options()
    if not options.enabled or ("topic", "alerts") not in app.resources:
        return
    topic = {"Ref": logical("alerts", "Topic")}
    for queue, alarm in queue_alarms(app, options):
        props = _alarm(t, alarm, SQS, topic)
        props["Dimensions"] = [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical(queue.name, "Queue"), "QueueName"]}}
        ]
        t.add(logical(alarm.name, "Alarm"), "AWS::CloudWatch::Alarm", props)
    for fn in t.functions:
        settings = fn.settings
        if not options.wants(f"function:{fn.key}") or (settings is not None and settings.alarms is False):
            continue
        error_rate(t, fn.logical, fn.key, options, topic)
    for ws in app.of_kind("websocket"):
        if options.wants(f"websocket:{ws.name}"):
            websocket_errors(t, ws.name, topic)
    if options.budget:
        billing(t, options.budget, topic)


def _alarm(t: Template, alarm: Alarm, namespace: str, topic: Any) -> dict[str, Any]:
    props = alarm_params(alarm, namespace)
    props["AlarmName"] = f"{t.app.name}-{t.stage}-{alarm.name}"
    props["AlarmActions"] = [topic]
    props.pop("OKActions", None)
    props.pop("InsufficientDataActions", None)
    return props


def error_rate(t: Template, function: str, key: str, options: AlarmOptions, topic: Any) -> None:
    """Errors / Invocations over 5 minutes above ``error_rate`` (no invocations: not breaching)."""
    dims = [{"Name": "FunctionName", "Value": {"Ref": function}}]

    def metric(ident: str, name: str) -> dict[str, Any]:
        return {
            "Id": ident,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dims},
                "Period": 300,
                "Stat": "Sum",
            },
        }

    t.add(
        f"{function}ErrorRateAlarm",
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{t.app.name}-{t.stage}-fn-{key}-error-rate",
            "AlarmDescription": f"function {key}: more than {options.error_rate:.0%} of invocations failed",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": float(options.error_rate * 100),
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "notBreaching",
            "Metrics": [
                metric("errors", "Errors"),
                metric("invocations", "Invocations"),
                {
                    "Id": "rate",
                    "Label": "error rate (%)",
                    "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                    "ReturnData": True,
                },
            ],
            "AlarmActions": [topic],
        },
    )


def websocket_errors(t: Template, name: str, topic: Any) -> None:
    """Integration 4XX/5XX and errors calling the integration, summed over 5 minutes, above zero."""
    api = logical(name, "WebSocketApi")
    dims = [{"Name": "ApiId", "Value": {"Ref": api}}, {"Name": "Stage", "Value": t.stage}]

    def metric(ident: str, metric_name: str) -> dict[str, Any]:
        return {
            "Id": ident,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": metric_name, "Dimensions": dims},
                "Period": 300,
                "Stat": "Sum",
            },
        }

    t.add(
        f"{api}ErrorsAlarm",
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{t.app.name}-{t.stage}-ws-{name}-5xx",
            "AlarmDescription": f"WebSocket API {name}: integration errors (IntegrationError + ExecutionError)",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.0,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "notBreaching",
            "Metrics": [
                metric("integration", "IntegrationError"),
                metric("execution", "ExecutionError"),
                {"Id": "errors", "Label": "errors", "Expression": "integration + execution", "ReturnData": True},
            ],
            "AlarmActions": [topic],
        },
    )


def billing(t: Template, budget: float, topic: Any) -> None:
    """EstimatedCharges (USD, the month so far) over the budget; only where billing metrics live."""
    t.conditions[BILLING_CONDITION] = {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    t.add(
        "BillingAlarm",
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{t.app.name}-{t.stage}-billing",
            "AlarmDescription": f"estimated charges this month are over the budget of {budget:g} USD",
            "Namespace": "AWS/Billing",
            "MetricName": "EstimatedCharges",
            "Dimensions": [{"Name": "Currency", "Value": "USD"}],
            "Statistic": "Maximum",
            "Period": 21_600,
            "EvaluationPeriods": 1,
            "Threshold": float(budget),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [topic],
        },
        Condition=BILLING_CONDITION,
    )
