"""A site in CloudFormation and on deploy: a private S3 bucket that only the distribution reads
(Block Public Access, Origin Access Control), a CloudFront distribution (HTTPS only, HTTP/2 and 3,
compression, security headers, the SPA rule in a CloudFront Function, or for an ``auth=`` site the
Lambda@Edge gate of edge_deploy.py), optionally the HTTP API as a same-origin ``/api/*`` behaviour (never
gated: its routes check tokens themselves, as under ``strato dev``); then ``publish`` uploads what changed
and invalidates it.

The HTTP API origin defaults to on when every route lives under ``/api/``: CloudFront forwards the path
unchanged to the API's ``$default`` stage, so only such an app can share the site's origin (no CORS
preflights, cookies stay first-party). WebSocket APIs are never put behind the distribution: a
WebSocket is not subject to CORS, and API Gateway wants its stage in the path, so the front end gets
their ``wss://`` URLs from ``/strato-config.json`` instead."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..bucket.deploy import private_bucket
from ..core.errors import ConfigurationError
from ..deploy.names import camel, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Site

# AWS managed policies (ids from the CloudFront Developer Guide, "Use managed cache policies",
# "Use managed origin request policies", "Use managed response headers policies").
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"

_DISTRIBUTION_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DIST}"
_REWRITE = """function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith("/")) {
    request.uri = uri + "index.html";
  } else if (SPA && uri.substring(uri.lastIndexOf("/") + 1).indexOf(".") === -1) {
    request.uri = INDEX;
  }
  return request;
}
"""


def synth(t: Template, site: Site) -> None:
    _site(t, site)


def arns(resource: Site, action: str, stage: str) -> list[Any]:
    return []  # no Lambda code is granted anything on a site


def names(app: Any, site: Site) -> dict[str, str]:
    """The stack outputs of a site: ``WebUrl``, ``WebBucketName``, ``DistributionId`` for an app's only
    site (whatever its name: a script or a CI job finds them without knowing it); with several, each
    site's are prefixed with its name (``AdminWebUrl``, ``AdminWebBucketName``, ``AdminDistributionId``)."""
    stem = "" if len(app.of_kind("site")) == 1 else camel(site.name)
    return {"url": f"{stem}WebUrl", "bucket": f"{stem}WebBucketName", "distribution": f"{stem}DistributionId"}


def api_origin(site: Site, http: Any) -> bool:
    """Whether the HTTP API is the distribution's ``/api/*`` origin (see the module's docstring)."""
    routes = list(http.routes) if http is not None else []
    under_api = bool(routes) and all(r.path == "/api" or r.path.startswith("/api/") for r in routes)
    if site.api_origin and not under_api:
        raise ConfigurationError(
            f"site {site.name!r}: api_origin=True needs an HTTP API whose routes all start with /api/ "
            "(CloudFront forwards /api/* unchanged to the API)"
        )
    return under_api if site.api_origin is None else site.api_origin


def uncached(pattern: str, origin: str) -> dict[str, Any]:
    """A behaviour taking every method, caching nothing (the API; a gated site's sign-in page)."""
    return {
        "PathPattern": pattern,
        "TargetOriginId": origin,
        "ViewerProtocolPolicy": "https-only",
        "Compress": True,
        "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "CachedMethods": ["GET", "HEAD"],
        "CachePolicyId": CACHING_DISABLED,
        "ResponseHeadersPolicyId": SECURITY_HEADERS,
    }


def index_key(site: Site) -> str:
    return f"{site.prefix.rstrip('/')}/index.html"


def _site(t: Template, site: Site) -> None:
    stem = logical(site.name, "Site")
    bucket, oac, dist, rewrite = f"{stem}Bucket", f"{stem}OriginAccess", f"{stem}Distribution", f"{stem}Rewrite"
    t.add(
        bucket,
        "AWS::S3::Bucket",
        private_bucket(),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    t.add(
        oac,
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": {
                "Name": {"Fn::Sub": f"${{AWS::StackName}}-{site.name}"},
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    )
    default: dict[str, Any] = {
        "TargetOriginId": "site",
        "ViewerProtocolPolicy": "https-only",
        "Compress": True,
        "AllowedMethods": ["GET", "HEAD"],
        "CachedMethods": ["GET", "HEAD"],
        "CachePolicyId": CACHING_OPTIMIZED,
        "ResponseHeadersPolicyId": SECURITY_HEADERS,
    }
    origins: list[dict[str, Any]] = [
        {
            "Id": "site",
            "DomainName": {"Fn::GetAtt": [bucket, "RegionalDomainName"]},
            "S3OriginConfig": {"OriginAccessIdentity": ""},
            "OriginAccessControlId": {"Fn::GetAtt": [oac, "Id"]},
        }
    ]
    config: dict[str, Any] = {
        "Enabled": True,
        "Comment": f"{t.app.name} {t.stage} site {site.name}",
        "DefaultRootObject": "index.html",
        "HttpVersion": "http2and3",
        "IPV6Enabled": True,
        "PriceClass": site.price_class,
        "Origins": origins,
        "DefaultCacheBehavior": default,
    }
    behaviours: list[dict[str, Any]] = []
    config["CacheBehaviors"] = behaviours
    if site.auth is None:
        code = _REWRITE.replace("SPA", "true" if site.spa else "false").replace("INDEX", json.dumps(index_key(site)))
        t.add(
            rewrite,
            "AWS::CloudFront::Function",
            {
                "Name": {"Fn::Sub": f"${{AWS::StackName}}-{site.name}-rewrite"},
                "AutoPublish": True,
                "FunctionCode": code,
                "FunctionConfig": {
                    "Comment": "directory indexes, and the SPA fallback for extension-less paths",
                    "Runtime": "cloudfront-js-2.0",
                },
            },
        )
        default["FunctionAssociations"] = [
            {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [rewrite, "FunctionMetadata.FunctionARN"]}}
        ]
    else:  # the gate (which applies the rewrite too: one viewer-request function per behaviour)
        from .edge_deploy import attach

        attach(t, site, config, default, behaviours)
    if os.path.isfile(os.path.join(site.directory, "404.html")):
        config["CustomErrorResponses"] = [
            {"ErrorCode": 404, "ResponseCode": 404, "ResponsePagePath": f"{site.prefix.rstrip('/')}/404.html"}
        ]
    if api_origin(site, t.app._http):
        origins.append(
            {
                "Id": "api",
                "DomainName": {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"},
                "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
            }
        )
        behaviours.append({**uncached("/api/*", "api"), "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST})
    if not behaviours:
        del config["CacheBehaviors"]
    t.add(dist, "AWS::CloudFront::Distribution", {"DistributionConfig": config})
    t.add(
        f"{bucket}Policy",
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {  # ListBucket too, so a missing key is a 404 (as under strato dev), not S3's 403
                        "Sid": "CloudFrontReads",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": [
                            {"Fn::GetAtt": [bucket, "Arn"]},
                            {"Fn::Sub": f"${{{bucket}.Arn}}/*"},
                        ],
                        "Condition": {
                            "StringEquals": {"AWS:SourceArn": {"Fn::Sub": _DISTRIBUTION_ARN.replace("DIST", dist)}}
                        },
                    }
                ],
            },
        },
    )
    out = names(t.app, site)
    t.output(
        out["url"], {"Fn::Sub": f"https://${{{dist}.DomainName}}{site.prefix.rstrip('/')}/"}, f"URL of site {site.name}"
    )
    t.output(out["bucket"], {"Ref": bucket}, f"S3 bucket holding site {site.name}")
    t.output(out["distribution"], {"Ref": dist}, f"CloudFront distribution of site {site.name}")
