"""Nested workflows on the local executor: ``arn:aws:states:::states:startExecution`` (fire and forget),
``.sync`` (the child's description with Input / Output as JSON text), ``.sync:2`` (parsed), and
``.waitForTaskToken``; a child that fails, times out or is aborted fails the Task with States.TaskFailed.

Pages: "Start a new AWS Step Functions state machine from a running execution"
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html: the three Resource forms,
StateMachineArn / Input / Name, and AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID passed as
``"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"`` to associate the child with its
parent), "Start workflow executions from a task state" (.../concepts-nested-workflows.html), "Run a Job
(.sync)" (.../connect-to-resource.html#connect-sync: the Task waits for the job to complete), and
DescribeExecution's fields (https://docs.aws.amazon.com/step-functions/latest/apireference/
API_DescribeExecution.html)."""

from __future__ import annotations

import json

import pytest

from strato.local.timekeeping import Timekeeper
from strato.testing.drain import Drain
from tests import workflows
from tests.workflows import machine, run

START = "arn:aws:states:::states:startExecution"
virtual = workflows.virtual  # the virtual-clock fixture


@pytest.fixture
def app(make_app):
    return make_app("local")


def child_of(app, *, fail: bool = False, wait: bool = False):
    if fail:
        state = {"Type": "Fail", "Error": "Broken", "Cause": "the child broke"}
    elif wait:
        state = {"Type": "Wait", "Seconds": 3600, "End": True}
    else:
        state = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}
    return app.workflow("child", definition=machine(("Work", state)))


def parent_of(app, child, suffix: str, **params):
    parameters = {"StateMachineArn": child.backend.machine_arn, "Input": {"n.$": "$.n"}, **params}
    return app.workflow(
        "parent",
        definition=machine(
            ("Call", {"Type": "Task", "Resource": START + suffix, "Parameters": parameters, "End": True})
        ),
    )


def test_fire_and_forget_returns_the_childs_arn_and_start_date(app):
    child = child_of(app)
    parent = parent_of(app, child, "", Name="kid-1")
    done = run(app, parent, {"n": 4})
    assert done.status == "SUCCEEDED"
    assert set(done.output) == {"ExecutionArn", "StartDate"}
    assert done.output["ExecutionArn"].endswith(":execution:child:kid-1")
    assert isinstance(done.output["StartDate"], int)  # epoch milliseconds
    assert child.describe(done.output["ExecutionArn"]).output == {"doubled": 8}


def test_sync_waits_for_the_child_and_returns_its_description_with_json_text(app):
    child = child_of(app)
    parent = parent_of(app, child, ".sync")
    done = run(app, parent, {"n": 21})
    assert done.status == "SUCCEEDED"
    out = done.output
    assert out["Status"] == "SUCCEEDED"
    assert out["Output"] == '{"doubled":42}' and json.loads(out["Input"]) == {"n": 21}
    assert out["StateMachineArn"] == child.backend.machine_arn
    assert out["OutputDetails"] == {"Included": True} and out["StopDate"] >= out["StartDate"]
    assert child.describe(out["ExecutionArn"]).status == "SUCCEEDED"


def test_sync_2_parses_input_and_output(app):
    child = child_of(app)
    parent = parent_of(app, child, ".sync:2")
    done = run(app, parent, {"n": 5})
    assert done.output["Output"] == {"doubled": 10} and done.output["Input"] == {"n": 5}


def test_a_failed_child_fails_the_task_with_states_task_failed(app):
    child = child_of(app, fail=True)
    parent = parent_of(app, child, ".sync")
    done = run(app, parent, {"n": 1})
    assert (done.status, done.error) == ("FAILED", "States.TaskFailed")
    cause = json.loads(done.cause)
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Broken", "the child broke")
    assert "Output" not in cause


def test_an_aborted_child_fails_the_task_and_catch_sees_it(app):
    child = child_of(app, wait=True)
    params = {"StateMachineArn": child.name, "Input": {}, "Name": "sleepy"}
    parent = app.workflow(
        "parent",
        definition=machine(
            (
                "Call",
                {
                    "Type": "Task",
                    "Resource": START + ".sync:2",
                    "Parameters": params,
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
                    "End": True,
                },
            ),
            ("Caught", {"Type": "Pass", "End": True}),
        ),
    )
    arn = parent.start({})
    Drain(app)()
    assert parent.describe(arn).status == "RUNNING"
    kid = child.backend.arn_for("sleepy")
    child.stop(kid, error="Stopped", cause="by hand")
    Drain(app)()
    done = parent.describe(arn)
    assert done.status == "SUCCEEDED" and done.output["Error"] == "States.TaskFailed"
    assert json.loads(done.output["Cause"])["Status"] == "ABORTED"


