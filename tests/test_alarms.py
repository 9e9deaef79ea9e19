"""Alarms: the evaluation rule against CloudWatch's worked examples, state changes published to topics,
the worker's evaluator, PutMetricAlarm on moto, and the synthesized AWS::CloudWatch::Alarm."""

from __future__ import annotations

import json
import time

import pytest

from strato.core.errors import NotSupported, ValidationError
from strato.local.worker import Worker
from strato.metrics.alarm import ALARM, INSUFFICIENT, OK, evaluate

RETAIN = "retain"

# The two tables of the CloudWatch user guide, "How alarm state is evaluated when data is missing":
# data points oldest first (0 not breaching, X breaching, - missing) -> MISSING, IGNORE, BREACHING, NOT BREACHING
THREE_OF_THREE = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - - - X", INSUFFICIENT, RETAIN, ALARM, OK),
    ("X - - - -", ALARM, RETAIN, ALARM, OK),
]
TWO_OF_THREE = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - - X", INSUFFICIENT, RETAIN, ALARM, OK),
]


def parse(points: str) -> list[bool | None]:
    return [{"0": False, "X": True, "-": None}[p] for p in points.split()]


@pytest.mark.parametrize("m, rows", [(3, THREE_OF_THREE), (2, TWO_OF_THREE)], ids=["3-of-3", "2-of-3"])
def test_every_documented_example(m, rows):
    for points, *expected in rows:
        got = [
            evaluate(parse(points), m, 3, treat) or RETAIN
            for treat in ("missing", "ignore", "breaching", "notBreaching")
        ]
        assert got == expected, points


def test_enough_real_points_ignore_the_treatment_and_the_newest_n_decide():
    assert evaluate(parse("X X X 0 0"), 2, 3, "breaching") == OK  # the older breaches fell out of the newest 3
    assert evaluate(parse("0 0 X X X"), 3, 3, "notBreaching") == ALARM


@pytest.fixture
def wired(make_app):
    """A local app with an alarm on p-latency whose ALARM and OK actions go to a topic with a handler."""
    app = make_app("local")
    alerts = app.topic("alerts")
    received: list = []
    alerts.subscribe()(received.append)
    metrics = app.metrics("Api")
    alarm = metrics.alarm(
        "slow-api",
        metric="Latency",
        statistic="p90",
        period=60,
        threshold=500,
        comparison=">",
        evaluation_periods=3,
        datapoints_to_alarm=2,
        dimensions={"route": "/a"},
        actions=[alerts],
        ok_actions=[alerts],
        description="p90 latency over 500 ms",
    )
    return app, metrics, alarm, received


def put_minute(metrics, start: float, value: float) -> None:
    metrics.put_many(
        [
            {
                "name": "Latency",
                "value": value,
                "unit": "Milliseconds",
                "dimensions": {"route": "/a"},
                "timestamp": start + s,
            }
            for s in range(0, 60, 6)
        ]
    )


def test_state_changes_publish_cloudwatch_alarm_messages(wired):
    app, metrics, _alarm, received = wired
    base = time.time() // 60 * 60 - 300  # five whole minutes ago; the worker's own passes agree with ours
    assert metrics.alarm_state("slow-api") == INSUFFICIENT
    assert metrics.evaluate_alarms(base + 1) == []  # no data: stays INSUFFICIENT_DATA
    put_minute(metrics, base, 900)
    put_minute(metrics, base + 60, 800)
    assert metrics.evaluate_alarms(base + 121) == [("slow-api", INSUFFICIENT, ALARM)]  # 2 of the 2 there
    assert metrics.evaluate_alarms(base + 121) == []  # no change, no second message
    put_minute(metrics, base + 120, 100)
    put_minute(metrics, base + 180, 120)
    assert metrics.evaluate_alarms(base + 241) == [("slow-api", ALARM, OK)]  # newest 3: 800, 100, 120
    worker = Worker(app).start()  # delivers the topic's messages to the handler
    try:
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert [json.loads(n.body)["NewStateValue"] for n in received] == [ALARM, OK]
    first = received[0]
    physical = app.config.physical_name("alarm", "slow-api")
    assert first.subject == f'ALARM: "{physical}" in US East (N. Virginia)'
    message = json.loads(first.body)
    assert message["AlarmName"] == physical and message["OldStateValue"] == INSUFFICIENT
    assert message["AlarmDescription"] == "p90 latency over 500 ms"
    assert message["AlarmArn"].endswith(f":alarm:{physical}")
    assert message["AlarmActions"] == [app.resources[("topic", "alerts")].arn]
    assert message["NewStateReason"].startswith("Threshold Crossed: 2 out of the last 2 datapoints [8")
    trigger = message["Trigger"]
    assert trigger == {
        **trigger,
        "MetricName": "Latency",
        "Namespace": "Api",
        "StatisticType": "ExtendedStatistic",
        "ExtendedStatistic": "p90",
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 500.0,
        "TreatMissingData": "missing",
        "Dimensions": [{"value": "/a", "name": "route"}],
    }
    assert metrics.alarm_state("slow-api") == OK


