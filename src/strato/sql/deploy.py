"""A sql database in CloudFormation: the RDS / Aurora credentials come in as a Secrets Manager ARN
parameter; IAM to read that secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import env_name, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import Sql


def synth(t: Template, sql: Sql) -> None:
    param = logical(sql.name, "SqlSecretArn")
    t.parameters[param] = {
        "Type": "String",
        "Description": f"Secrets Manager ARN of the RDS credentials for sql {sql.name}",
    }
    t.env[env_name("sql", sql.name, "_SECRET")] = {"Ref": param}
    t.grants.append(sql)


def arns(resource: Sql, action: str, stage: str) -> list[Any]:
    return [{"Ref": logical(resource.name, "SqlSecretArn")}]


def requirements(sql: Sql) -> list[str]:
    """The PostgreSQL driver and its pool (RDS / Aurora), which Lambda's runtime does not have."""
    return ["psycopg[binary]>=3.1", "psycopg_pool>=3.2"]
