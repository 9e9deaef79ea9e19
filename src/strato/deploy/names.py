"""Logical ids and function names in the template, derived from declared names (deterministic)."""

from __future__ import annotations

import re

from ..core.config import env_token
from ..core.function_settings import function_name as function_name  # the runtime knows it too


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def logical(name: str, kind: str) -> str:
    """``codegen-jobs`` + ``Queue`` -> ``CodegenJobsQueue`` (CloudFormation wants alphanumerics)."""
    return f"{camel(name)}{kind}"


def env_name(kind: str, name: str, suffix: str = "") -> str:
    return f"STRATO_{kind.upper()}_{env_token(name)}{suffix}"