def test_the_worker_evaluates_alarms_on_its_own(make_app):
    app = make_app("local")
    metrics = app.metrics("Queue")
    metrics.alarm("backlog", metric="Depth", statistic="Maximum", period=10, threshold=100, comparison=">=")
    last_complete = time.time() // 10 * 10 - 10
    metrics.put("Depth", 150, unit="Count", timestamp=last_complete + 2, resolution=1)
    worker = Worker(app).start()
    try:
        deadline = time.monotonic() + 8
        while metrics.alarm_state("backlog") != ALARM and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    assert metrics.alarm_state("backlog") == ALARM  # 1 of 1 real datapoints in the 3-period range breaches


@pytest.mark.parametrize(
    "options, message",
    [
        ({"comparison": "~"}, "comparison"),
        ({"treat_missing_data": "sometimes"}, "treat_missing_data"),
        ({"period": 45}, "period"),
        ({"evaluation_periods": 2, "datapoints_to_alarm": 3}, "datapoints_to_alarm"),
        ({"period": 3600, "evaluation_periods": 25}, "one day"),
        ({"statistic": "Median"}, "statistic"),
        ({"name": "crème"}, "ASCII"),
    ],
)
def test_bad_alarm_definitions_are_refused(make_app, options, message):
    metrics = make_app("local").metrics("Api")
    spec = {
        "name": "a",
        "metric": "M",
        "statistic": "Average",
        "period": 60,
        "threshold": 1,
        "comparison": ">",
        **options,
    }
    with pytest.raises(ValidationError, match=message):
        metrics.alarm(spec.pop("name"), **spec)


def test_on_aws_the_alarm_is_put_to_cloudwatch_and_cloudwatch_evaluates_it(make_app):
    app = make_app("aws")
    alerts = app.topic("alerts")
    metrics = app.metrics("Api")
    metrics.alarm(
        "errors",
        metric="Errors",
        statistic="Sum",
        period=60,
        threshold=5,
        comparison=">",
        evaluation_periods=2,
        treat_missing_data="notBreaching",
        actions=[alerts],
    )
    state = metrics.alarm_state("errors")  # puts the alarm (auto_create), then reads CloudWatch's state
    from strato.runtime.aws import AwsSession

    physical = app.config.physical_name("alarm", "errors")
    found = AwsSession().client("cloudwatch").describe_alarms(AlarmNames=[physical])["MetricAlarms"][0]
    assert found["Namespace"] == "Api" and found["Statistic"] == "Sum" and found["Threshold"] == 5.0
    assert found["AlarmActions"] == [alerts.arn] and found["TreatMissingData"] == "notBreaching"
    assert found["EvaluationPeriods"] == 2 and found["ComparisonOperator"] == "GreaterThanThreshold"
    assert state == found["StateValue"]
    with pytest.raises(NotSupported, match="CloudWatch evaluates"):
        metrics.evaluate_alarms()


def test_synth_declares_alarms_and_narrows_put_metric_data_to_the_namespace(make_app):
    from strato.deploy.synth import synth

    app = make_app("local")
    alerts = app.topic("alerts")
    metrics = app.metrics("Shop/Orders")
    metrics.alarm(
        "no-orders",
        metric="Orders",
        statistic="SampleCount",
        period=300,
        threshold=1,
        comparison="<",
        treat_missing_data="breaching",
        actions=[alerts],
    )
    template = synth(app)
    alarm = next(r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert alarm["AlarmName"] == f"{app.name}-{app.config.stage}-no-orders" and alarm["Namespace"] == "Shop/Orders"
    assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}] and alarm["TreatMissingData"] == "breaching"
    assert alarm["Statistic"] == "SampleCount" and alarm["ComparisonOperator"] == "LessThanThreshold"
    policy = next(
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    )
    put = next(s for s in policy["Statement"] if "cloudwatch:PutMetricData" in s["Action"])
    assert put["Resource"] == "*"
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Shop/Orders"}}
