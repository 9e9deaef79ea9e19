"""User pools (Cognito): sign-up with confirmation codes, password sign-in, refresh, sign-out,
TOTP MFA, admin operations and groups; RS256 JWTs shaped like Cognito's and ``verify`` for them."""

from __future__ import annotations

import os
import re
from functools import cached_property

from ..core.config import env_token
from ..core.context import Context
from ..core.errors import AuthError, ValidationError
from ..core.hints import Any, cast
from ..core.permissions import requires
from ..core.resource import Resource
from .model import Challenge, Tokens
from .passwords import PasswordPolicy
from .spi import ACTIONS, CAPABILITIES, Outbox, UserPoolBackend

__all__ = ["CAPABILITIES", "Challenge", "PasswordPolicy", "Tokens", "UserPool"]

_USERNAME = re.compile(r"^[\w.@+\-]{1,128}$")
MFA_MODES = ("off", "optional", "required")


class UserPool(Resource[UserPoolBackend]):
    kind = "user_pool"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        password_policy: PasswordPolicy | None = None,
        mfa: str = "off",
        prevent_user_existence_errors: bool = True,
        self_sign_up: bool = True,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        #: False is Cognito's AdminCreateUserConfig.AllowAdminCreateUserOnly: only admins create users
        self.self_sign_up = bool(self_sign_up)
        if mfa not in MFA_MODES:
            raise ValidationError(f"mfa must be one of {MFA_MODES}, got {mfa!r}")
        self.policy = password_policy or PasswordPolicy()
        self.mfa = mfa
        #: Cognito's app-client setting (on by default for new clients): sign-in, confirmation and resending
        #: a code answer the same for unknown users as for real ones; False is Cognito's LEGACY
        #: (UserNotFoundException)
        self.prevent_user_existence_errors = bool(prevent_user_existence_errors)
        variable = f"STRATO_USER_POOL_{env_token(name)}"
        self.id_variable = f"{variable}_ID"
        #: the pool and app-client ids the deployment gives (the template sets both), else None
        self.configured_ids = (os.environ.get(self.id_variable), os.environ.get(f"{variable}_CLIENT_ID"))

    @cached_property
    def local_ids(self) -> tuple[str, str]:
        """The configured ids, else stable ones derived from app, stage and name. Derived on first use:
        declaring a pool should not load hashlib (OpenSSL, ~3 ms of a Lambda cold start)."""
        import hashlib

        from ..core.config import region

        seed = hashlib.sha256(f"{self.ctx.app_name}/{self.ctx.config.stage}/{self.name}".encode()).hexdigest()
        return (
            self.configured_ids[0] or f"{region()}_{seed[:9]}",
            self.configured_ids[1] or _base36(int(seed[9:40], 16))[:26],
        )

    @property
    def pool_id(self) -> str:
        """Cognito's pool id (``<region>_<id>``): on AWS the deployed pool's, locally a stable derived one."""
        return self.backend.pool_id

    @property
    def client_id(self) -> str:
        """The app client id: the ``aud`` of ID tokens and ``client_id`` of access tokens."""
        return self.backend.client_id

    @property
    def issuer(self) -> str:
        """``https://cognito-idp.<region>.amazonaws.com/<pool id>`` on AWS; the dev server's URL locally."""
        return self.backend.issuer

    def required_capabilities(self) -> set[str]:
        return {"totp"} if self.mfa != "off" else set()  # the only second factor strato offers

    @staticmethod
    def _username(username: Any) -> str:
        if not isinstance(username, str) or not _USERNAME.match(username):
            raise AuthError("Username must be 1-128 letters, digits or . @ + - _", "InvalidParameterException")
        return username

    # -- users -------------------------------------------------------------------------------------
    def sign_up(self, username: str, password: str, attributes: dict[str, str] | None = None) -> dict[str, Any]:
        """Create an UNCONFIRMED user and send a code (locally: to ``outbox()``)."""
        if not self.self_sign_up:  # what SignUp answers when AllowAdminCreateUserOnly is set
            raise AuthError("SignUp is not permitted for this user pool", "NotAuthorizedException")
        return self.backend.sign_up(self._username(username), password, dict(attributes or {}))

    def confirm_sign_up(self, username: str, code: str) -> None:
        self.backend.confirm_sign_up(self._username(username), code)

    def resend_code(self, username: str) -> dict[str, str]:
        return self.backend.resend_code(self._username(username))

    def sign_in(self, username: str, password: str) -> Tokens | Challenge:
        """Tokens, or a Challenge (NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, MFA_SETUP) to answer."""
        return self.backend.sign_in(self._username(username), password)

    def respond(self, challenge: Challenge, **answers: str) -> Tokens | Challenge:
        """``respond(ch, code="123456")`` for MFA; ``respond(ch, new_password=...)`` for a new password;
        ``respond(ch)`` for MFA_SETUP once ``setup_totp(ch)`` and ``confirm_totp(ch, code)`` are done."""
        mapped = {
            "SOFTWARE_TOKEN_MFA_CODE": answers.get("code", ""),
            "NEW_PASSWORD": answers.get("new_password", ""),
            "USERNAME": challenge.parameters.get("USER_ID_FOR_SRP", ""),
        }
        return self.backend.respond(challenge.name, challenge.session, mapped)

    def refresh(self, refresh_token: str) -> Tokens:
        return self.backend.refresh(refresh_token)

    def sign_out(self, access_token: str) -> None:
        """Global sign-out: every refresh token of the user stops working, and so do its tokens here."""
        self.backend.sign_out(access_token)

    def verify(self, token: str, *, token_use: str | None = None, check_revoked: bool = False) -> dict[str, Any]:
        """The claims of a valid ID or access token of this pool, else InvalidToken saying why.

        ``check_revoked=True`` also refuses tokens of a session ended by ``sign_out`` or of a disabled user
        before they expire; that needs the ``revocation`` capability (the local pool always checks; a
        Cognito JWT verifies offline, so it stays valid until it expires)."""
        if check_revoked:
            self._need("revocation")
        return self.backend.verify(token, token_use)

    def jwks(self) -> dict[str, Any]:
        return self.backend.jwks()

    # -- MFA ---------------------------------------------------------------------------------------
    def setup_totp(self, signed_in: str | Challenge) -> str:
        """A new TOTP secret (base32) for an authenticator app; confirm it with ``confirm_totp``.

        ``signed_in`` is an access token, or the MFA_SETUP challenge of a pool that requires MFA
        (its session moves on, as Cognito's does, so keep passing the same Challenge object)."""
        self._need("totp")
        if isinstance(signed_in, Challenge):
            secret, session = self.backend.associate_totp(None, signed_in.session)
            signed_in.session = session or signed_in.session  # the MFA_SETUP session moves on
            return secret
        return self.backend.associate_totp(signed_in)[0]

    def confirm_totp(self, signed_in: str | Challenge, code: str) -> None:
        """Check a first code from the app and turn TOTP MFA on for the user."""
        self._need("totp")
        if isinstance(signed_in, Challenge):
            signed_in.session = self.backend.verify_totp(None, code, signed_in.session) or signed_in.session
        else:
            self.backend.verify_totp(signed_in, code)

    def set_mfa(self, access_token: str, enabled: bool) -> None:
        self._need("totp")
        self.backend.set_mfa(access_token, enabled)

    def totp_uri(self, secret: str, username: str, issuer: str | None = None) -> str:
        import pyotp

        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer or self.ctx.app_name)

    # -- admin -------------------------------------------------------------------------------------
    @requires("admin")
    def admin_create_user(
        self, username: str, *, temporary_password: str | None = None, attributes: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return self.backend.admin_create_user(self._username(username), temporary_password, dict(attributes or {}))

    @requires("admin")
    def admin_get_user(self, username: str) -> dict[str, Any]:
        return self.backend.admin_get_user(self._username(username))

    @requires("admin")
    def admin_disable_user(self, username: str) -> None:
        self.backend.admin_set_enabled(self._username(username), False)

    @requires("admin")
    def admin_enable_user(self, username: str) -> None:
        self.backend.admin_set_enabled(self._username(username), True)

    @requires("admin")
    def admin_delete_user(self, username: str) -> None:
        self.backend.admin_delete_user(self._username(username))

    @requires("admin")
    def create_group(self, name: str, description: str = "") -> None:
        self._need("groups")
        self.backend.create_group(name, description)

    @requires("admin")
    def add_to_group(self, username: str, group: str) -> None:
        self._need("groups")
        self.backend.set_membership(self._username(username), group, True)

    @requires("admin")
    def remove_from_group(self, username: str, group: str) -> None:
        self._need("groups")
        self.backend.set_membership(self._username(username), group, False)

    def outbox(self) -> list[dict[str, Any]]:
        """Codes and temporary passwords the pool would have emailed or texted (local provider)."""
        self._need("outbox")
        return cast(Outbox, self.backend).outbox()

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"
