"""`strato deploy` of an app with a site against moto_server, end to end: the CloudFormation stack (bucket,
Origin Access Control, CloudFront distribution and function), then the file sync and the invalidation.

moto's CloudFormation creates no CloudFront resource (moto's cloudfront has no CloudFormation model:
AWS::CloudFront::Distribution, ::OriginAccessControl and ::Function are skipped) and completes the stack
with no outputs at all, so there is no bucket name to sync to; the assertion stays, marked strict xfail,
and `strato deploy` fails with a typed error naming the missing output rather than a KeyError. The sync
itself is covered on moto by test_site_deploy.py's direct-API test."""

from __future__ import annotations

import boto3
import pytest

from tests.test_deploy import cli

APP = """
import strato
app = strato.App("sitestack")
site = app.site("web", directory="dist", spa=True)
"""


@pytest.mark.xfail(
    strict=True,
    reason="moto_server gap: its CloudFormation creates no AWS::CloudFront::* resource (distribution, OAC, "
    "function) and completes the stack without outputs, so WebBucketName / DistributionId are missing",
)
def test_strato_deploy_creates_the_stack_syncs_the_files_and_invalidates(tmp_path, moto_server):
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><title>v1</title>")
    (tmp_path / "dist" / "assets" / "index-BxYz12_a.js").write_text("console.log(1)")
    spec = tmp_path / "site_app.py"
    spec.write_text(APP)
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    stack = f"site-{tmp_path.name.lower().replace('_', '-')[-20:]}"
    deployed = cli("deploy", str(spec), "--stack", stack, env=env)
    kwargs = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    cfn = boto3.client("cloudformation", **kwargs)
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    if deployed.returncode != 0:  # what moto's gap looks like to the user: a typed error, not a traceback
        assert "has no WebBucketName output" in deployed.stderr and "Traceback" not in deployed.stderr
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert {"WebUrl", "WebBucketName", "DistributionId"} <= set(outputs)
    s3 = boto3.client("s3", **kwargs)
    page = s3.head_object(Bucket=outputs["WebBucketName"], Key="index.html")
    assert page["ContentType"] == "text/html; charset=utf-8" and page["CacheControl"] == "no-cache"
    js = s3.head_object(Bucket=outputs["WebBucketName"], Key="assets/index-BxYz12_a.js")
    assert js["CacheControl"] == "public, max-age=31536000, immutable"
    assert (
        s3.head_object(Bucket=outputs["WebBucketName"], Key="strato-config.json")["ContentType"] == "application/json"
    )
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><title>v2</title>")
    again = cli("deploy", str(spec), "--stack", stack, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 of 4 files changed" in again.stderr and "invalidated /*" in again.stderr
    cloudfront = boto3.client("cloudfront", **kwargs)
    assert cloudfront.list_invalidations(DistributionId=outputs["DistributionId"])["InvalidationList"]["Quantity"] == 1
