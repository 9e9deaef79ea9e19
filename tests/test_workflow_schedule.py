"""``app.schedule(expr, workflow=wf, input=...)``: every firing starts an execution (locally through the
scheduler; on AWS an EventBridge Scheduler schedule whose target is the state machine).

Pages: "Using templated targets in EventBridge Scheduler" (https://docs.aws.amazon.com/scheduler/latest/
UserGuide/managing-targets-templated.html: Step Functions StartExecution takes the state machine ARN as
the target's Arn and the schedule's Input as the execution input), "Set up the execution role"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role: a role
scheduler.amazonaws.com assumes, allowed the target's action on the target), and the
AWS::Scheduler::Schedule Target (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
aws-properties-scheduler-schedule-target.html)."""

from __future__ import annotations

import json
import subprocess

import pytest

from strato.core.errors import ConfigurationError
from strato.local.timekeeping import Timekeeper
from tests import workflows
from tests.test_workflow_deploy import synth
from tests.workflows import machine

virtual = workflows.virtual  # the virtual-clock fixture


@pytest.fixture
def app(make_app):
    return make_app("local")


def test_each_firing_starts_an_execution_with_the_input(app, virtual):
    wf = app.workflow("nightly", definition=machine(("Echo", {"Type": "Pass", "End": True})))
    app.schedule("rate(1 hour)", workflow=wf, input={"report": "daily"})
    keeper = Timekeeper(app, virtual)
    keeper.advance(3 * 3600 + 1)
    runs = wf.executions()
    assert len(runs) == 3
    assert {r.status for r in runs} == {"SUCCEEDED"}
    assert all(r.input == {"report": "daily"} and r.output == {"report": "daily"} for r in runs)


def test_a_workflow_schedule_takes_no_handler_and_a_json_input(app):
    wf = app.workflow("w", definition=machine(("P", {"Type": "Pass", "End": True})))
    decorate = app.schedule("rate(1 day)", workflow=wf)
    with pytest.raises(ConfigurationError, match="runs no handler"):
        decorate(lambda: None)
    with pytest.raises(ConfigurationError, match="declared twice"):
        app.schedule("rate(2 days)", workflow=wf)
    app.schedule("rate(2 days)", workflow=wf, name="every-other-day")
    with pytest.raises(ConfigurationError, match="input"):
        app.schedule("rate(1 day)", workflow=wf, input={"x": object()}, name="bad")
    with pytest.raises(ConfigurationError, match="workflow"):
        app.schedule("rate(1 day)", workflow="w", name="bad2")
    with pytest.raises(ConfigurationError, match="input="):
        app.schedule("rate(1 day)", input={"x": 1})


APP = """
import strato

app = strato.App("flows")
report = app.workflow("report", definition={
    "StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "hi", "End": True}}})
app.schedule("cron(0 6 * * ? *)", workflow=report, input={"kind": "morning"})


@app.schedule("rate(1 day)")
def tidy():
    pass
"""


def test_synth_targets_the_state_machine_with_a_role_that_may_only_start_it(tmp_path):
    done = synth(tmp_path, APP)
    assert done.returncode == 0, done.stderr
    resources = json.loads((tmp_path / "t.json").read_text())["Resources"]
    machine_id = next(k for k, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine")
    schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    started = next(s for s in schedules if s["Target"]["Arn"] == {"Ref": machine_id})
    assert started["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert json.loads(started["Target"]["Input"]) == {"kind": "morning"}
    role = resources[started["Target"]["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": {"Ref": machine_id}}]
    assert len(schedules) == 2  # the handler schedule keeps its function target and SchedulerRole
    assert "SchedulerRole" in resources
    lint = subprocess.run(["cfn-lint", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout
