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
    _math_alarm(
        t,
        f"{function}ErrorRateAlarm",
        f"fn-{key}-error-rate",
        f"function {key}: more than {options.error_rate:.0%} of invocations failed",
        options.error_rate * 100,
        [_sum("errors", "AWS/Lambda", "Errors", dims), _sum("invocations", "AWS/Lambda", "Invocations", dims)],
        ("rate", "error rate (%)", "IF(invocations > 0, 100 * errors / invocations, 0)"),
        topic,
    )


def websocket_errors(t: Template, name: str, topic: Any) -> None:
    """Integration 4XX/5XX and errors calling the integration, summed over 5 minutes, above zero."""
    api = logical(name, "WebSocketApi")
    dims: list[dict[str, Any]] = [{"Name": "ApiId", "Value": {"Ref": api}}, {"Name": "Stage", "Value": t.stage}]
    _math_alarm(
        t,
        f"{api}ErrorsAlarm",
        f"ws-{name}-5xx",
        f"WebSocket API {name}: integration errors (IntegrationError + ExecutionError)",
        0,
        [
            _sum("integration", "AWS/ApiGateway", "IntegrationError", dims),
            _sum("execution", "AWS/ApiGateway", "ExecutionError", dims),
        ],
        ("errors", "errors", "integration + execution"),
        topic,
    )


def _math_alarm(
    t: Template,
    logical_id: str,
    name: str,
    description: str,
    threshold: float,
    metrics: list[dict[str, Any]],
    expression: tuple[str, str, str],
    topic: Any,
) -> None:
    """An alarm on a metric-math expression over 5-minute sums (1 of 1; no data is not breaching)."""
    ident, label, formula = expression
    t.add(
        logical_id,
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{t.app.name}-{t.stage}-{name}",
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": float(threshold),
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "notBreaching",
            "Metrics": [*metrics, {"Id": ident, "Label": label, "Expression": formula, "ReturnData": True}],
            "AlarmActions": [topic],
        },
    )


def _sum(ident: str, namespace: str, metric: str, dims: list[dict[str, Any]]) -> dict[str, Any]:
    """One metric of an alarm's metric math: its 5-minute Sum, not itself the alarm's value."""
    return {
        "Id": ident,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
            "Period": 300,
            "Stat": "Sum",
        },
    }


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
