"""A user pool in CloudFormation: the Cognito pool (retained: it holds the users) and its app client;
IAM for the admin calls on the pool (sign-up, sign-in and MFA are public Cognito calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import env_name, logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import UserPool


def synth(t: Template, pool: UserPool) -> None:
    user_pool(t, pool)
    t.grants.append(pool)


def arns(resource: UserPool, action: str, stage: str) -> list[Any]:
    return [{"Fn::GetAtt": [logical(resource.name, "UserPool"), "Arn"]}]


def user_pool(t: Template, pool: UserPool) -> None:
    """The Cognito pool (retained: it holds the users) and the app client the tokens are issued to."""
    from ..auth.cognito import client_properties, pool_properties

    physical = t.app.config.physical_name("user_pool", pool.name)
    pool_id = t.add(
        logical(pool.name, "UserPool"),
        "AWS::Cognito::UserPool",
        pool_properties(pool, physical),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    client_id = t.add(
        logical(pool.name, "UserPoolClient"),
        "AWS::Cognito::UserPoolClient",
        {"UserPoolId": {"Ref": pool_id}, **client_properties(pool)},
    )
    t.env[env_name("user_pool", pool.name, "_ID")] = {"Ref": pool_id}
    t.env[env_name("user_pool", pool.name, "_CLIENT_ID")] = {"Ref": client_id}
    t.output(pool_id, {"Ref": pool_id}, f"Cognito user pool {pool.name}")
    t.output(client_id, {"Ref": client_id}, f"App client of user pool {pool.name}")


def requirements(pool: UserPool) -> list[str]:
    """What verifying and issuing its tokens imports inside Lambda (RS256 JWTs, TOTP set-up)."""
    return ["pyjwt[crypto]>=2.8", "pyotp>=2.9"]
