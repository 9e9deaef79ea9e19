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
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError

if TYPE_CHECKING:
    from ..app import App
    from .synth import Template

# Tag restrictions common to AWS services, e.g. https://docs.aws.amazon.com/ARG/latest/userguide/tag-editor.html
# and the ECS Tag type: keys 1-128 characters, values 0-256, letters, digits, spaces and + - = . _ : / @,
# keys not starting with aws: (any case), at most 50 user tags per resource.
MAX_KEY, MAX_VALUE, MAX_TAGS = 128, 256, 50
_ALLOWED = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)

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


def check(tags: Mapping[str, str]) -> dict[str, str]:
    """AWS's tag rules, as a ConfigurationError naming the tag and the rule."""
    if not isinstance(tags, Mapping):
        raise ConfigurationError(f"app.tags() takes a dict of key -> value, not {tags!r}")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            raise ConfigurationError(f"tag key {key!r}: 1 to {MAX_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ConfigurationError(f"tag {key!r}: the value is a string of at most {MAX_VALUE} characters")
        if key.lower().startswith("aws:"):
            raise ConfigurationError(f"tag key {key!r}: the aws: prefix is reserved for AWS")
        for label, text in (("key", key), ("value", value)):
            if not _ALLOWED.match(text):
                raise ConfigurationError(
                    f"tag {label} {text!r}: letters, digits, spaces and + - = . _ : / @ only (AWS's tag characters)"
                )
    if len(tags) > MAX_TAGS:
        raise ConfigurationError(f"{len(tags)} tags: AWS allows {MAX_TAGS} per resource")
    return dict(tags)


def effective(app: App) -> dict[str, str]:
    """The app's tags plus ``Environment=<stage>`` when a stage was chosen (``--stage`` / STRATO_STAGE)."""
    tags = dict(getattr(app, "declared_tags", None) or {})
    if "Environment" not in tags and (os.environ.get("STRATO_STAGE") or app.config.stage != "dev"):
        tags["Environment"] = app.config.stage
    return check(tags)


def stack_tags(app: App) -> list[dict[str, str]]:
    """What ``strato deploy`` tags the stack with (CloudFormation propagates them to the resources)."""
    return [{"Key": "strato:app", "Value": app.name}, *({"Key": k, "Value": v} for k, v in sorted(effective(app).items()))]


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
