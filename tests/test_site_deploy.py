"""A site on AWS: the synthesised bucket + CloudFront distribution (cfn-lint clean), and `strato deploy`'s
upload of a build to the bucket on moto_server: content types, Cache-Control, changed files only,
removed files deleted, changed paths invalidated, /strato-config.json from the stack's outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import strato
from strato.core.errors import ConfigurationError
from strato.deploy.synth import synth
from strato.site.publish import publish

ROOT = Path(__file__).resolve().parent.parent

APP = """
import strato
app = strato.App("webapp")
api = app.http()
live = app.websocket("live")
pool = app.user_pool("users")
site = app.site("web", directory="dist", spa=True, price_class="PriceClass_200")

@api.get("/api/items")
def items(req):
    return []
"""


def build(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text("<!doctype html><title>v1</title>")
    (dist / "assets" / "index-BxYz12_a.js").write_text("console.log('v1')")
    (dist / "robots.txt").write_text("User-agent: *\n")
    (dist / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture
def site_app(tmp_path):
    build(tmp_path)
    spec = tmp_path / "web_app.py"
    spec.write_text(APP)
    return spec


def test_synth_passes_cfn_lint(site_app, tmp_path):
    out = tmp_path / "template.json"
    done = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", str(site_app), "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lint = subprocess.run(["cfn-lint", str(out)], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout


def load(spec: Path) -> strato.App:
    namespace: dict = {"__file__": str(spec)}
    exec(compile(spec.read_text(), str(spec), "exec"), namespace)
    return namespace["app"]


def test_the_distribution_and_its_private_bucket(site_app):
    template = synth(load(site_app))
    resources, outputs = template["Resources"], template["Outputs"]
    bucket = resources["WebSiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    oac = resources["WebSiteOriginAccess"]["Properties"]["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3" and oac["SigningBehavior"] == "always"
    config = resources["WebSiteDistribution"]["Properties"]["DistributionConfig"]
    assert config["HttpVersion"] == "http2and3" and config["DefaultRootObject"] == "index.html"
    assert config["PriceClass"] == "PriceClass_200"
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "https-only" and default["Compress"] is True
    assert default["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"  # SecurityHeadersPolicy
    assert config["Origins"][0]["OriginAccessControlId"] == {"Fn::GetAtt": ["WebSiteOriginAccess", "Id"]}
    # every route is under /api/: the HTTP API is a same-origin behaviour by default
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*" and api["TargetOriginId"] == "api" and "POST" in api["AllowedMethods"]
    code = resources["WebSiteRewrite"]["Properties"]["FunctionCode"]
    assert "true &&" in code and '"/index.html"' in code  # the SPA rule, the same one strato dev applies
    statement = resources["WebSiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in statement["Condition"]["StringEquals"]
    assert {"WebUrl", "WebBucketName", "DistributionId"} <= set(outputs)


def test_api_origin_defaults_off_when_routes_live_elsewhere(tmp_path):
    build(tmp_path)
    app = strato.App("other", data_dir=tmp_path / "data")
    api = app.http()
    api.get("/items")(lambda req: [])
    app.site("web", directory=str(tmp_path / "dist"))
    config = synth(app)["Resources"]["WebSiteDistribution"]["Properties"]["DistributionConfig"]
    assert "CacheBehaviors" not in config and len(config["Origins"]) == 1
    forced = strato.App("forced", data_dir=tmp_path / "data2")
    forced.http().get("/items")(lambda req: [])
    forced.site("web", directory=str(tmp_path / "dist"), api_origin=True)
    with pytest.raises(ConfigurationError, match="routes all start with /api/"):
        synth(forced)


def test_publish_uploads_changes_only_and_invalidates_them(site_app, tmp_path, moto_server):
    kwargs = {
        "endpoint_url": moto_server,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3, cloudfront = boto3.client("s3", **kwargs), boto3.client("cloudfront", **kwargs)
    bucket = f"site-{tmp_path.name.lower().replace('_', '-')[:40]}"
    s3.create_bucket(Bucket=bucket)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": bucket,
            "Comment": "test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": f"{bucket}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]["Id"]
    outputs = {
        "WebBucketName": bucket,
        "DistributionId": distribution,
        "WebUrl": "https://d111.cloudfront.net/",
        "HttpApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com",
        "LiveWebSocketApiUrl": "wss://ws1.execute-api.us-east-1.amazonaws.com/dev",
        "UsersUserPool": "us-east-1_pool",
        "UsersUserPoolClient": "client123",
    }
    app = load(site_app)
    (site,) = app.of_kind("site")
    lines: list[str] = []
    first = publish(app, site, outputs, s3, cloudfront, region="us-east-1", say=lines.append)
    assert sorted(first.uploaded) == [
        "assets/index-BxYz12_a.js",
        "index.html",
        "logo.svg",
        "robots.txt",
        "strato-config.js",
        "strato-config.json",
    ]
    assert not first.invalidated  # nothing was at the edge yet
    assert any("[1/6]" in line for line in lines) and any("[6/6]" in line for line in lines)
    js = s3.head_object(Bucket=bucket, Key="assets/index-BxYz12_a.js")
    assert js["ContentType"] == "text/javascript; charset=utf-8"
    assert js["CacheControl"] == "public, max-age=31536000, immutable"
    page = s3.head_object(Bucket=bucket, Key="index.html")
    assert page["ContentType"] == "text/html; charset=utf-8" and page["CacheControl"] == "no-cache"
    assert s3.head_object(Bucket=bucket, Key="logo.svg")["ContentType"] == "image/svg+xml"
    config = json.loads(s3.get_object(Bucket=bucket, Key="strato-config.json")["Body"].read())
    assert config["httpApiUrl"] == "https://d111.cloudfront.net"  # same origin through /api/*
    assert config["webSocketUrls"] == {"live": "wss://ws1.execute-api.us-east-1.amazonaws.com/dev"}
    assert (config["userPoolId"], config["userPoolClientId"], config["region"]) == (
        "us-east-1_pool",
        "client123",
        "us-east-1",
    )

    again = publish(app, site, outputs, s3, cloudfront, region="us-east-1", say=lines.append)
    assert again.uploaded == [] and again.unchanged == 6 and again.deleted == []

    (tmp_path / "dist" / "robots.txt").write_text("User-agent: *\nDisallow: /private\n")
    (tmp_path / "dist" / "logo.svg").unlink()
    third = publish(app, site, outputs, s3, cloudfront, region="us-east-1", say=lines.append)
    assert third.uploaded == ["robots.txt"] and third.deleted == ["logo.svg"]
    assert third.invalidated == ["/logo.svg", "/robots.txt"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "logo.svg" not in keys and "robots.txt" in keys
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 1

    (tmp_path / "dist" / "index.html").write_text("<!doctype html><title>v2</title>")
    fourth = publish(app, site, outputs, s3, cloudfront, region="us-east-1", say=lines.append)
    assert fourth.uploaded == ["index.html"] and fourth.invalidated == ["/*"]  # the SPA page answers every path
