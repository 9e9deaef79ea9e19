"""The AWS user pool: Cognito (``cognito-idp``) for every pool operation, JWKS from the issuer URL.

The pool and its app client are the ones ``strato synth`` declares (ids from the environment the
deployed functions get); against an emulator or with ``STRATO_AUTO_CREATE=1`` they are found by
name or created with the same properties. Cognito's errors surface as AuthError with Cognito's
exception name in ``code``. Verification is local (no call per request): signature against the
pool's JWKS, fetched once and refetched at most once a minute for an unknown ``kid``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import AuthError, ConfigurationError, InvalidToken
from ..runtime.aws import error_code, region
from .model import Challenge, Tokens
from .tokens import verify_jwt

if TYPE_CHECKING:
    from . import UserPool

CLIENT_NAME = "strato"
JWKS_REFRESH = 60  # seconds between fetches for an unknown kid (a forged kid cannot make us hammer Cognito)
MFA_CONFIGURATION = {"off": "OFF", "optional": "OPTIONAL", "required": "ON"}


def pool_properties(pool: UserPool, physical_name: str) -> dict[str, Any]:
    """CreateUserPool's parameters — and the CloudFormation properties synth writes — for ``pool``."""
    policy = pool.policy
    props: dict[str, Any] = {
        "UserPoolName": physical_name,
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": policy.min_length,
                "RequireUppercase": policy.require_uppercase,
                "RequireLowercase": policy.require_lowercase,
                "RequireNumbers": policy.require_numbers,
                "RequireSymbols": policy.require_symbols,
                "TemporaryPasswordValidityDays": policy.temporary_password_days,
            }
        },
        "MfaConfiguration": MFA_CONFIGURATION[pool.mfa],
        "AutoVerifiedAttributes": ["email"],
        "UsernameConfiguration": {"CaseSensitive": True},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    }
    if pool.mfa != "off":
        props["EnabledMfas"] = ["SOFTWARE_TOKEN_MFA"]
    if not pool.self_sign_up:
        props["AdminCreateUserConfig"] = {"AllowAdminCreateUserOnly": True}
    return props


def client_properties(pool: UserPool) -> dict[str, Any]:
    """The app client: password and refresh flows, no secret (browsers and CLIs hold no secrets)."""
    return {
        "ClientName": CLIENT_NAME,
        "GenerateSecret": False,
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "PreventUserExistenceErrors": "ENABLED" if pool.prevent_user_existence_errors else "LEGACY",
        "EnableTokenRevocation": True,
        "AccessTokenValidity": 60,
        "IdTokenValidity": 60,
        "RefreshTokenValidity": 30,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
    }


