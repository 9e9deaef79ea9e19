"""``strato deploy`` / ``strato destroy``: package, upload, change set, progress, outputs.

The package and the template go to ``strato-artifacts-<account>-<region>`` under their content
hashes, the stack is created or updated through a change set (so nothing changes until it is
reviewed by CloudFormation), stack events are printed as they happen, and the outputs end as a table.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigurationError, StratoError
from ..runtime.aws import error_code

if TYPE_CHECKING:
    from ..app import App

TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
TERMINAL_BAD = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
}


class Deployer:
    def __init__(self, region: str, say: Callable[[str], None] = print, poll: float = 2.0) -> None:
        import boto3

        self.region = region
        self.say = say
        self.poll = poll
        session = boto3.session.Session(region_name=region)
        self.s3 = session.client("s3")
        self.cfn = session.client("cloudformation")
        self.sts = session.client("sts")

    def artifacts_bucket(self) -> str:
        account = self.sts.get_caller_identity()["Account"]
        bucket = f"strato-artifacts-{account}-{self.region}"
        try:
            self.s3.head_bucket(Bucket=bucket)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise StratoError(f"cannot use artifacts bucket {bucket}: {exc}") from exc
            self.say(f"creating artifacts bucket {bucket}")
            extra = (
                {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
            )
            self.s3.create_bucket(Bucket=bucket, **extra)
            self.s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        return bucket

    def upload(self, bucket: str, key: str, body: bytes) -> None:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            self.say(f"s3://{bucket}/{key} is already uploaded")
        except Exception:
            self.say(f"uploading s3://{bucket}/{key} ({len(body):,} bytes)")
            self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def stack_status(self, stack: str) -> str | None:
        try:
            return self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except Exception as exc:
            if "does not exist" in str(exc):
                return None
            raise

    def deploy(self, app: App, spec: str, stack: str, parameters: dict[str, str]) -> dict[str, str]:
        from .architecture import for_app
        from .package import build
        from .synth import render, synth
        from .tags import stack_tags

        decision = for_app(app)
        self.say(f"architecture {decision.architecture}: {decision.reason}")
        with tempfile.TemporaryDirectory() as tmp:
            self.say("packaging ...")
            zip_path, digest = build(spec, Path(tmp) / "package.zip", decision.architecture)
            code = zip_path.read_bytes()
        template = render(synth(app, decision.architecture))
        if '"BillingAlarm"' in template and self.region != "us-east-1":
            self.say(
                f"the billing alarm is left out in {self.region}: AWS publishes billing metrics in us-east-1 only "
                "(deploy a stack of the app there for it; see docs/production.md)"
            )
        bucket = self.artifacts_bucket()
        code_key = f"{stack}/{digest}.zip"
        template_key = f"{stack}/{hashlib.sha256(template.encode()).hexdigest()}.template.json"
        self.upload(bucket, code_key, code)
        self.upload(bucket, template_key, template.encode())
        declared = json.loads(template)["Parameters"]
        values = {"CodeBucket": bucket, "CodeKey": code_key, **parameters}
        missing = sorted(set(declared) - set(values))
        if missing:
            raise ConfigurationError(f"the template needs parameter(s) {', '.join(missing)}: pass --param NAME=VALUE")
        status = self.stack_status(stack)
        if status in ("ROLLBACK_COMPLETE",):
            raise StratoError(
                f"stack {stack} is in {status} (its creation failed): `strato destroy --stack {stack}` first"
            )
        change_set = f"strato-{int(time.time())}"
        kind = "UPDATE" if status else "CREATE"
        self.say(f"creating {kind.lower()} change set {change_set} for stack {stack}")
        self.cfn.create_change_set(
            StackName=stack,
            ChangeSetName=change_set,
            ChangeSetType=kind,
            # CloudFormation reads it from S3 with the caller's credentials: the plain object URL is enough
            TemplateURL=f"https://{bucket}.s3.{self.region}.amazonaws.com/{template_key}",
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items()) if k in declared],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=stack_tags(app),
        )
        if not self._wait_change_set(stack, change_set):
            self.say("no changes: the stack already matches")
            return self.publish_sites(app, self.outputs(stack))
        started = time.time()
        self.cfn.execute_change_set(StackName=stack, ChangeSetName=change_set)
        final = self._follow(stack, started, TERMINAL_OK | TERMINAL_BAD)
        if final not in TERMINAL_OK:
            raise StratoError(f"stack {stack} ended in {final}; see the events above")
        return self.publish_sites(app, self.outputs(stack))

    def publish_sites(self, app: App, outputs: dict[str, str]) -> dict[str, str]:
        """Each site's build into its bucket (changed files only) and the invalidation of what changed."""
        sites = app.of_kind("site")
        if sites:
            import boto3

            from ..site.build import run_build
            from ..site.publish import publish

            cloudfront = boto3.session.Session(region_name=self.region).client("cloudfront")
            for site in sites:
                if site.build is not None:
                    self.say(f"site {site.name}: {site.build}")
                    run_build(site)
                publish(app, site, outputs, self.s3, cloudfront, region=self.region, say=self.say)
        return outputs

    def _wait_change_set(self, stack: str, name: str) -> bool:
        while True:
            described = self.cfn.describe_change_set(StackName=stack, ChangeSetName=name)
            status = described["Status"]
            if status == "CREATE_COMPLETE":
                return True
            if status == "FAILED":
                reason = described.get("StatusReason", "")
                if "didn't contain changes" in reason or "No updates" in reason:
                    self.cfn.delete_change_set(StackName=stack, ChangeSetName=name)
                    return False
                raise StratoError(f"change set failed: {reason}")
            time.sleep(self.poll)

    def _follow(self, stack: str, since: float, terminal: set[str]) -> str:
        seen: set[str] = set()
        while True:
            try:
                events = self.cfn.describe_stack_events(StackName=stack)["StackEvents"]
            except Exception as exc:
                if "does not exist" in str(exc):
                    return "DELETE_COMPLETE"
                raise
            for event in reversed(events):
                if event["EventId"] in seen or event["Timestamp"].timestamp() < since - 5:
                    continue
                seen.add(event["EventId"])
                reason = f" ({event['ResourceStatusReason']})" if event.get("ResourceStatusReason") else ""
                self.say(
                    f"{event['Timestamp']:%H:%M:%S} {event['ResourceStatus']:<24} "
                    f"{event['ResourceType']:<34} {event['LogicalResourceId']}{reason}"
                )
            status = self.stack_status(stack)
            if status is None:
                return "DELETE_COMPLETE"
            if status in terminal:
                return status
            time.sleep(self.poll)

    def outputs(self, stack: str) -> dict[str, str]:
        described = self.cfn.describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def destroy(self, stack: str) -> None:
        if self.stack_status(stack) is None:
            self.say(f"stack {stack} does not exist")
            return
        started = time.time()
        self.cfn.delete_stack(StackName=stack)
        final = self._follow(stack, started, {"DELETE_COMPLETE", "DELETE_FAILED"})
        if final != "DELETE_COMPLETE":
            raise StratoError(f"deleting stack {stack} ended in {final}")
        self.say("deleted (tables and buckets are retained: their DeletionPolicy is Retain)")