def test_started_by_execution_id_stays_in_the_childs_input(app):
    child = child_of(app)
    parent = parent_of(
        app,
        child,
        ".sync:2",
        Input={"n.$": "$.n", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
    )
    arn = parent.start({"n": 2})
    Drain(app)()
    out = parent.describe(arn).output
    assert out["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == arn


def test_a_child_answers_the_parents_token(app):
    child = app.workflow(
        "child",
        definition=machine(
            ("Reply", {"Type": "Task", "Resource": "Reply", "Parameters": {"token.$": "$.token"}, "End": True})
        ),
    )
    parent = parent_of(app, child, ".waitForTaskToken", Input={"token.$": "$$.Task.Token"})

    @child.task("Reply")
    def reply(event):
        parent.send_task_success(event["token"], {"from": "child"})
        return "sent"

    assert run(app, parent, {}).output == {"from": "child"}


def test_an_unknown_state_machine_is_the_services_error(app):
    parent = app.workflow(
        "parent",
        definition=machine(
            ("Call", {"Type": "Task", "Resource": START, "Parameters": {"StateMachineArn.$": "$.arn"}, "End": True})
        ),
    )
    done = run(app, parent, {"arn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope"})
    assert done.error == "StepFunctions.StateMachineDoesNotExistException"


def test_a_sync_task_run_again_does_not_start_a_second_child(app):
    """The generated name comes from the attempt: the same attempt run twice (a crash) is one child."""
    child = child_of(app, wait=True)
    parent = parent_of(app, child, ".sync")
    arn = parent.start({"n": 1})
    Drain(app)()
    frames = parent.backend.store.db.conn.execute("SELECT id FROM frames WHERE arn = ?", (arn,)).fetchall()
    with parent.backend.store.db.write() as conn:  # as a worker killed after the start, before the record
        conn.execute("UPDATE frames SET phase = 'run', due = 0 WHERE id = ?", (frames[0][0],))
    Drain(app)()
    assert len(child.executions()) == 1


def test_stopping_the_parent_stops_the_child_it_waits_for(app):
    """Run a Job (.sync): a Task that ends while its job runs has the job stopped (best effort)."""
    child = child_of(app, wait=True)
    parent = parent_of(app, child, ".sync", Name="waited-for")
    arn = parent.start({"n": 1})
    Drain(app)()
    kid = child.backend.arn_for("waited-for")
    assert child.describe(kid).status == "RUNNING"
    parent.stop(arn, error="Cancelled")
    found = child.describe(kid)
    assert found.status == "ABORTED" and arn in found.cause


def test_a_timed_out_child_fails_the_task_with_its_status(app, virtual):
    child = app.workflow(
        "child", definition=machine(("W", {"Type": "Wait", "Seconds": 3600, "End": True}), TimeoutSeconds=10)
    )
    parent = parent_of(app, child, ".sync:2")
    arn = parent.start({"n": 1})
    Drain(app)()
    Timekeeper(app, virtual).advance(11)
    done = parent.describe(arn)
    assert (done.status, done.error) == ("FAILED", "States.TaskFailed")
    assert json.loads(done.cause)["Status"] == "TIMED_OUT"


def test_a_sync_task_that_times_out_stops_its_child(app, virtual):
    child = child_of(app, wait=True)
    params = {"StateMachineArn": child.name, "Input": {}, "Name": "slow"}
    call = {"Type": "Task", "Resource": START + ".sync", "Parameters": params, "TimeoutSeconds": 60, "End": True}
    parent = app.workflow("parent", definition=machine(("Call", call)))
    arn = parent.start({})
    Drain(app)()
    Timekeeper(app, virtual).advance(61)
    assert parent.describe(arn).error == "States.Timeout"
    assert child.describe(child.backend.arn_for("slow")).status == "ABORTED"
