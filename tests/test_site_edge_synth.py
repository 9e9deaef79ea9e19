"""An auth=pool site in CloudFormation: the Lambda@Edge gate (published version, role trusted by
lambda.amazonaws.com and edgelambda.amazonaws.com, CONFIG baked through Fn::Sub) in a us-east-1 stack;
elsewhere a version-ARN parameter that keeps the distribution disabled until the us-east-1 companion
stack has made the function; cfn-lint clean either way; and the outputs' names with one or several sites.

Lambda@Edge rules: "Restrictions on Lambda@Edge", CloudFront Developer Guide,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html
(a numbered version, not $LATEST; the function in us-east-1; the role assumable by lambda.amazonaws.com and
edgelambda.amazonaws.com; Python 3.12 among the runtimes; no environment variables, hence CONFIG baked in).
128 MB and 5 s are a viewer-request function's most ("Quotas on Lambda@Edge",
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-lambda-at-edge).
Inline Python code: "AWS::Lambda::Function Code" (ZipFile, Node.js and Python),
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html
One viewer-request function per behaviour ("You cannot combine CloudFront Functions and Lambda@Edge in viewer
events"): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-restrictions.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import strato
from strato.deploy.synth import render, synth
from strato.site.edge_deploy import companion_template, edge_source
from tests.cfn import assert_lint_clean


@pytest.fixture
def gated(tmp_path):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<h1>hi</h1>")
    app = strato.App("gated", data_dir=tmp_path / "data")
    pool = app.user_pool("users")
    app.site("web", directory=str(tmp_path / "dist"), spa=True, auth=pool)
    yield app
    app.close()


def lint(template: dict, path: Path) -> None:
    assert_lint_clean(template, path.parent, path.name)


def test_in_us_east_1_the_stack_holds_the_edge_function(gated, tmp_path):
    template = synth(gated, region="us-east-1")
    resources = template["Resources"]
    function = resources["WebSiteEdgeFunction"]["Properties"]
    assert function["Runtime"].startswith("python3") and function["Handler"] == "index.handler"
    assert function["MemorySize"] == 128 and function["Timeout"] == 5
    code = function["Code"]["ZipFile"]["Fn::Sub"]
    assert "def handler(event" in code and "def verify_id_token(" in code  # gate.py is in it
    assert '"clientId": "${UsersUserPoolClient}"' in code and "/${UsersUserPool}/.well-known/jwks.json" in code
    assert code.count("${") == 3  # the pool id (issuer, JWKS URL), the client id, and nothing else
    trust = resources["WebSiteEdgeRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert sorted(trust["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    (version,) = [k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Version"]
    config = resources["WebSiteDistribution"]["Properties"]["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    assert default["LambdaFunctionAssociations"] == [
        {"EventType": "viewer-request", "LambdaFunctionARN": {"Ref": version}}
    ]
    assert "FunctionAssociations" not in default and "WebSiteRewrite" not in resources
    (signin,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/_strato-signin"]
    assert "POST" in signin["AllowedMethods"] and signin["LambdaFunctionAssociations"][0]["IncludeBody"] is True
    assert config["Enabled"] is True
    lint(template, tmp_path / "east.json")


def test_a_changed_gate_publishes_a_new_version(gated, tmp_path):
    first = {k for k, v in synth(gated, region="us-east-1")["Resources"].items() if v["Type"] == "AWS::Lambda::Version"}
    other = strato.App("gated", data_dir=tmp_path / "data2")
    pool = other.user_pool("users")
    other.site("web", directory=str(tmp_path / "dist"), spa=False, auth=pool)  # the SPA rule is baked in
    second = {
        k for k, v in synth(other, region="us-east-1")["Resources"].items() if v["Type"] == "AWS::Lambda::Version"
    }
    other.close()
    assert first and second and first != second


def test_elsewhere_the_distribution_waits_for_the_companion_stack(gated, tmp_path):
    template = synth(gated, region="eu-west-1")
    resources = template["Resources"]
    assert not any(v["Type"].startswith("AWS::Lambda") for v in resources.values())
    assert template["Parameters"]["WebSiteEdgeVersionArn"]["Default"] == ""
    assert template["Conditions"]["WebSiteEdgeReady"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebSiteEdgeVersionArn"}, ""]}]
    }
    config = resources["WebSiteDistribution"]["Properties"]["DistributionConfig"]
    assert config["Enabled"] == {"Fn::If": ["WebSiteEdgeReady", True, False]}  # never served ungated
    associations = config["DefaultCacheBehavior"]["LambdaFunctionAssociations"]["Fn::If"]
    assert associations[1][0]["LambdaFunctionARN"] == {"Ref": "WebSiteEdgeVersionArn"}
    lint(template, tmp_path / "main.json")
    companion = companion_template("gated", "dev", gated.of_kind("site"), "eu-west-1")
    assert set(companion["Parameters"]) == {"WebSitePoolId", "WebSiteClientId"}
    code = companion["Resources"]["WebSiteEdgeFunction"]["Properties"]["Code"]["ZipFile"]["Fn::Sub"]
    assert "https://cognito-idp.eu-west-1.amazonaws.com/${WebSitePoolId}" in code  # the pool's own region
    assert set(companion["Outputs"]) == {"WebSiteEdgeVersionArn"}
    lint(companion, tmp_path / "companion.json")


def test_the_edge_code_is_standard_library_only():
    """A viewer-request function's package is capped at 1 MB: no PyJWT, no cryptography, no strato."""
    import ast

    tree = ast.parse(edge_source())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "base64",
        "hashlib",
        "hmac",
        "json",
        "time",
        "urllib",
        "html",
        "collections",
        "typing",
    }
    assert len(edge_source().encode()) < 64 * 1024


