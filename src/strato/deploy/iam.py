"""Least-privilege IAM statements: exactly the actions each resource was declared with."""

from __future__ import annotations

from typing import Any

from ..permissions import ACTIONS
from .names import camel, logical


def _arns(kind: str, resource: Any, action: str, stage: str) -> list[Any]:
    if kind in ("table", "kv", "cache"):
        table = logical(resource.name, "Table")
        return [{"Fn::GetAtt": [table, "Arn"]}, {"Fn::Sub": f"${{{table}.Arn}}/index/*"}]
    if kind == "bucket":  # from the bucket's deterministic name, not its Ref: no dependency cycle
        from .synth import bucket_name

        arn = f"arn:${{AWS::Partition}}:s3:::{bucket_name(resource.app.name, stage, resource.name)}"
        return [{"Fn::Sub": arn}] if action == "list" else [{"Fn::Sub": f"{arn}/*"}]
    if kind == "queue":
        return [{"Fn::GetAtt": [logical(resource.name, "Queue"), "Arn"]}]
    if kind == "topic":
        return [{"Ref": logical(resource.name, "Topic")}]
    if kind == "websocket":
        api = logical(resource.name, "WebSocketApi")
        return [
            {
                "Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/"
                f"{stage}/*/@connections/*"
            }
        ]
    if kind == "sql":
        return [{"Ref": logical(resource.name, "SqlSecretArn")}]
    if kind == "meetings":  # Chime SDK meetings are created at run time: the account's meetings in the region
        return [{"Fn::Sub": "arn:${AWS::Partition}:chime:${AWS::Region}:${AWS::AccountId}:meeting/*"}]
    if kind == "user_pool":
        return [{"Fn::GetAtt": [logical(resource.name, "UserPool"), "Arn"]}]
    if kind == "metrics":  # CloudWatch metric actions take no resource ARN
        return "*"  # type: ignore[return-value]
    raise KeyError(kind)


def statements_for(resources: list[tuple[str, Any]], stage: str) -> list[dict[str, Any]]:
    """One statement per (resource, declared action), in declaration order."""
    out = []
    for kind, resource in resources:
        for action in sorted(resource.allowed):
            statement = {
                "Sid": f"{logical(resource.name, camel(kind))}{action.capitalize()}",
                "Effect": "Allow",
                "Action": sorted(set(ACTIONS[kind][action])),
                "Resource": _arns(kind, resource, action, stage),
            }
            if kind == "metrics" and action == "put":  # only this app's namespace
                statement["Condition"] = {"StringEquals": {"cloudwatch:namespace": resource.namespace}}
            out.append(statement)
    return out
