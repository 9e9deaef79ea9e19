"""The user_pool provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

#: outbox: codes are readable locally; revocation: tokens die at sign-out everywhere this provider checks
CAPABILITIES = frozenset({"outbox", "totp", "groups", "revocation"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    # sign-up, sign-in, refresh, sign-out and MFA are public (token-authorised) Cognito calls: no IAM
    "admin": (
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:AdminListGroupsForUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:CreateGroup",
    )
}
