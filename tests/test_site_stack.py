"""`strato deploy` of an app with a site against moto_server, end to end: the CloudFormation stack (bucket,
Origin Access Control, CloudFront distribution and function), then the file sync and the invalidation.

moto's CloudFormation creates no CloudFront resource (moto's cloudfront has no CloudFormation model:
AWS::CloudFront::Distribution, ::OriginAccessControl and ::Function are skipped) and completes the stack
with no outputs at all, so there is no bucket name to sync to; the assertion stays, marked strict xfail,
and `strato deploy` fails with a typed error naming the missing output rather than a KeyError. The sync
itself is covered on moto by test_site_deploy.py's direct-API test."""

from __future__ import annotations

import os

import boto3
import pytest

from tests.test_deploy import cli

APP = """
import strato
app = strato.App("sitestack")
site = app.site("web", directory="dist", spa=True)
"""


def aws(endpoint: str, region: str) -> dict[str, str]:
    """conftest's fake credentials and metadata switch, moto's endpoint, and the stack's region."""
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED")
    return {
        **{k: os.environ[k] for k in keys},
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


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
    env = aws(moto_server, "us-east-1")
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


GATED = """
import strato
app = strato.App("gatedstack")
pool = app.user_pool("users")
site = app.site("web", directory="dist", spa=True, auth=pool)
"""


@pytest.mark.xfail(
    strict=True,
    reason="moto_server gap: its CloudFormation has no AWS::Cognito::* (nor AWS::CloudFront::*) resources, so "
    "the first pass of the main stack is refused (Fn::GetAtt references undefined resource UsersUserPool) and "
    "there are no pool ids to make the us-east-1 gate from",
)
def test_a_gated_site_outside_us_east_1_deploys_its_gate_in_a_companion_stack(tmp_path, moto_server):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<h1>members</h1>")
    spec = tmp_path / "gated_app.py"
    spec.write_text(GATED)
    env = aws(moto_server, "eu-west-1")
    stack = f"gated-{tmp_path.name.lower().replace('_', '-')[-20:]}"
    deployed = cli("deploy", str(spec), "--stack", stack, "--region", "eu-west-1", env=env)
    said = " ".join(deployed.stderr.split())  # rich wraps long lines
    # the first deploy runs the main stack once (disabled distribution) before the companion
    assert "its distributions stay disabled until their us-east-1 gate exists" in said
    if deployed.returncode != 0:  # moto's gap, as the user sees it: a typed error, not a traceback
        assert "CloudFormation refused change set" in said and "Traceback" not in said
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    east = boto3.client("cloudformation", endpoint_url=moto_server, region_name="us-east-1")
    assert east.describe_stacks(StackName=f"{stack}-edge")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    west = boto3.client("cloudformation", endpoint_url=moto_server, region_name="eu-west-1")
    parameters = {
        p["ParameterKey"]: p["ParameterValue"] for p in west.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]
    }
    assert parameters["WebSiteEdgeVersionArn"].startswith("arn:aws:lambda:us-east-1:")
