"""A workflow in CloudFormation: an AWS::StepFunctions::StateMachine (Standard or Express) with its
definition as declared, each Python task handler as a Lambda function packaged like the app's others (its
Task's Resource a ``${...}`` placeholder, DefinitionSubstitutions mapping it to the function's ARN), logging
to its own log group and X-Ray tracing on, and a role that may invoke exactly those functions, use the
integrations' actions on the declared resources they name (``workflow/iam.py``), log and trace. Its ARN
reaches the functions as ``STRATO_WORKFLOW_<NAME>_ARN``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.config import env_token
from ..core.function_settings import settings_of
from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Workflow


def synth(t: Template, workflow: Workflow) -> None:
    from . import task_functions
    from .iam import Plan

    def function_arn(task: str) -> Any:
        key = task_functions.function_key(workflow, task)
        found = next((f for f in t.functions if f.key == key), None)
        if found is None:  # an @app.task named by several workflows is one function
            env = {task_functions.ENV: f"{workflow.name}/{task}"}
            handler = workflow.tasks.get(task) or workflow.app_tasks.get(task)
            settings = settings_of(handler)  # @strato.function on the task handler: memory, concurrency...
            found = t.function(key, task_functions.timeout(workflow, task), env=env, settings=settings)
        return {"Fn::GetAtt": [found.logical, "Arn"]}

    def machine_arn(name: str) -> Any:
        return _machine_arn(t.app.name, t.stage, name)

    def executions_arn(name: str) -> Any:
        return arns_of(t.app.name, t.stage, name, "stop")[0]

    plan = Plan(workflow, function_arn, machine_arn, executions_arn).build()
    machine = logical(workflow.name, "StateMachine")
    logs = t.add(
        logical(workflow.name, "StateMachineLogs"),
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/vendedlogs/states/{t.app.name}-{t.stage}-{workflow.name}", "RetentionInDays": 30},
    )
    role = t.add(logical(workflow.name, "StateMachineRole"), "AWS::IAM::Role", _role(logs, plan.statements()))
    props: dict[str, Any] = {
        "StateMachineName": physical(t.app.name, t.stage, workflow.name),
        "StateMachineType": workflow.type,
        "Definition": plan.definition,
        "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
        "LoggingConfiguration": {
            "Level": "ALL",
            "IncludeExecutionData": True,
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [logs, "Arn"]}}}],
        },
        "TracingConfiguration": {"Enabled": True},
    }
    if plan.substitutions:
        props["DefinitionSubstitutions"] = dict(sorted(plan.substitutions.items()))
    t.add(machine, "AWS::StepFunctions::StateMachine", props)
    # by its known name, not Ref: a task function (which gets the app's env and grants) is something the
    # state machine depends on, so a Ref here would be a circular dependency
    t.env[f"STRATO_WORKFLOW_{env_token(workflow.name)}_ARN"] = _machine_arn(t.app.name, t.stage, workflow.name)
    t.output(machine, {"Ref": machine}, f"Step Functions state machine of {workflow.name}")
    t.grants.append(workflow)


def _role(logs: str, integrations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
        "Policies": [
            {
                "PolicyName": "logs-and-traces",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {  # as https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html lists them: vended
                            # log delivery actions take no resource ARN (AWS documents "*")
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogDelivery",
                                "logs:CreateLogStream",
                                "logs:GetLogDelivery",
                                "logs:UpdateLogDelivery",
                                "logs:DeleteLogDelivery",
                                "logs:ListLogDeliveries",
                                "logs:PutLogEvents",
                                "logs:PutResourcePolicy",
                                "logs:DescribeResourcePolicies",
                                "logs:DescribeLogGroups",
                            ],
                            "Resource": "*",
                        },
                        {
                            "Effect": "Allow",
                            "Action": [
                                "xray:PutTraceSegments",
                                "xray:PutTelemetryRecords",
                                "xray:GetSamplingRules",
                                "xray:GetSamplingTargets",
                            ],
                            "Resource": "*",
                        },
                    ],
                },
            },
            *(
                [
                    {
                        "PolicyName": "tasks-and-integrations",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": integrations},
                    }
                ]
                if integrations
                else []
            ),
        ],
    }


def physical(app: str, stage: str, name: str) -> str:
    return f"{app}-{stage}-{name}"


def _machine_arn(app: str, stage: str, name: str) -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
        + physical(app, stage, name)
    }


def arns(resource: Workflow, action: str, stage: str) -> list[Any]:
    """By name rather than Ref / GetAtt, for the same reason as the environment variable (see synth)."""
    return arns_of(resource.ctx.config.app_name, stage, resource.name, action)


def arns_of(app: str, stage: str, workflow: str, action: str) -> list[Any]:
    prefix = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    name = physical(app, stage, workflow)
    if action in ("start", "callback"):  # SendTask* is granted on the state machine (SAM's StepFunctionsCallbackPolicy)
        return [_machine_arn(app, stage, workflow)]
    executions = {"Fn::Sub": f"{prefix}:execution:{name}:*"}
    express = {"Fn::Sub": f"{prefix}:express:{name}:*"}
    if action == "read":
        return [_machine_arn(app, stage, workflow), executions, express]
    return [executions]