def _attributes(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": str(v)} for k, v in attributes.items()]


def _tokens(result: dict[str, Any]) -> Tokens:
    return Tokens(
        result["IdToken"],
        result["AccessToken"],
        result.get("RefreshToken"),
        result["ExpiresIn"],
        result.get("TokenType", "Bearer"),
    )


class JwksCache:
    """The pool's public keys by ``kid``; a miss refetches, but at most once per JWKS_REFRESH seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def fetch(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            return json.loads(response.read())

    def key(self, kid: str) -> Any:
        found = self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched >= JWKS_REFRESH:
                import jwt

                try:
                    document = self.fetch()
                except OSError as exc:  # not counted as a fetch: the next token tries again
                    raise InvalidToken(f"cannot fetch the pool's keys from {self.url}: {exc}") from None
                self._fetched = time.monotonic()
                self._keys = {k["kid"]: jwt.PyJWK(k).key for k in document.get("keys", []) if k.get("kid")}
        return self._keys.get(kid)


class CognitoUserPoolBackend:
    capabilities = frozenset({"totp", "groups"})

    def __init__(self, session: AwsClients, pool: UserPool, physical_name: str, auto_create: bool) -> None:
        self.session = session
        self.pool = pool
        self.physical = physical_name
        self.auto_create = auto_create
        self._pool_id: str | None
        self._client_id: str | None
        self._pool_id, self._client_id = pool.configured_ids
        self._jwks: JwksCache | None = None

    @property
    def client(self) -> Any:
        return self.session.client("cognito-idp")

    # -- the pool and its client -------------------------------------------------------------------
    @property
    def pool_id(self) -> str:
        if self._pool_id is not None:
            return self._pool_id
        return self._resolve()[0]

    @property
    def client_id(self) -> str:
        if self._client_id is not None:
            return self._client_id
        return self._resolve()[1]

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{region()}.amazonaws.com/{self.pool_id}"

    def _resolve(self) -> tuple[str, str]:
        """Find the pool by name (and its 'strato' client), creating both when auto-create is on."""
        pool_id = self._pool_id
        if pool_id is None:
            pools = self.client.get_paginator("list_user_pools").paginate(MaxResults=60)
            found = [p["Id"] for page in pools for p in page["UserPools"] if p["Name"] == self.physical]
            if not found and not self.auto_create:
                raise ConfigurationError(
                    f"user pool {self.physical!r} does not exist: deploy the app (strato "
                    f"deploy) or set {self.pool.id_variable}"
                )
            if found:
                pool_id = self._pool_id = found[0]
            else:
                props = pool_properties(self.pool, self.physical)
                props["PoolName"] = props.pop("UserPoolName")
                props.pop("EnabledMfas", None)  # not a CreateUserPool parameter; set below
                pool_id = self._pool_id = self.client.create_user_pool(**props)["UserPool"]["Id"]
                if self.pool.mfa != "off":
                    self.client.set_user_pool_mfa_config(
                        UserPoolId=pool_id,
                        SoftwareTokenMfaConfiguration={"Enabled": True},
                        MfaConfiguration=MFA_CONFIGURATION[self.pool.mfa],
                    )
        client_id = self._client_id
        if client_id is None:
            clients = self.client.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
            found = [c["ClientId"] for c in clients if c["ClientName"] == CLIENT_NAME]
            if not found and not self.auto_create:
                raise ConfigurationError(f"user pool {self.physical!r} has no {CLIENT_NAME!r} app client")
            client_id = self._client_id = (
                found[0]
                if found
                else self.client.create_user_pool_client(UserPoolId=pool_id, **client_properties(self.pool))[
                    "UserPoolClient"
                ]["ClientId"]
            )
        return pool_id, client_id

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One cognito-idp call; Cognito's refusals become AuthError with its exception name."""
        try:
            return getattr(self.client, operation)(**params)
        except Exception as exc:
            code = error_code(exc)
            if not code:
                raise
            message = getattr(exc, "response", {}).get("Error", {}).get("Message") or code
            if operation == "global_sign_out" and code == "NotAuthorizedException":
                raise InvalidToken(message) from None
            raise AuthError(message, code) from None

    # -- sign-up -----------------------------------------------------------------------------------
    def sign_up(self, username: str, password: str, attributes: dict[str, str]) -> dict[str, Any]:
        self.pool.policy.check(password)  # the same words as locally, before Cognito's terser message
        result = self._call(
            "sign_up",
            ClientId=self.client_id,
            Username=username,
            Password=password,
            UserAttributes=_attributes(attributes),
        )
        return {k: result[k] for k in ("UserConfirmed", "UserSub", "CodeDeliveryDetails") if k in result}

    def confirm_sign_up(self, username: str, code: str) -> None:
        self._call("confirm_sign_up", ClientId=self.client_id, Username=username, ConfirmationCode=str(code))

    def resend_code(self, username: str) -> dict[str, str]:
        return self._call("resend_confirmation_code", ClientId=self.client_id, Username=username).get(
            "CodeDeliveryDetails", {}
        )

    # -- sign-in -----------------------------------------------------------------------------------
    def _outcome(self, result: dict[str, Any], username: str) -> Tokens | Challenge:
        if "AuthenticationResult" in result:
            return _tokens(result["AuthenticationResult"])
        parameters = dict(result.get("ChallengeParameters") or {})
        parameters.setdefault("USER_ID_FOR_SRP", username)
        return Challenge(result["ChallengeName"], result["Session"], parameters)

    def sign_in(self, username: str, password: str) -> Tokens | Challenge:
        result = self._call(
            "initiate_auth",
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return self._outcome(result, username)

    def respond(self, name: str, session: str, answers: dict[str, str]) -> Tokens | Challenge:
        username = answers.get("USERNAME", "")
        responses = {"USERNAME": username}
        if name == "NEW_PASSWORD_REQUIRED":
            self.pool.policy.check(answers.get("NEW_PASSWORD", ""))
            responses["NEW_PASSWORD"] = answers["NEW_PASSWORD"]
        elif name == "SOFTWARE_TOKEN_MFA":
            responses["SOFTWARE_TOKEN_MFA_CODE"] = answers.get("SOFTWARE_TOKEN_MFA_CODE", "")
        result = self._call(
            "respond_to_auth_challenge",
            ClientId=self.client_id,
            ChallengeName=name,
            Session=session,
            ChallengeResponses=responses,
        )
        return self._outcome(result, username)

    def refresh(self, refresh_token: str) -> Tokens:
        result = self._call(
            "initiate_auth",
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        return _tokens(result["AuthenticationResult"])

    def sign_out(self, access_token: str) -> None:
        self._call("global_sign_out", AccessToken=access_token)

    # -- tokens ------------------------------------------------------------------------------------
    def jwks_url(self) -> str:
        """The issuer's JWKS; under an endpoint override (moto, LocalStack) that endpoint's copy."""
        endpoint = os.environ.get("AWS_ENDPOINT_URL_COGNITO_IDP") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{self.pool_id}/.well-known/jwks.json"
        return f"{self.issuer}/.well-known/jwks.json"

    def verify(self, token: str, token_use: str | None) -> dict[str, Any]:
        if self._jwks is None:
            self._jwks = JwksCache(self.jwks_url())
        return verify_jwt(
            token, issuer=self.issuer, client_ids={self.client_id}, key_for=self._jwks.key, token_use=token_use
        )

    def jwks(self) -> dict[str, Any]:
        return JwksCache(self.jwks_url()).fetch()

    # -- TOTP --------------------------------------------------------------------------------------
    def associate_totp(self, access_token: str | None, session: str | None = None) -> tuple[str, str | None]:
        params = {"AccessToken": access_token} if access_token else {"Session": session}
        result = self._call("associate_software_token", **params)
        return result["SecretCode"], result.get("Session")

    def verify_totp(self, access_token: str | None, code: str, session: str | None = None) -> str | None:
        params = {"AccessToken": access_token} if access_token else {"Session": session}
        result = self._call("verify_software_token", UserCode=str(code), **params)
        if result.get("Status") != "SUCCESS":
            raise AuthError("Code mismatch", "EnableSoftwareTokenMFAException")
        if access_token:
            self.set_mfa(access_token, True)
        return result.get("Session")

    def set_mfa(self, access_token: str, enabled: bool) -> None:
        if not enabled and self.pool.mfa == "required":
            raise AuthError("MFA is required by this pool and cannot be turned off", "InvalidParameterException")
        self._call(
            "set_user_mfa_preference",
            AccessToken=access_token,
            SoftwareTokenMfaSettings={"Enabled": enabled, "PreferredMfa": enabled},
        )

    # -- admin -------------------------------------------------------------------------------------
    def admin_create_user(
        self, username: str, temporary_password: str | None, attributes: dict[str, str]
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "UserPoolId": self.pool_id,
            "Username": username,
            "UserAttributes": _attributes(attributes),
        }
        if temporary_password:
            self.pool.policy.check(temporary_password)
            params["TemporaryPassword"] = temporary_password
        if "email" in attributes:
            params["DesiredDeliveryMediums"] = ["EMAIL"]
        self._call("admin_create_user", **params)
        return self.admin_get_user(username)

    def groups_of(self, username: str) -> list[str]:
        pages = self._call("admin_list_groups_for_user", UserPoolId=self.pool_id, Username=username)
        return sorted(g["GroupName"] for g in pages.get("Groups", []))

    def admin_get_user(self, username: str) -> dict[str, Any]:
        user = self._call("admin_get_user", UserPoolId=self.pool_id, Username=username)
        mfa = "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])
        return {
            "Username": user["Username"],
            "UserStatus": user["UserStatus"],
            "Enabled": user["Enabled"],
            "Attributes": {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])},
            "MFAEnabled": mfa,
            "Groups": self.groups_of(username),
        }

    def admin_set_enabled(self, username: str, enabled: bool) -> None:
        self._call("admin_enable_user" if enabled else "admin_disable_user", UserPoolId=self.pool_id, Username=username)
        if not enabled:  # as locally: a disabled user's refresh tokens stop working at once
            self._call("admin_user_global_sign_out", UserPoolId=self.pool_id, Username=username)

    def admin_delete_user(self, username: str) -> None:
        self._call("admin_delete_user", UserPoolId=self.pool_id, Username=username)

    def create_group(self, name: str, description: str) -> None:
        params = {"Description": description} if description else {}
        self._call("create_group", UserPoolId=self.pool_id, GroupName=name, **params)

    def set_membership(self, username: str, group: str, member: bool) -> None:
        operation = "admin_add_user_to_group" if member else "admin_remove_user_from_group"
        self._call(operation, UserPoolId=self.pool_id, Username=username, GroupName=group)

    def drop(self) -> None:
        if self._pool_id is not None or self.auto_create:
            self._call("delete_user_pool", UserPoolId=self.pool_id)
        self._pool_id = self._client_id = None


def open_backend(pool: UserPool, services: ProviderServices) -> CognitoUserPoolBackend:
    """The registry's factory: the pool the template made (ids from the environment), else found by name."""
    return CognitoUserPoolBackend(
        services.aws(), pool, services.config.physical_name("user_pool", pool.name), services.config.auto_create
    )
