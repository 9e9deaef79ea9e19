"""The Lambda@Edge function of an ``auth=pool`` site in CloudFormation.

Its code is gate.py + signin_page.py + edge.py pasted into one ``index.py`` (``Code.ZipFile``, which
CloudFormation accepts inline for Python) with ``CONFIG`` written in through ``Fn::Sub``: Lambda@Edge has
no environment variables, and the pool's id is only known once CloudFormation has made it.

Lambda@Edge functions must live in us-east-1 (CloudFront Developer Guide, "Restrictions on Lambda@Edge").
A stack in us-east-1 holds the function itself. A stack in any other region gets a companion stack
``<stack>-edge`` in us-east-1 holding only the function (its role trusting lambda.amazonaws.com and
edgelambda.amazonaws.com, and a published version), with the pool id and client id as parameters; the
main stack takes that version's ARN as the parameter ``<Site>EdgeVersionArn`` and keeps its distribution
disabled while the parameter is empty, so a site is never served without its gate. ``strato deploy``
orders this: on the first deploy main stack (pool, disabled distribution) -> companion -> main stack
again (enabled); afterwards companion -> main stack."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..deploy.iam import assume_role_policy
from ..deploy.names import function_name, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Site

EDGE_REGION = "us-east-1"
_MODULES = ("gate", "signin_page", "edge")
_RELATIVE = re.compile(r"^from \.\w+ import (\([^)]*\)|[^\n]*)\n", re.MULTILINE)
_FUTURE = "from __future__ import annotations\n"


def edge_source() -> str:
    """The three modules as one file, their relative imports dropped (the names are all defined above)."""
    parts = [_FUTURE]
    for name in _MODULES:
        text = (resources.files("strato.site") / f"{name}.py").read_text(encoding="utf-8")
        parts.append(f"# ---- strato/site/{name}.py\n" + _RELATIVE.sub("", text.replace(_FUTURE, "")))
    source = "\n".join(parts)
    if "${" in source:  # Fn::Sub would read it as a variable
        raise RuntimeError("strato/site: the edge modules must not contain a dollar-brace")
    return source


def edge_code(config: dict[str, str]) -> str:
    """index.py with ``CONFIG`` filled in (values may hold ``${...}`` for Fn::Sub)."""
    return edge_source() + f"\nCONFIG.update({json.dumps(config, sort_keys=True)})\n"


def edge_config(site: Site, region: str, pool_id: str, client_id: str) -> dict[str, str]:
    """What the function needs, with ``pool_id`` / ``client_id`` as given (``${UsersUserPool}``)."""
    from .deploy import index_key

    cognito = f"https://cognito-idp.{region}.amazonaws.com"
    return {
        "issuer": f"{cognito}/{pool_id}",
        "clientId": client_id,
        "jwksUrl": f"{cognito}/{pool_id}/.well-known/jwks.json",
        "cognitoUrl": f"{cognito}/",
        "prefix": site.prefix,
        "siteName": site.name,
        "spa": "true" if site.spa else "false",
        "index": index_key(site),
    }


def version_parameter(site: Site) -> str:
    return f"{logical(site.name, 'Site')}EdgeVersionArn"


def edge_resources(add: Any, app_name: str, stage: str, site: Site, config: dict[str, str]) -> str:
    """Role, function and published version through ``add`` (Template.add); returns the version's id,
    whose ``Ref`` is the version ARN CloudFront wants. The version's id carries a hash of the code, so a
    changed function publishes a new version (an AWS::Lambda::Version is never updated in place)."""
    stem = f"{logical(site.name, 'Site')}Edge"
    name = function_name(app_name, stage, f"{site.name}-edge")
    code = edge_code(config)
    # Lambda@Edge logs in the region that ran it, as /aws/lambda/us-east-1.<function name>
    logs = f"arn:${{AWS::Partition}}:logs:*:${{AWS::AccountId}}:log-group:/aws/lambda/us-east-1.{name}:*"
    trust = assume_role_policy("lambda.amazonaws.com")
    trust["Statement"][0]["Principal"]["Service"] = ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]
    add(
        f"{stem}Role",
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": trust,
            "Policies": [
                {
                    "PolicyName": "edge-logs",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": [{"Fn::Sub": logs}],
                            }
                        ],
                    },
                }
            ],
        },
    )
    add(
        f"{stem}Function",
        "AWS::Lambda::Function",
        {
            "FunctionName": name,
            "Description": f"sign-in gate of site {site.name} (Lambda@Edge viewer request)",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "MemorySize": 128,  # the most a viewer-request function may have
            "Timeout": 5,  # likewise
            "Code": {"ZipFile": {"Fn::Sub": code}},
            "Role": {"Fn::GetAtt": [f"{stem}Role", "Arn"]},
        },
        DeletionPolicy="Retain",  # CloudFront's replicas keep it undeletable for hours after the distribution goes
    )
    digest = hashlib.sha256(code.encode()).hexdigest()[:10]
    return add(
        f"{stem}Version{digest}",
        "AWS::Lambda::Version",
        {"FunctionName": {"Ref": f"{stem}Function"}, "Description": f"code {digest}"},
        DeletionPolicy="Retain",
    )


def companion_template(app_name: str, stage: str, sites: list[Site], region: str) -> dict[str, Any]:
    """The us-east-1 stack of a stack in ``region``: each gated site's function, the pool ids as
    parameters, the version ARNs as outputs."""
    parameters: dict[str, Any] = {}
    resources_: dict[str, Any] = {}
    outputs: dict[str, Any] = {}

    def add(logical_id: str, kind: str, props: dict[str, Any], **extra: Any) -> str:
        resources_[logical_id] = {"Type": kind, "Properties": props, **extra}
        return logical_id

    for site in sites:
        stem = logical(site.name, "Site")
        for suffix in ("PoolId", "ClientId"):
            parameters[f"{stem}{suffix}"] = {"Type": "String", "Description": f"of the user pool gating {site.name}"}
        config = edge_config(site, region, f"${{{stem}PoolId}}", f"${{{stem}ClientId}}")
        version = edge_resources(add, app_name, stage, site, config)
        outputs[version_parameter(site)] = {"Value": {"Ref": version}, "Description": f"edge gate of {site.name}"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"strato app {app_name} (stage {stage}): Lambda@Edge functions for a stack in {region}",
        "Parameters": parameters,
        "Resources": resources_,
        "Outputs": outputs,
    }


def attach(t: Template, site: Site, config: dict[str, Any], default: dict[str, Any], behaviours: list[Any]) -> None:
    """The gate on the distribution: the function on every viewer request, and a behaviour for the sign-in
    page that lets POST through to it (with the body: the form); the origin never sees either."""
    from .deploy import uncached
    from .gate import signin_path

    pool = site.pool
    pool_id, client_id = logical(pool.name, "UserPool"), logical(pool.name, "UserPoolClient")
    if t.region == EDGE_REGION:
        baked = edge_config(site, t.region, f"${{{pool_id}}}", f"${{{client_id}}}")
        arn: Any = {"Ref": edge_resources(t.add, t.app.name, t.stage, site, baked)}
        associations: Any = [{"EventType": "viewer-request", "LambdaFunctionARN": arn}]
        on_signin: Any = [{"EventType": "viewer-request", "LambdaFunctionARN": arn, "IncludeBody": True}]
    else:
        param, ready = version_parameter(site), f"{logical(site.name, 'Site')}EdgeReady"
        t.parameters[param] = {
            "Type": "String",
            "Default": "",
            "Description": f"Version ARN of the us-east-1 Lambda@Edge gate of site {site.name} "
            "(strato deploy fills it from the companion stack; empty keeps the distribution disabled)",
        }
        t.conditions[ready] = {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, ""]}]}
        arn = {"Ref": param}
        no = {"Ref": "AWS::NoValue"}
        associations = {"Fn::If": [ready, [{"EventType": "viewer-request", "LambdaFunctionARN": arn}], no]}
        on_signin = {
            "Fn::If": [ready, [{"EventType": "viewer-request", "LambdaFunctionARN": arn, "IncludeBody": True}], no]
        }
        config["Enabled"] = {"Fn::If": [ready, True, False]}
    default["LambdaFunctionAssociations"] = associations
    behaviours.append({**uncached(signin_path(site.prefix), "site"), "LambdaFunctionAssociations": on_signin})
