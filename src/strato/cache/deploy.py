"""A cache in CloudFormation: a DynamoDB table of its own (or the app's ElastiCache cache), and the
table ``persist()`` keeps snapshots in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..table.deploy import arns, keyed_store, table_resources
from ..table.deploy import keyed_requirements as requirements

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Cache

__all__ = ["arns", "requirements", "synth"]


def synth(t: Template, cache: Cache) -> None:
    keyed_store(t, cache)
    # on ElastiCache too: persist() / restore() keep the snapshot in DynamoDB, which outlives the cache
    table_resources(t, cache.snapshot_table)
    t.grants.append(cache.snapshot_table)
