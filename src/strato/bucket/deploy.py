"""A bucket in CloudFormation: a private, encrypted S3 bucket (retained) with lifecycle rules (expiry,
transitions to storage classes, noncurrent versions), versioning (declared, or for AWS Backup) and
notifications to one function for its watchers; IAM on objects (and the bucket for list)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import one_of
from ..deploy.names import env_name, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Bucket


import re


def synth(t: Template, bucket: Bucket) -> None:
    _bucket(t, bucket)
    t.grants.append(bucket)


def arns(resource: Bucket, action: str, stage: str) -> list[Any]:
    """From the bucket's deterministic name, not its Ref: no dependency cycle with notifications."""
    arn = f"arn:${{AWS::Partition}}:s3:::{bucket_name(resource.ctx.app_name, stage, resource.name)}"
    return [{"Fn::Sub": arn}] if action == "list" else [{"Fn::Sub": f"{arn}/*"}]


def bucket_name(app: str, stage: str, bucket: str) -> str:
    """An S3-valid name template from the declaration plus ${AWS::AccountId}-${AWS::Region}."""
    prefix = re.sub(r"[^a-z0-9-]", "-", f"{app}-{stage}-{bucket}".lower())[:30].strip("-")
    return f"{prefix}-${{AWS::AccountId}}-${{AWS::Region}}"


def backed_up(t: Template, bucket: Bucket) -> bool:
    """AWS Backup backs up only buckets with versioning enabled: "S3 Versioning must be enabled"
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html, prerequisites)."""
    plan = getattr(t.app, "backup_plan", None)
    return plan is not None and plan.covers("bucket", bucket.name)


def private_bucket() -> dict[str, Any]:
    """The properties every strato bucket starts from: encrypted, Block Public Access on every setting,
    owner-enforced (no ACLs). Sites use it too."""
    return {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }


def _bucket(t: Template, bucket: Bucket) -> None:
    props = private_bucket()
    rules: list[dict[str, Any]] = [
        {
            "Id": "abort-incomplete-uploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    if bucket.expire_after_days:
        rules.append({"Id": "expire", "Status": "Enabled", "ExpirationInDays": bucket.expire_after_days})
    if bucket.transitions:
        transitions = [{"TransitionInDays": d, "StorageClass": c} for d, c in bucket.transitions.items()]
        rules.append({"Id": "transition", "Status": "Enabled", "Transitions": transitions})
    plan = getattr(t.app, "backup_plan", None)
    if bucket.noncurrent_expire_after_days or (backed_up(t, bucket) and not bucket.versioning):
        # versioned only for AWS Backup: old versions last as long as the recovery points, not forever
        days = bucket.noncurrent_expire_after_days or (plan.keep_days if plan is not None else 1)
        rules.append(
            {"Id": "expire-noncurrent", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": days}}
        )
    props["LifecycleConfiguration"] = {"Rules": rules}
    if bucket.versioning or backed_up(t, bucket):
        props["VersioningConfiguration"] = {"Status": "Enabled"}
    logical_id = logical(bucket.name, "Bucket")
    # named from pseudo-parameters only: the functions can know it without a Ref, which would make a
    # cycle with the bucket's notification -> permission -> function
    name = {"Fn::Sub": bucket_name(t.app.name, t.stage, bucket.name)}
    props["BucketName"] = name
    extra: dict[str, Any] = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    if bucket.watchers:
        fn = t.function(
            f"bucket-{bucket.name}",
            60,
            settings=one_of([w.handler for w in bucket.watchers], f"bucket {bucket.name!r}"),
        )
        configs = []
        for watcher in bucket.watchers:
            rules_filter = [
                r
                for r in ({"Name": "prefix", "Value": watcher.prefix}, {"Name": "suffix", "Value": watcher.suffix})
                if r["Value"]
            ]
            for kind in watcher.events:
                events = (
                    ["s3:ObjectCreated:*"] if kind == "created" else ["s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]
                )
                for event in events:
                    config = {"Event": event, "Function": {"Fn::GetAtt": [fn.logical, "Arn"]}}
                    if rules_filter:
                        config["Filter"] = {"S3Key": {"Rules": rules_filter}}
                    configs.append(config)
        props["NotificationConfiguration"] = {"LambdaConfigurations": configs}
        permission = t.add(
            f"{logical_id}InvokePermission",
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn.logical},
                "Principal": "s3.amazonaws.com",
                "SourceAccount": {"Ref": "AWS::AccountId"},
            },
        )
        extra["DependsOn"] = [permission]
    t.add(logical_id, "AWS::S3::Bucket", props, **extra)
    t.env[env_name("bucket", bucket.name)] = name
    t.output(logical_id, {"Ref": logical_id}, f"S3 bucket {bucket.name}")
