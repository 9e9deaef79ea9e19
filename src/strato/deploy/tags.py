"""``app.tags({...})``: cost-allocation tags on every taggable resource of the template, and on the stack.

``strato deploy`` passes them as the stack's tags (CloudFormation propagates those to what it can), and
synth also writes them into each taggable resource's own tag property, so the template carries them
whoever deploys it and resources whose tags CloudFormation does not propagate get them too. A stage
chosen with ``--stage`` (or ``STRATO_STAGE``) adds ``Environment=<stage>`` unless the app set one.

Which types take tags, and in which shape, is CloudFormation's resource schemas' ``tagging`` section
(tests/test_production_synth.py checks every taggable resource of a template against cfn-lint's copy).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..core.tags import check

if TYPE_CHECKING:
    from ..app import App
    from .synth import Template

MAX_STACK_TAGS = 50  # a stack's tags (CreateChangeSet): at most 50

#: resource type -> (tag property, "list" of {Key, Value} or "map" of key -> value)
TAG_PROPERTIES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        (
            "AWS::Lambda::Function",
            "AWS::Lambda::EventSourceMapping",
            "AWS::Logs::LogGroup",
            "AWS::IAM::Role",
            "AWS::SQS::Queue",
            "AWS::SNS::Topic",
            "AWS::DynamoDB::Table",
            "AWS::S3::Bucket",
            "AWS::StepFunctions::StateMachine",
            "AWS::ElastiCache::ServerlessCache",
            "AWS::SecretsManager::Secret",
            "AWS::CloudWatch::Alarm",
            "AWS::CloudFront::Distribution",
            "AWS::CloudFront::Function",
        ),
        ("Tags", "list"),
    ),
    "AWS::ApiGatewayV2::Api": ("Tags", "map"),
    "AWS::ApiGatewayV2::Stage": ("Tags", "map"),
    "AWS::Cognito::UserPool": ("UserPoolTags", "map"),
    "AWS::Cognito::IdentityPool": ("IdentityPoolTags", "list"),
}


def effective(app: App) -> dict[str, str]:
    """The app's tags plus ``Environment=<stage>`` when a stage was chosen (``--stage`` / STRATO_STAGE)."""
    tags = dict(getattr(app, "declared_tags", None) or {})
    if "Environment" not in tags and (os.environ.get("STRATO_STAGE") or app.config.stage != "dev"):
        tags["Environment"] = app.config.stage
    return check(tags)


def stack_tags(app: App) -> list[dict[str, str]]:
    """What ``strato deploy`` tags the stack with (CloudFormation propagates them to the resources)."""
    tags = [
        {"Key": "strato:app", "Value": app.name},
        *({"Key": k, "Value": v} for k, v in sorted(effective(app).items())),
    ]
    if len(tags) > MAX_STACK_TAGS:
        raise ConfigurationError(f"{len(tags)} stack tags with strato:app; CloudFormation takes {MAX_STACK_TAGS}")
    return tags


def apply(t: Template) -> None:
    """Write the tags into every taggable resource (after what the resource set itself)."""
    tags = effective(t.app)
    if not tags:
        return
    for resource in t.resources.values():
        found = TAG_PROPERTIES.get(resource["Type"])
        if found is None:
            continue
        prop, shape = found
        props = resource.setdefault("Properties", {})
        if shape == "map":
            props[prop] = {**tags, **props.get(prop, {})}
        else:
            own = {entry["Key"]: entry["Value"] for entry in props.get(prop, [])}
            merged: dict[str, Any] = {**tags, **own}
            props[prop] = [{"Key": k, "Value": v} for k, v in sorted(merged.items())]
