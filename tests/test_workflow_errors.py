"""Retry and Catch on the local executor, per the developer guide's error handling page
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): ErrorEquals with
States.ALL / States.TaskFailed / States.Timeout / a Python exception's class name, IntervalSeconds,
MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy, Catch with ResultPath, TimeoutSeconds. Back-off
delays run on strato's virtual clock: nothing happens until the clock passes each due time."""

from __future__ import annotations

import threading

import pytest

from strato.core import clock
from strato.core.clock import VirtualClock
from strato.local.timekeeping import Timekeeper
from strato.testing.drain import Drain
from tests.workflows import machine, run


class Flaky(Exception):
    pass


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def virtual():
    previous = clock.install(VirtualClock(1_800_000_000))
    yield clock.installed()
    clock.install(previous)


def flaky_task(app, retry, catch=(), fails=99, error=Flaky, name="f"):
    """A one-Task machine whose task raises ``error`` its first ``fails`` times; returns (workflow, calls)."""
    calls = []
    state = {"Type": "Task", "Resource": "Work", "Retry": list(retry), "Catch": list(catch), "End": True}
    states = [("T", state)] + ([("Caught", {"Type": "Pass", "End": True})] if catch else [])
    wf = app.workflow(name, definition=machine(*states))

    @wf.task("Work")
    def work(event):
        calls.append(clock.now())
        if len(calls) <= fails:
            raise error("boom")
        return {"ok": len(calls)}

    return wf, calls


def test_retry_backs_off_interval_times_rate_per_attempt(app, virtual):
    # the guide's example: IntervalSeconds 3, BackoffRate 1.5, MaxAttempts 2 -> retries after 3 s, then 4.5 s
    wf, calls = flaky_task(
        app, [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5}], fails=2
    )
    keeper = Timekeeper(app, virtual)
    arn = wf.start({})
    Drain(app)()
    assert len(calls) == 1
    keeper.advance(2.9)
    assert len(calls) == 1
    keeper.advance(0.1)
    assert len(calls) == 2
    keeper.advance(4.4)
    assert len(calls) == 2
    keeper.advance(0.1)
    assert [round(t - calls[0], 3) for t in calls] == [0, 3, 7.5]
    found = wf.describe(arn)
    assert (found.status, found.output) == ("SUCCEEDED", {"ok": 3})


def test_max_attempts_spent_fails_with_the_task_error(app, virtual):
    wf, calls = flaky_task(app, [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}])
    arn = wf.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(100)
    found = wf.describe(arn)
    assert len(calls) == 3
    assert (found.status, found.error, found.cause) == ("FAILED", "Flaky", "boom")
    types = [e["type"] for e in wf.history(arn)]
    assert types.count("TaskFailed") == 3 and types[-1] == "ExecutionFailed"


def test_max_delay_seconds_caps_the_backoff(app, virtual):
    wf, calls = flaky_task(
        app,
        [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 15}],
        fails=3,
    )
    wf.start({})
    Drain(app)()
    keeper = Timekeeper(app, virtual)
    for _ in range(3):
        keeper.advance(15)
    assert [round(t - calls[0]) for t in calls] == [0, 10, 25, 40]


def test_full_jitter_waits_at_most_the_backoff(app, virtual):
    wf, calls = flaky_task(
        app, [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 8, "MaxAttempts": 1, "JitterStrategy": "FULL"}], fails=1
    )
    wf.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(8)
    assert len(calls) == 2 and 0 <= calls[1] - calls[0] <= 8


def test_max_attempts_zero_never_retries_and_the_first_matching_retrier_decides(app, virtual):
    wf, calls = flaky_task(
        app, [{"ErrorEquals": ["Flaky"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    )
    arn = wf.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(1000)
    assert len(calls) == 1 and wf.describe(arn).status == "FAILED"


def test_catch_puts_the_error_at_its_result_path(app):
    # the guide's Catch example: ResultPath "$.error-info" keeps the input and adds {Error, Cause}
    wf, _ = flaky_task(app, [], catch=[{"ErrorEquals": ["Flaky"], "ResultPath": "$.error-info", "Next": "Caught"}])
    found = run(app, wf, {"foo": "bar"})
    assert found.status == "SUCCEEDED"
    assert found.output == {"foo": "bar", "error-info": {"Error": "Flaky", "Cause": "boom"}}


def test_catch_default_result_path_replaces_the_input(app):
    wf, _ = flaky_task(app, [], catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}])
    assert run(app, wf, {"foo": "bar"}).output == {"Error": "Flaky", "Cause": "boom"}


def test_catch_after_retries_are_spent(app, virtual):
    wf, calls = flaky_task(
        app,
        [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    arn = wf.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(1)
    assert len(calls) == 2 and wf.describe(arn).status == "SUCCEEDED"


def test_an_uncaught_error_name_passes_the_catchers(app):
    wf, _ = flaky_task(app, [], catch=[{"ErrorEquals": ["OtherError"], "Next": "Caught"}], error=KeyError)
    found = run(app, wf, {})
    assert (found.status, found.error) == ("FAILED", "KeyError")


def test_task_timeout_is_states_timeout_which_task_failed_does_not_match(app):
    release = threading.Event()
    wf = app.workflow(
        "slow",
        definition=machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": "Slow",
                    "TimeoutSeconds": 1,
                    "Catch": [
                        {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                        {"ErrorEquals": ["States.Timeout"], "Next": "Right"},
                    ],
                    "End": True,
                },
            ),
            ("Wrong", {"Type": "Fail", "Error": "Wrong"}),
            ("Right", {"Type": "Pass", "End": True}),
        ),
    )
    wf.task("Slow")(lambda e: release.wait(30))
    try:
        found = run(app, wf, {})
    finally:
        release.set()
    assert found.status == "SUCCEEDED" and found.output == {
        "Error": "States.Timeout",
        "Cause": "the task ran longer than its TimeoutSeconds (1 s)",
    }


def test_fail_state_with_error_and_cause_paths(app):
    wf = app.workflow(
        "fail",
        definition=machine(("F", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.n)"})),
    )
    found = run(app, wf, {"e": "Custom.Error", "n": 7})
    assert (found.status, found.error, found.cause) == ("FAILED", "Custom.Error", "bad 7")


def test_the_machine_timeout_ends_the_execution(app, virtual):
    wf = app.workflow(
        "timeout", definition=machine(("W", {"Type": "Wait", "Seconds": 3600, "End": True}), TimeoutSeconds=60)
    )
    arn = wf.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(60)
    found = wf.describe(arn)
    assert (found.status, found.error) == ("TIMED_OUT", "States.Timeout")
    assert wf.history(arn)[-1]["type"] == "ExecutionTimedOut"
