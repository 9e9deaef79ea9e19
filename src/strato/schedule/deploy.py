"""Schedules in CloudFormation: one function and one EventBridge Scheduler schedule per ``@app.schedule``,
and the role the scheduler invokes them with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import settings_of
from ..deploy.iam import assume_role_policy
from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template


import json


def synth_schedules(t: Template) -> None:
    if not t.app.schedules:
        return
    targets = []
    for schedule in t.app.schedules:
        if schedule.workflow is not None:
            _workflow_target(t, schedule)
            continue
        fn = t.function(
            f"schedule-{schedule.name}",
            300,
            env={"STRATO_HANDLER": schedule.name},
            settings=settings_of(schedule.handler),
        )
        targets.append(fn)
        rule = t.app.config.physical_name("schedule", schedule.name)
        payload = {
            "version": "0",
            "id": "eventbridge-scheduler",
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": "",
            "time": "",
            "region": "",
            "resources": [f"arn:aws:events:::rule/{rule}"],
            "detail": {},
        }
        _schedule(t, schedule, {"Fn::GetAtt": [fn.logical, "Arn"]}, {"Fn::GetAtt": ["SchedulerRole", "Arn"]}, payload)
    if not targets:
        return
    t.add(
        "SchedulerRole",
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": assume_role_policy("scheduler.amazonaws.com"),
            "Policies": [
                {
                    "PolicyName": "invoke-schedule-functions",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": [{"Fn::GetAtt": [f.logical, "Arn"]} for f in targets],
                            }
                        ],
                    },
                }
            ],
        },
    )


def _workflow_target(t: Template, schedule: Any) -> None:
    """A ``workflow=`` schedule: EventBridge Scheduler calls StartExecution on the state machine with the
    input, through a role that may do exactly that on exactly that state machine."""
    machine = {"Ref": logical(schedule.workflow.name, "StateMachine")}
    role = t.add(
        logical(schedule.name, "ScheduleRole"),
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": assume_role_policy("scheduler.amazonaws.com"),
            "Policies": [
                {
                    "PolicyName": "start-execution",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}],
                    },
                }
            ],
        },
    )
    _schedule(t, schedule, machine, {"Fn::GetAtt": [role, "Arn"]}, schedule.input)


def _schedule(t: Template, schedule: Any, target: Any, role: Any, payload: Any) -> None:
    t.add(
        logical(schedule.name, "Schedule"),
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": target,
                "RoleArn": role,
                "Input": json.dumps(payload, sort_keys=True),
                "RetryPolicy": {"MaximumRetryAttempts": 2},
            },
        },
    )
