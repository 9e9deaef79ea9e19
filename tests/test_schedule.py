"""Schedules: EventBridge expression parsing, next firing times, the local scheduler, the Lambda path."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

import strato
from strato.local.scheduler import Scheduler
from strato.local.worker import Worker
from strato.schedule import Schedule
from tests.test_worker import wait_until

UTC = dt.UTC
SAT_2045 = dt.datetime(2026, 11, 21, 20, 45, 30, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    "expression,expected",
    [
        ("rate(5 minutes)", "2026-11-21T20:50:30"),
        ("rate(1 hour)", "2026-11-21T21:45:30"),
        ("rate(2 days)", "2026-11-23T20:45:30"),
        ("cron(0 */6 * * ? *)", "2026-11-22T00:00:00"),
        ("cron(0/15 * * * ? *)", "2026-11-21T21:00:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-11-23T09:00:00"),
        ("cron(30 8 1 * ? *)", "2026-12-01T08:30:00"),
        ("cron(0 0 L * ? *)", "2026-11-30T00:00:00"),
        ("cron(0 0 LW * ? *)", "2026-11-30T00:00:00"),
        ("cron(0 12 15W * ? *)", "2026-12-15T12:00:00"),
        ("cron(0 12 1W * ? *)", "2026-12-01T12:00:00"),
        ("cron(15 10 ? * 6L *)", "2026-11-27T10:15:00"),
        ("cron(0 8 ? * 3#2 *)", "2026-12-08T08:00:00"),
        ("cron(0 8 ? * SUN#1 *)", "2026-12-06T08:00:00"),
        ("cron(0 0 1 JAN ? 2027)", "2027-01-01T00:00:00"),
        ("cron(0 0 29 FEB ? *)", "2028-02-29T00:00:00"),
        ("cron(0 10 * * ? 2025)", None),
        ("at(2026-12-01T09:00:00)", "2026-12-01T09:00:00"),
        ("at(2020-01-01T00:00:00)", None),
    ],
)
def test_next_firing_times(expression, expected):
    found = Schedule(expression).next_after(SAT_2045, SAT_2045)
    assert (found.strftime("%Y-%m-%dT%H:%M:%S") if found else None) == expected


@pytest.mark.parametrize(
    "expression,reason",
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 seconds)", "use rate"),
        ("cron(0 9 * * MON *)", "exactly one"),
        ("cron(0 9 ? * ? *)", "exactly one"),
        ("cron(60 * * * ? *)", "0-59"),
        ("cron(0 24 * * ? *)", "0-23"),
        ("cron(0 0 32 * ? *)", "1-31"),
        ("cron(0 0 ? * 8 *)", "1-7"),
        ("cron(0 0 1 13 ? *)", "1-12"),
        ("cron(0 0 1 * ? 2300)", "1970-2199"),
        ("cron(0 9 * *)", "6 fields"),
        ("cron(5-1 * * * ? *)", "backwards"),
        ("cron(*/0 * * * ? *)", "step"),
        ("cron(0 ? * * ? *)", "only allowed"),
        ("at(2026-13-01T00:00:00)", "valid"),
        ("daily", "use rate"),
    ],
)
def test_bad_expressions_fail_at_declaration(make_app, expression, reason):
    app = make_app()
    with pytest.raises(strato.ConfigurationError, match=reason):
        app.schedule(expression)(lambda: None)


def test_two_schedulers_on_one_data_dir_fire_each_slot_once(make_app):
    app = make_app()
    fired: list[tuple[str, str]] = []
    lock = threading.Lock()
    app.schedule("rate(1 minute)", name="tick")(lambda event: None)
    app.schedule("cron(*/2 * * * ? *)", name="even")(lambda: None)
    clock = [SAT_2045.timestamp()]

    def run(schedule, slot):
        with lock:
            fired.append((schedule.name, slot.strftime("%H:%M:%S")))

    first, second = Scheduler(app, run, lambda: clock[0]), Scheduler(app, run, lambda: clock[0])
    for _ in range(6):  # six minutes pass; both "processes" tick every 30 s
        for _ in range(2):
            clock[0] += 30
            first.tick()
            second.tick()
    first.close()
    second.close()
    assert sorted(n for n in fired if n[0] == "tick") == [("tick", f"20:{m}:30") for m in range(46, 52)]
    assert sorted(n for n in fired if n[0] == "even") == [("even", f"20:{m}:00") for m in (46, 48, 50)]


def test_worker_fires_a_schedule_and_the_lambda_path_runs_it(make_app):
    app = make_app()
    seen: list[dict] = []
    soon = (dt.datetime.now(UTC) + dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    app.schedule(f"at({soon})", name="once")(lambda event: seen.append(event))
    no_args: list[int] = []
    app.schedule("cron(0 3 * * ? *)", name="nightly")(lambda: no_args.append(1))
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert wait_until(lambda: len(seen) == 1, 6)
        time.sleep(0.5)
    finally:
        worker.stop(5)
    assert len(seen) == 1 and seen[0]["detail-type"] == "Scheduled Event" and seen[0]["source"] == "aws.events"
    assert seen[0]["resources"][0].endswith(f"rule/{app.name}-dev-once")
    event = {**seen[0], "resources": [seen[0]["resources"][0].replace("-once", "-nightly")]}
    app.lambda_handler(event, None)
    assert no_args == [1]
    with pytest.raises(strato.StratoError, match="no schedule"):
        app.lambda_handler({**event, "resources": ["arn:aws:events:us-east-1:1:rule/other"]}, None)


@pytest.mark.parametrize(
    "expression,reason",
    [
        (" rate(5 minutes)", "whitespace"),
        ("cron(0 9 * * ? *) ", "whitespace"),
        ("\trate(1 hour)\n", "whitespace"),
        ("cron(0 0 L-2 * ? *)", "not supported by EventBridge"),
        ("cron(0 0 l-10 * ? *)", "not supported by EventBridge"),
    ],
)
def test_expressions_eventbridge_refuses_are_refused_with_the_reason(make_app, expression, reason):
    """EventBridge takes the expression as written: whitespace around it is refused, not trimmed.
    Day-of-month allows the wildcards ``, - * ? / L W`` and nothing else, so ``L-n`` (an offset from
    the last day, as some cron dialects allow) is not an EventBridge expression; the message says so
    instead of calling ``L-2`` a number outside 1-31.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
    """
    app = make_app()
    with pytest.raises(strato.ConfigurationError, match=reason):
        app.schedule(expression)(lambda: None)
