"""A kv namespace in CloudFormation: a DynamoDB table of its own, or the app's ElastiCache cache."""

from __future__ import annotations

from ..table.deploy import arns
from ..table.deploy import keyed_requirements as requirements
from ..table.deploy import keyed_store as synth

__all__ = ["arns", "requirements", "synth"]
