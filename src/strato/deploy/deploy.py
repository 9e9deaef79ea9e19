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
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError, StratoError
from ..runtime.aws import error_code
from . import changeset

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

    def prepare(self, app: App, spec: str, stack: str, parameters: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Package and upload the code: (the template's text, the parameter values) of the app's stack."""
        from .architecture import for_app
        from .package import build
        from .synth import render, synth

        decision = for_app(app)
        self.say(f"architecture {decision.architecture}: {decision.reason}")
        with tempfile.TemporaryDirectory() as tmp:
            self.say("packaging ...")
            zip_path, digest = build(spec, Path(tmp) / "package.zip", decision.architecture)
            code = zip_path.read_bytes()
        template = render(synth(app, region=self.region, architecture=decision.architecture))
        if '"BillingAlarm"' in template and self.region != "us-east-1":
            self.say(
                f"the billing alarm is left out in {self.region}: AWS publishes billing metrics in us-east-1 only "
                "(deploy a stack of the app there for it; see docs/production.md)"
            )
        bucket = self.artifacts_bucket()
        code_key = f"{stack}/{digest}.zip"
        self.upload(bucket, code_key, code)
        return template, {"CodeBucket": bucket, "CodeKey": code_key, **parameters}

    def stage(self, stack: str, template: str, values: dict[str, str]) -> tuple[dict[str, Any], str, list]:
        """Upload the template: (it parsed, its S3 URL, the parameters) a change set is made from."""
        bucket = self.artifacts_bucket()
        template_key = f"{stack}/{hashlib.sha256(template.encode()).hexdigest()}.template.json"
        self.upload(bucket, template_key, template.encode())
        declared = json.loads(template)["Parameters"]
        defaults = {k for k, v in declared.items() if "Default" in v}
        missing = sorted(set(declared) - set(values) - defaults)
        if missing:
            raise ConfigurationError(f"the template needs parameter(s) {', '.join(missing)}: pass --param NAME=VALUE")
        # CloudFormation reads it from S3 with the caller's credentials: the plain object URL is enough
        url = f"https://{bucket}.s3.{self.region}.amazonaws.com/{template_key}"
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items()) if k in declared]
        return json.loads(template), url, params

    def change_set(self, stack: str, url: str, params: list, tags: list[dict[str, str]]) -> tuple[str, str, bool]:
        """Create a change set for ``stack``: (its name, CREATE or UPDATE, whether it holds changes)."""
        status = self.stack_status(stack)
        if status in ("ROLLBACK_COMPLETE",):
            raise StratoError(
                f"stack {stack} is in {status} (its creation failed): `strato destroy --stack {stack}` first"
            )
        change_set = f"strato-{int(time.time())}"
        kind = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
        self.say(f"creating {kind.lower()} change set {change_set} for stack {stack}")
        self.cfn.create_change_set(
            StackName=stack,
            ChangeSetName=change_set,
            ChangeSetType=kind,
            TemplateURL=url,
            Parameters=params,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=tags,
        )
        return change_set, kind, changeset.wait(self.cfn, stack, change_set, self.poll)

    def deployed_template(self, stack: str) -> dict[str, Any] | None:
        status = self.stack_status(stack)
        if status is None or status == "REVIEW_IN_PROGRESS":
            return None
        body = self.cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        return json.loads(body) if isinstance(body, str) else dict(body)

    def discard(self, stack: str, change_set: str, kind: str) -> None:
        """Delete an unexecuted change set (and the empty stack a CREATE change set leaves in review)."""
        self.cfn.delete_change_set(StackName=stack, ChangeSetName=change_set)
        if kind == "CREATE" and self.stack_status(stack) == "REVIEW_IN_PROGRESS":
            self.cfn.delete_stack(StackName=stack)

    def diff(self, app: App, spec: str, stack: str, parameters: dict[str, str]) -> changeset.Diff:
        """What deploying ``app`` to ``stack`` would change; the change set is deleted, never executed."""
        text, values = self.prepare(app, spec, stack, parameters)
        template, url, params = self.stage(stack, text, values)
        old = self.deployed_template(stack)
        from .tags import stack_tags

        name, kind, changed = self.change_set(stack, url, params, stack_tags(app))
        if not changed:
            if kind == "CREATE" and self.stack_status(stack) == "REVIEW_IN_PROGRESS":
                self.cfn.delete_stack(StackName=stack)
            return changeset.Diff(stack, old is None, [])
        try:
            return changeset.describe(self.cfn, stack, name, old, template)
        finally:
            self.discard(stack, name, kind)

    def deploy(
        self,
        app: App,
        spec: str,
        stack: str,
        parameters: dict[str, str],
        review: Callable[[changeset.Diff], bool] | None = None,
    ) -> dict[str, str]:
        """Deploy through a change set; ``review`` sees what it changes and may refuse (nothing is executed)."""
        template, values = self.prepare(app, spec, stack, parameters)
        from ..site.edge_stack import gated_sites, with_edge

        gated = gated_sites(app, self.region)
        if gated:  # their Lambda@Edge gate lives in a us-east-1 companion stack, deployed first
            values = with_edge(self, app, stack, template, values, gated)
        from .tags import stack_tags

        return self.publish_sites(app, self.apply(stack, template, values, stack_tags(app), review))

    def apply(
        self,
        stack: str,
        text: str,
        values: dict[str, str],
        tags: list[dict[str, str]],
        review: Callable[[changeset.Diff], bool] | None = None,
    ) -> dict[str, str]:
        """Create or update ``stack`` from the template ``text`` through a change set; its outputs."""
        template, url, params = self.stage(stack, text, values)
        old = self.deployed_template(stack)
        change_set, kind, changed = self.change_set(stack, url, params, tags)
        if not changed:
            self.say("no changes: the stack already matches")
            return self.outputs(stack)
        if review is not None and not review(changeset.describe(self.cfn, stack, change_set, old, template)):
            self.discard(stack, change_set, kind)
            raise StratoError(f"deploy of {stack} cancelled: nothing was changed (the change set is deleted)")
        started = time.time()
        try:
            self.cfn.execute_change_set(StackName=stack, ChangeSetName=change_set)
        except Exception as exc:
            if not error_code(exc):
                raise
            raise StratoError(f"CloudFormation refused change set {change_set} of stack {stack}: {exc}") from None
        final = self._follow(stack, started, TERMINAL_OK | TERMINAL_BAD)
        if final not in TERMINAL_OK:
            raise StratoError(f"stack {stack} ended in {final}; see the events above")
        return self.outputs(stack)

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
