"""The backup plan in CloudFormation: a vault (retained: recovery points outlive the stack), a plan
whose rule runs on the declared cron and deletes recovery points after ``keep_days``, and a selection
of the app's tables and buckets by ARN, assumed by a role with AWS Backup's managed policies.

Resource types: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-backup-backupplan.html
(and -backupvault, -backupselection). The managed policies are AWS's own
(https://docs.aws.amazon.com/aws-backup/latest/devguide/security-iam-awsmanpol.html): the service-role
ones for DynamoDB and the S3 ones for buckets, which AWS Backup needs besides them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..deploy.iam import assume_role_policy
from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template

MANAGED_POLICIES = (
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)
S3_POLICIES = (
    "arn:${AWS::Partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:${AWS::Partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)


def synth_backups(t: Template) -> None:
    plan = t.app.backup_plan
    if plan is None:
        return
    covered = [(kind, name) for (kind, name) in sorted(t.app.resources) if plan.covers(kind, name)]
    if not covered:
        return
    suffix = {"table": "Table", "bucket": "Bucket"}
    arns = [{"Fn::GetAtt": [logical(name, suffix[kind]), "Arn"]} for kind, name in covered]
    vault = t.add(
        "BackupVault",
        "AWS::Backup::BackupVault",
        {"BackupVaultName": {"Fn::Sub": "${AWS::StackName}-vault"}},
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    backup_plan = t.add(
        "BackupPlan",
        "AWS::Backup::BackupPlan",
        {
            "BackupPlan": {
                "BackupPlanName": {"Fn::Sub": "${AWS::StackName}-plan"},
                "BackupPlanRule": [
                    {
                        "RuleName": rule_name(plan.every),
                        "TargetBackupVault": {"Ref": vault},
                        "ScheduleExpression": plan.cron,
                        "StartWindowMinutes": 60,
                        "CompletionWindowMinutes": 180,
                        "Lifecycle": {"DeleteAfterDays": plan.keep_days},
                    }
                ],
            }
        },
    )
    policies = list(MANAGED_POLICIES) + (list(S3_POLICIES) if any(k == "bucket" for k, _ in covered) else [])
    role = t.add(
        "BackupRole",
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": assume_role_policy("backup.amazonaws.com"),
            "ManagedPolicyArns": [{"Fn::Sub": arn} for arn in policies],
        },
    )
    selection: dict[str, Any] = {
        "SelectionName": "tables-and-buckets",
        "IamRoleArn": {"Fn::GetAtt": [role, "Arn"]},
        "Resources": arns,
    }
    t.add(
        "BackupSelection",
        "AWS::Backup::BackupSelection",
        {"BackupPlanId": {"Ref": backup_plan}, "BackupSelection": selection},
    )
    t.output("BackupVaultName", {"Ref": vault}, "AWS Backup vault holding the recovery points")


def rule_name(every: str) -> str:
    """A RuleName AWS Backup accepts (letters, digits, - _ ., 1-50): "every-6-hours", or "scheduled"."""
    if every.strip().startswith("cron("):
        return "scheduled"
    return ("every-" + re.sub(r"[^A-Za-z0-9]+", "-", every.strip()))[:50]
