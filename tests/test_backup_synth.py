"""app.backups() and bucket versioning / lifecycle in the template: an AWS Backup vault, plan, selection
and role, versioning on the buckets the plan covers, lifecycle transitions; cfn-lint clean."""

from __future__ import annotations

import pytest

import strato
from strato.backup import schedule_cron
from strato.deploy.synth import synth
from tests.cfn import assert_lint_clean


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_PROVIDER", "aws")
    app = strato.App("shop", data_dir=tmp_path / "data")
    app.table("orders", key="id")
    app.bucket("invoices", transition_after_days={30: "INTELLIGENT_TIERING", 365: "GLACIER"})
    app.bucket("scratch")
    app.bucket("history", versioning=True, noncurrent_expire_after_days=90)
    app.backups(every="6 hours", keep_days=35, exclude=["scratch"])
    return app


def lint(template: dict, path) -> None:
    assert_lint_clean(template, path.parent, path.name)


def test_backup_plan_vault_selection_and_role(app, tmp_path):
    template = synth(app)
    lint(template, tmp_path / "t.json")
    r = template["Resources"]
    assert r["BackupVault"]["Type"] == "AWS::Backup::BackupVault" and r["BackupVault"]["DeletionPolicy"] == "Retain"
    rule = r["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"][0]
    assert rule["ScheduleExpression"] == "cron(0 */6 * * ? *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35} and rule["TargetBackupVault"] == {"Ref": "BackupVault"}
    selection = r["BackupSelection"]["Properties"]
    assert selection["BackupPlanId"] == {"Ref": "BackupPlan"}
    assert selection["BackupSelection"]["Resources"] == [
        {"Fn::GetAtt": ["HistoryBucket", "Arn"]},
        {"Fn::GetAtt": ["InvoicesBucket", "Arn"]},
        {"Fn::GetAtt": ["OrdersTable", "Arn"]},
    ]  # scratch is excluded
    role = r["BackupRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}
    policies = [p["Fn::Sub"].rsplit("/", 1)[1] for p in role["ManagedPolicyArns"]]
    assert policies == [
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
        "AWSBackupServiceRolePolicyForS3Backup",
        "AWSBackupServiceRolePolicyForS3Restore",
    ]
    # tables keep point-in-time recovery beside the plan
    assert r["OrdersTable"]["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_covered_buckets_get_versioning_and_lifecycle_rules(app):
    """AWS Backup for S3 needs versioning on the bucket
    (https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html); lifecycle rules per
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-rule.html."""
    r = synth(app)["Resources"]
    invoices = r["InvoicesBucket"]["Properties"]
    assert invoices["VersioningConfiguration"] == {"Status": "Enabled"}  # for the backup plan
    rules = {rule["Id"]: rule for rule in invoices["LifecycleConfiguration"]["Rules"]}
    assert rules["transition"]["Transitions"] == [
        {"TransitionInDays": 30, "StorageClass": "INTELLIGENT_TIERING"},
        {"TransitionInDays": 365, "StorageClass": "GLACIER"},
    ]
    # versioned only for the plan: noncurrent versions last as long as its recovery points
    assert rules["expire-noncurrent"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 35}
    history = r["HistoryBucket"]["Properties"]
    assert history["VersioningConfiguration"] == {"Status": "Enabled"}
    noncurrent = [x for x in history["LifecycleConfiguration"]["Rules"] if x["Id"] == "expire-noncurrent"]
    assert noncurrent[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert "VersioningConfiguration" not in r["ScratchBucket"]["Properties"]


def test_versioned_buckets_grant_version_actions_only_to_versioned_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_PROVIDER", "aws")
    app = strato.App("vers", data_dir=tmp_path / "d")
    app.bucket("docs", versioning=True, allow=["read", "list", "delete"])
    app.bucket("plain", allow="read")
    app.http().get("/")(lambda req: {})
    statements = synth(app)["Resources"]["AppPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    actions = {s["Sid"]: s["Action"] for s in statements}
    assert actions["DocsBucketRead"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert actions["DocsBucketList"] == ["s3:ListBucket", "s3:ListBucketVersions"]
    assert actions["DocsBucketDelete"] == ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    assert actions["PlainBucketRead"] == ["s3:GetObject"]


def test_no_plan_no_backup_resources(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_PROVIDER", "aws")
    app = strato.App("plain", data_dir=tmp_path / "d")
    app.table("t", key="id")
    assert not [k for k in synth(app)["Resources"] if k.startswith("Backup")]


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        ("6 hours", "cron(0 */6 * * ? *)"),
        ("1 hour", "cron(0 * * * ? *)"),
        ("24 hours", "cron(0 5 * * ? *)"),
        ("1 day", "cron(0 5 * * ? *)"),
        ("1 week", "cron(0 5 ? * SUN *)"),
        ("cron(30 2 * * ? *)", "cron(30 2 * * ? *)"),
    ],
)
def test_schedules(every, cron):
    assert schedule_cron(every) == cron


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": "30 minutes"}, "at most hourly"),
        ({"every": "5 hours"}, "dividing 24"),
        ({"every": "3 days"}, "1 day or 1 week"),
        ({"every": "cron(0 5 * * *)"}, "6 fields"),
        ({"every": "6 hours", "keep_days": 0}, "keep_days"),
        ({"every": "6 hours", "exclude": "scratch"}, "list"),
    ],
)
def test_bad_plans_are_configuration_errors(tmp_path, kwargs, message):
    app = strato.App("bad", data_dir=tmp_path / "d")
    with pytest.raises(strato.ConfigurationError, match=message):
        app.backups(**kwargs)


def test_backups_declared_twice(tmp_path):
    app = strato.App("twice", data_dir=tmp_path / "d")
    app.backups(every="1 day")
    with pytest.raises(strato.ConfigurationError, match="twice"):
        app.backups(every="1 day")
