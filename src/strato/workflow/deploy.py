"""A workflow in CloudFormation: an AWS::StepFunctions::StateMachine (Standard or Express) with its
definition as declared, logging to its own log group and X-Ray tracing on, and a role that may write
those logs and traces and nothing else. Its ARN reaches the functions as ``STRATO_WORKFLOW_<NAME>_ARN``.

Not built yet: Python task handlers as Lambda functions (and the DefinitionSubstitutions naming them), so
a definition with a Task state is refused here with that reason rather than deployed half-working."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.config import env_token
from ..core.errors import ConfigurationError
from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Workflow


def synth(t: Template, workflow: Workflow) -> None:
    if workflow.task_resources():
        raise ConfigurationError(
            f"workflow {workflow.name!r}: deploying Python task handlers ({', '.join(workflow.task_resources())}) "
            "as Lambda functions is not supported yet; run it locally"
        )
    integrations = sorted(
        {r for s in workflow.states.values() if (r := s.get("Resource", "")).startswith("arn:aws:states:::")}
    )
    if integrations:
        raise ConfigurationError(
            f"workflow {workflow.name!r}: granting the state machine's role what its service integrations "
            f"({', '.join(integrations)}) need is not supported yet; run it locally"
        )
    machine = logical(workflow.name, "StateMachine")
    logs = t.add(
        logical(workflow.name, "StateMachineLogs"),
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/vendedlogs/states/{t.app.name}-{t.stage}-{workflow.name}", "RetentionInDays": 30},
    )
    role = t.add(logical(workflow.name, "StateMachineRole"), "AWS::IAM::Role", _role(logs))
    t.add(
        machine,
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": f"{t.app.name}-{t.stage}-{workflow.name}",
            "StateMachineType": workflow.type,
            "Definition": workflow.definition,
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [logs, "Arn"]}}}],
            },
            "TracingConfiguration": {"Enabled": True},
        },
    )
    t.env[f"STRATO_WORKFLOW_{env_token(workflow.name)}_ARN"] = {"Ref": machine}
    t.output(machine, {"Ref": machine}, f"Step Functions state machine of {workflow.name}")
    t.grants.append(workflow)


def _role(logs: str) -> dict[str, Any]:
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
                        {  # vended log delivery actions take no resource ARN (AWS documents "*")
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogDelivery",
                                "logs:GetLogDelivery",
                                "logs:UpdateLogDelivery",
                                "logs:DeleteLogDelivery",
                                "logs:ListLogDeliveries",
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
            }
        ],
    }


def arns(resource: Workflow, action: str, stage: str) -> list[Any]:
    machine = logical(resource.name, "StateMachine")
    if action in ("start", "callback"):  # SendTask* is granted on the state machine (SAM's StepFunctionsCallbackPolicy)
        return [{"Ref": machine}]
    executions = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:"
        f"${{{machine}.Name}}:*"
    }
    express = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:express:${{{machine}.Name}}:*"
    }
    if action == "read":
        return [{"Ref": machine}, executions, express]
    return [executions]
