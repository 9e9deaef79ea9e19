"""Meetings in CloudFormation: nothing to create (Chime SDK meetings are made at run time); IAM on the
account's meetings in the region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Meetings


def synth(t: Template, meetings: Meetings) -> None:
    t.grants.append(meetings)


def arns(resource: Meetings, action: str, stage: str) -> list[Any]:
    return [{"Fn::Sub": "arn:${AWS::Partition}:chime:${AWS::Region}:${AWS::AccountId}:meeting/*"}]
