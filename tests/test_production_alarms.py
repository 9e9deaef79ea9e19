"""Default alarms locally: the queue alarms run through the metrics alarm evaluator (CloudWatch's rules),
fed with what SQS would report; a DLQ receiving a message fires its alarm and notifies ``app.alerts``."""

from __future__ import annotations

import json
import time

import pytest

from strato.core.clock import VirtualClock, install
from strato.core.errors import ConfigurationError
from strato.local.timekeeping import Timekeeper
from strato.local.worker import Worker
from strato.metrics.alarm import ALARM, OK


@pytest.fixture
def virtual():
    clock = VirtualClock(time.time() // 60 * 60 + 5)  # five seconds into a minute
    previous = install(clock)
    yield clock
    install(previous)


def deliver(app, received, count):
    worker = Worker(app).start()  # delivers the alerts topic's messages to the subscribed handler
    try:
        deadline = time.monotonic() + 15
        while len(received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()


def test_a_message_dead_lettered_by_its_queue_fires_the_dlq_alarm_and_notifies_alerts(make_app, virtual):
    app = make_app("local")
    jobs = app.queue("jobs", max_receive_count=1, visibility_timeout=10)
    received: list = []
    app.alerts.subscribe()(received.append)
    keeper = Timekeeper(app, virtual)
    quiet = keeper.advance(60)  # empty queues: every alarm goes from INSUFFICIENT_DATA to OK
    assert {(name, new) for _, name, _, new in quiet.alarms} >= {("dlq-jobs-dlq-has-messages", OK)}
    jobs.send({"job": 1})
    assert len(jobs.receive()) == 1  # received once, not deleted: the consumer failed
    keeper.advance(11)  # visibility timeout over: the next receive would be the second, past max_receive_count
    assert jobs.receive() == []
    assert jobs.stats().dlq_depth == 1
    # the next evaluations sample the DLQ once a minute, as SQS reports it; the first whole minute that
    # held the message breaches once it is complete
    fired = keeper.advance(120)
    assert ("dlq-jobs-dlq-has-messages", OK, ALARM) in [(n, o, w) for _, n, o, w in fired.alarms]
    deliver(app, received, 1)
    assert len(received) == 1
    message = json.loads(received[0].body)
    physical = app.config.physical_name("alarm", "dlq-jobs-dlq-has-messages")
    assert message["AlarmName"] == physical and message["NewStateValue"] == ALARM
    assert message["AlarmDescription"] == "dead letter queue jobs-dlq has messages"
    trigger = message["Trigger"]
    assert trigger["Namespace"] == "AWS/SQS" and trigger["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert trigger["Dimensions"] == [{"value": jobs.dlq.physical_name, "name": "QueueName"}]
    assert received[0].subject == f'ALARM: "{physical}" in US East (N. Virginia)'


def test_queue_depth_over_the_threshold_for_five_minutes_fires_and_a_queue_left_out_does_not(make_app, virtual):
    app = make_app("local")
    busy = app.queue("busy")
    ignored = app.queue("ignored")
    app.alarms(queue_depth=3, off=[ignored])
    keeper = Timekeeper(app, virtual)
    keeper.advance(60)
    for queue in (busy, ignored):
        queue.send_batch([{"n": i} for i in range(5)])
    # the minute of the send was sampled empty before it: 5 more minutes make 4 whole breaching minutes
    four = keeper.advance(5 * 60)
    assert not [a for a in four.alarms if a[1] == "queue-busy-depth" and a[3] == ALARM]
    five = keeper.advance(60)
    assert ("queue-busy-depth", ALARM) in [(n, w) for _, n, _, w in five.alarms]
    names = {n for _, n, _, _ in five.alarms + four.alarms}
    assert not any("ignored" in n for n in names)
    defaults = app.resources[("metrics", "strato-default-alarms")]
    assert defaults.alarm_state("queue-busy-depth") == ALARM
    assert "queue-ignored-depth" not in defaults.alarms


def test_the_app_s_own_alerts_topic_is_the_one_alarms_notify(make_app):
    app = make_app("local")
    mine = app.topic("alerts")
    assert app.alerts is mine


@pytest.mark.parametrize(
    "options, message",
    [
        ({"queue_depth": -1}, "queue_depth"),
        ({"error_rate": 5}, "error_rate"),
        ({"budget": 0}, "budget"),
        ({"off": [42]}, "off="),
    ],
)
def test_bad_alarm_options_are_refused(make_app, options, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app("local").alarms(**options)


def test_a_function_whose_invocations_fail_over_the_error_rate_fires_its_alarm(make_app, virtual):
    # Lambda counts an invocation in Errors when the function raises; the alarm is Errors / Invocations
    # over 5 minutes (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html)
    from strato.dispatch.schedule import handle

    app = make_app("local")
    received: list = []
    app.alerts.subscribe()(received.append)
    failing = {"flaky": 1, "mostly-fine": 1}  # how many of the next invocations raise

    def job(name):
        def run():
            if failing[name]:
                failing[name] -= 1
                raise RuntimeError(f"{name}: upstream down")

        return run

    app.schedule("rate(1 day)", name="flaky")(job("flaky"))
    app.schedule("rate(1 day)", name="mostly-fine")(job("mostly-fine"))
    keeper = Timekeeper(app, virtual)
    start = virtual.now() // 300 * 300 + 300  # the next 5-minute period, so every call lands in one
    keeper.set(start + 1)
    for schedule, calls in zip(app.schedules, (10, 30), strict=True):
        for _ in range(calls):
            try:
                handle(schedule, {}, app.usage)  # the dispatcher Lambda runs for a schedule
            except RuntimeError:
                pass
    changes = {name: new for _, name, _, new in keeper.set(start + 301).alarms}
    assert changes["fn-schedule-flaky-error-rate"] == ALARM  # 1 of 10 failed: 10 % > 5 %
    defaults = app.resources[("metrics", "strato-default-alarms")]
    assert defaults.alarm_state("fn-schedule-mostly-fine-error-rate") == OK  # 1 of 30: 3.3 %
    deliver(app, received, 1)
    assert len(received) == 1
    message = json.loads(received[0].body)
    assert message["AlarmName"] == app.config.physical_name("alarm", "fn-schedule-flaky-error-rate")
    assert message["Trigger"]["Namespace"] == "AWS/Lambda" and message["Trigger"]["Statistic"] == "AVERAGE"
    assert message["Trigger"]["Dimensions"] == [{"value": f"{app.name}-dev-schedule-flaky", "name": "FunctionName"}]
    assert "[10 (" in message["NewStateReason"]  # the period's rate, in percent


def test_invocations_reach_the_store_without_an_evaluator_in_the_process(make_app, virtual):
    """``strato dev --no-worker`` runs handlers while ``strato worker`` evaluates: the counts are written."""
    from strato.dispatch.schedule import handle

    app = make_app("local")
    app.alarms()
    app.schedule("rate(1 day)", name="tick")(lambda: None)
    defaults = app.resources[("metrics", "strato-default-alarms")]
    handle(app.schedules[0], {}, app.usage)
    virtual.advance(6)
    handle(app.schedules[0], {}, app.usage)  # the first is over 5 s old: both are written now
    assert defaults.meter.pending == []
    dims = {"FunctionName": f"{app.name}-dev-schedule-tick"}
    rows, _ = defaults.backend.query(
        "ErrorRate", dims, ["SampleCount"], virtual.now() - 600, virtual.now() + 60, 60, virtual.now()
    )
    assert sum(values["SampleCount"] for _, values in rows) == 2
