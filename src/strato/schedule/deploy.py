"""Schedules in CloudFormation: one function and one EventBridge Scheduler schedule per ``@app.schedule``,
and the role the scheduler invokes them with."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        t.add(
            logical(schedule.name, "Schedule"),
            "AWS::Scheduler::Schedule",
            {
                "ScheduleExpression": schedule.expression,
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": {"Fn::GetAtt": [fn.logical, "Arn"]},
                    "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                    "Input": json.dumps(payload, sort_keys=True),
                    "RetryPolicy": {"MaximumRetryAttempts": 2},
                },
            },
        )
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
