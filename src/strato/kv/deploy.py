"""A kv in CloudFormation: a DynamoDB table of its own, or (provider="redis") the app's ElastiCache
Serverless cache, reached through the VPC rather than IAM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..table.deploy import arns, table_resources

if TYPE_CHECKING:
    from ..deploy.synth import Template

__all__ = ["arns", "synth"]


def synth(t: Template, resource: Any) -> None:
    if resource.provider_name == "redis":
        t.elasticache()
        return
    from ..table import Table

    shape = Table(resource.ctx, resource.name, "p", "k", ttl="exp")  # the table the kv keeps its entries in
    table_resources(t, shape, "kv")
    t.grants.append(resource)
