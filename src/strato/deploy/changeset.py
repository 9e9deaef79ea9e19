"""What a deploy would change, read from a CloudFormation change set (created, described, and deleted
unless the deploy goes on to execute it), in the terms ``cdk diff`` uses: resources added / modified /
removed, the replacements among them, and the IAM statements granted or revoked.

The change set's own words decide: ``Replacement`` is "True", "False" or "Conditional" per resource
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html), and each
detail names the property and whether it ``RequiresRecreation``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html).
IAM changes come from comparing the statements of the deployed template with the new one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import StratoError

#: resource types holding data a replacement or a removal would lose (or orphan, when retained)
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::Cognito::UserPool",
        "AWS::Backup::BackupVault",
    }
)
#: resource types whose policy documents are the app's permissions
IAM_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::S3::BucketPolicy",
    }
)


@dataclass
class ResourceChange:
    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str | None = None  # "True", "False", "Conditional" (Modify only)
    properties: list[tuple[str, str]] = field(default_factory=list)  # (property, RequiresRecreation)
    physical_id: str | None = None
    retained: bool = False  # DeletionPolicy / UpdateReplacePolicy Retain in the deployed template

    @property
    def replaces(self) -> bool:
        return self.action == "Modify" and self.replacement in ("True", "Conditional")

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def dangerous(self) -> bool:
        """Replacing or removing a resource that holds data: a deploy asks first."""
        return self.stateful and (self.action == "Remove" or self.replaces)


@dataclass
class Diff:
    stack: str
    new_stack: bool
    changes: list[ResourceChange]
    iam_added: list[str] = field(default_factory=list)
    iam_removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def dangerous(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.dangerous]

    def counts(self) -> dict[str, int]:
        out = {"Add": 0, "Modify": 0, "Remove": 0}
        for change in self.changes:
            out[change.action] = out.get(change.action, 0) + 1
        return out


def wait(cfn: Any, stack: str, name: str, poll: float) -> bool:
    """True once the change set is ready; False when it holds no change (it is then deleted)."""
    while True:
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return True
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                cfn.delete_change_set(StackName=stack, ChangeSetName=name)
                return False
            raise StratoError(f"change set failed: {reason}")
        time.sleep(poll)


def describe(cfn: Any, stack: str, name: str, old: dict[str, Any] | None, new: dict[str, Any]) -> Diff:
    """The change set's resource changes (every page), with the IAM statements ``old`` -> ``new`` adds / drops."""
    raw: list[dict[str, Any]] = []
    token = None
    while True:
        page = cfn.describe_change_set(StackName=stack, ChangeSetName=name, **({"NextToken": token} if token else {}))
        raw += page.get("Changes", [])
        token = page.get("NextToken")
        if not token:
            break
    deployed = (old or {}).get("Resources", {})
    changes = []
    for item in raw:
        rc = item.get("ResourceChange")
        if item.get("Type") != "Resource" or not rc:
            continue
        before = deployed.get(rc["LogicalResourceId"], {})
        policy = "DeletionPolicy" if rc["Action"] == "Remove" else "UpdateReplacePolicy"
        changes.append(
            ResourceChange(
                rc["Action"],
                rc["LogicalResourceId"],
                rc["ResourceType"],
                rc.get("Replacement"),
                [
                    (
                        d["Target"].get("Name") or d["Target"].get("Attribute", ""),
                        d["Target"].get("RequiresRecreation", ""),
                    )
                    for d in rc.get("Details", [])
                    if d.get("Target")
                ],
                rc.get("PhysicalResourceId"),
                before.get(policy) == "Retain",
            )
        )
    order = {"Remove": 0, "Modify": 1, "Add": 2}
    changes.sort(key=lambda c: (order.get(c.action, 3), c.logical_id))
    before_iam, after_iam = iam_statements(old or {}), iam_statements(new)
    return Diff(
        stack,
        old is None,
        changes,
        sorted(after_iam - before_iam),
        sorted(before_iam - after_iam),
    )


def iam_statements(template: dict[str, Any]) -> set[str]:
    """One line per (resource, statement) of every policy document and managed policy in ``template``."""
    out: set[str] = set()
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        if kind not in IAM_TYPES:
            continue
        if kind == "AWS::Lambda::Permission":
            principal = props.get("Principal")
            out.add(f"{logical_id}: {principal} may {props.get('Action')} {_short(props.get('FunctionName'))}")
            continue
        documents = [props.get("PolicyDocument")]
        documents += [p.get("PolicyDocument") for p in props.get("Policies", []) or []]
        if kind == "AWS::IAM::Role":
            documents.append(props.get("AssumeRolePolicyDocument"))
            for arn in props.get("ManagedPolicyArns", []) or []:
                out.add(f"{logical_id}: managed policy {_short(arn)}")
        for document in documents:
            for statement in (document or {}).get("Statement", []) or []:
                out.add(f"{logical_id}: {_statement(statement)}")
    return out


def _statement(statement: dict[str, Any]) -> str:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    parts = [statement.get("Effect", "Allow"), ",".join(sorted(actions))]
    if "Principal" in statement:
        parts.append(f"principal {_short(statement['Principal'])}")
    if "Resource" in statement:
        parts.append(f"on {_short(statement['Resource'])}")
    if "Condition" in statement:
        parts.append(f"when {_short(statement['Condition'])}")
    return " ".join(parts)


def _short(value: Any) -> str:
    """A template value as one line: Fn::Sub strings as written, Refs / GetAtts by name."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "Fn::Sub" and isinstance(inner, str):
            return inner
        if key == "Ref":
            return f"${{{inner}}}"
        if key == "Fn::GetAtt" and isinstance(inner, list):
            return "${" + ".".join(map(str, inner)) + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
