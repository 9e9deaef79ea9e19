"""A table in CloudFormation: an on-demand DynamoDB table (retained, PITR, SSE), its stream and
one function + event source mapping per change handler; IAM on the table and its indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import settings_of
from ..deploy.names import env_name, logical

if TYPE_CHECKING:
    from ..cache import Cache
    from ..deploy.synth import Template
    from ..kv import KV
    from . import Table
    from .stream import StreamHandler


def synth(t: Template, table: Table) -> None:
    table_resources(t, table)
    cursor_key(t)
    t.grants.append(table)


def cursor_key(t: Template) -> None:
    """The key table cursors are signed with on AWS (``runtime.secrets.cursor_key``): one secret generated
    per stack, handed to every function as ``STRATO_CURSOR_KEY``, so any instance continues a listing."""
    if "STRATO_CURSOR_KEY" in t.env:
        return
    secret = t.add(
        "TableCursorKey",
        "AWS::SecretsManager::Secret",
        {
            "Description": "The key strato signs table query cursors with",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    )
    t.env["STRATO_CURSOR_KEY"] = {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString}}"]]}


def keyed_store(t: Template, resource: KV | Cache) -> None:
    """What kv and cache keep their entries in: a table of their own (``p``, ``k``, TTL ``exp``), or with
    ``provider="redis"`` the app's ElastiCache Serverless cache, reached through the VPC rather than IAM."""
    if resource.provider_name == "redis":
        t.elasticache()
        return
    from . import Table

    table_resources(t, Table(resource.ctx, resource.name, "p", "k", ttl="exp"), resource.kind)
    t.grants.append(resource)


def keyed_requirements(resource: KV | Cache) -> list[str]:
    """kv and cache on Redis / ElastiCache need redis-py in Lambda; on DynamoDB nothing beyond boto3."""
    return ["redis>=5"] if resource.provider_name == "redis" else []


def arns(resource: Table | KV | Cache, action: str, stage: str) -> list[Any]:
    """The table and its indexes (kv and cache keep their entries in a table of their own)."""
    table = logical(resource.name, "Table")
    return [{"Fn::GetAtt": [table, "Arn"]}, {"Fn::Sub": f"${{{table}.Arn}}/index/*"}]


def table_resources(t: Template, table: Table, kind: str = "table", env_kind: str | None = None) -> None:
    schema = table.schema
    from .dynamo import table_layout

    layout = table_layout(schema)
    props: dict[str, Any] = {
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": layout["KeySchema"],
        "AttributeDefinitions": layout["AttributeDefinitions"],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if "GlobalSecondaryIndexes" in layout:
        props["GlobalSecondaryIndexes"] = layout["GlobalSecondaryIndexes"]
    if schema.ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": schema.ttl, "Enabled": True}
    handlers = getattr(table, "stream_handlers", None) or []
    if handlers:
        props["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    logical_id = t.add(
        logical(table.name, "Table"),
        "AWS::DynamoDB::Table",
        props,
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    t.env[env_name(env_kind or kind, table.name)] = {"Ref": logical_id}
    t.output(logical_id, {"Ref": logical_id}, f"DynamoDB table of {kind} {table.name}")
    for spec in handlers:
        change_stream(t, logical_id, spec)


def change_stream(t: Template, table_id: str, spec: StreamHandler) -> None:
    """One function per ``@table.on_change`` handler, fed by a Streams event source mapping."""
    handler = spec.name.split(":", 1)[1]
    stream_arn = {"Fn::GetAtt": [table_id, "StreamArn"]}
    fn = t.function(
        f"stream-{spec.table.name}-{handler}",
        300,
        settings=settings_of(spec.handler),
        env={"STRATO_HANDLER": spec.name},
        extra=[
            {
                "Sid": "ReadOwnStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": [stream_arn],
            }
        ],
    )
    t.add(
        f"{fn.logical}EventSource",
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": stream_arn,
            "FunctionName": {"Ref": fn.logical},
            "StartingPosition": "LATEST",
            "BatchSize": spec.batch_size,
            "MaximumRetryAttempts": max(spec.max_attempts - 1, 0),
            "BisectBatchOnFunctionError": False,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": True,
        },
    )
