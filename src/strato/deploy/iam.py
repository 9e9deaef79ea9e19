"""Least-privilege IAM statements: exactly the actions each resource was declared with, on the ARNs its
kind's ``deploy.py`` names (``arns``), narrowed further where the kind says so (``condition``)."""

from __future__ import annotations

from typing import Any

from .names import camel, logical


def statements_for(resources: list[Any], stage: str) -> list[dict[str, Any]]:
    """One statement per (resource, declared action), in declaration order."""
    from .synth import deploy_module

    out = []
    for resource in resources:
        module = deploy_module(resource)
        for action in sorted(resource.allowed):
            statement: dict[str, Any] = {
                "Sid": f"{logical(resource.name, camel(resource.kind))}{action.capitalize()}",
                "Effect": "Allow",
                "Action": sorted(set(resource.ACTIONS[action])),
                "Resource": module.arns(resource, action, stage),
            }
            condition = getattr(module, "condition", None)
            narrowed = condition(resource, action) if condition else None
            if narrowed:
                statement["Condition"] = narrowed
            out.append(statement)
    return out


def assume_role_policy(service: str) -> dict[str, Any]:
    """The trust policy letting ``service`` (lambda.amazonaws.com, scheduler.amazonaws.com) assume a role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