def test_outputs_are_named_web_for_one_site_and_prefixed_for_several(gated, tmp_path):
    assert {"WebUrl", "WebBucketName", "DistributionId"} <= set(synth(gated, region="us-east-1")["Outputs"])
    (tmp_path / "admin").mkdir()
    two = strato.App("two", data_dir=tmp_path / "two")
    two.site("web", directory=str(tmp_path / "dist"))
    two.site("admin", directory=str(tmp_path / "admin"), prefix="/admin")
    outputs = set(synth(two)["Outputs"])
    two.close()
    assert {"WebWebUrl", "WebWebBucketName", "WebDistributionId"} <= outputs
    assert {"AdminWebUrl", "AdminWebBucketName", "AdminDistributionId"} <= outputs
    assert not {"WebUrl", "DistributionId"} & outputs
    json.dumps(outputs, default=list)


def deploy_companion(gated, moto_server, stack: str) -> dict:
    from strato.deploy.deploy import Deployer

    template = render(companion_template("gated", "dev", gated.of_kind("site"), "eu-west-1"))
    deployer = Deployer("us-east-1", say=lambda line: None, poll=0.2)
    values = {"WebSitePoolId": "eu-west-1_abc", "WebSiteClientId": "client1"}
    return deployer.apply(stack, template, values, [{"Key": "strato:app", "Value": "gated"}])


def test_the_companion_stack_deploys_the_edge_function_in_us_east_1(gated, moto_server):
    import boto3

    deploy_companion(gated, moto_server, "gated-edge-fn")
    kwargs = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    lam = boto3.client("lambda", **kwargs)
    function = lam.get_function(FunctionName="gated-dev-web-edge")["Configuration"]
    assert (function["Runtime"], function["Handler"], function["MemorySize"], function["Timeout"]) == (
        "python3.12",
        "index.handler",
        128,
        5,
    )
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="gated-dev-web-edge")["Versions"]][
        -1
    ].isdigit()  # a numbered version: Lambda@Edge takes no $LATEST
    role = boto3.client("iam", **kwargs).get_role(RoleName=function["Role"].split("/")[-1])["Role"]
    principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


@pytest.mark.xfail(
    strict=True,
    reason="moto_server gap: its CloudFormation creates the AWS::Lambda::Version but gives the stack no output "
    "whose value is the version's Ref, so WebSiteEdgeVersionArn is missing",
)
def test_the_companion_stack_outputs_the_version_arn(gated, moto_server):
    outputs = deploy_companion(gated, moto_server, "gated-edge-out")
    assert outputs["WebSiteEdgeVersionArn"].startswith("arn:aws:lambda:us-east-1:")


@pytest.mark.xfail(
    strict=True,
    reason="moto_server gap: its CloudFormation gives the companion stack no output whose value is the "
    "AWS::Lambda::Version's Ref, so there is no version ARN to hand the main stack",
)
def test_a_later_deploy_makes_the_companion_from_the_main_stacks_pool_outputs(gated, moto_server):
    """The main stack (eu-west-1) already has the pool's outputs: with_edge deploys the us-east-1 companion
    from them first and hands its version ARN to the main stack's parameter."""
    import boto3

    from strato.deploy.deploy import Deployer
    from strato.site.edge_stack import gated_sites, with_edge

    main = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"UsersUserPool": {"Value": "eu-west-1_abc"}, "UsersUserPoolClient": {"Value": "client1"}},
    }
    west = boto3.client("cloudformation", endpoint_url=moto_server, region_name="eu-west-1")
    west.create_stack(StackName="later", TemplateBody=json.dumps(main))
    deployer = Deployer("eu-west-1", say=lambda line: None, poll=0.2)
    sites = gated_sites(gated, "eu-west-1")
    assert [s.name for s in sites] == ["web"] and gated_sites(gated, "us-east-1") == []
    try:
        values = with_edge(deployer, gated, "later", "{}", {"CodeKey": "k"}, sites)
    finally:  # the companion was made from the main stack's outputs, before any main stack change
        east = boto3.client("cloudformation", endpoint_url=moto_server, region_name="us-east-1")
        companion = east.describe_stacks(StackName="later-edge")["Stacks"][0]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in companion["Parameters"]}
        assert parameters == {"WebSitePoolId": "eu-west-1_abc", "WebSiteClientId": "client1"}
    assert values["WebSiteEdgeVersionArn"].startswith("arn:aws:lambda:us-east-1:") and values["CodeKey"] == "k"
