"""``app.user_pool(self_sign_up=False)``: only admins create users, as Cognito's AdminCreateUserConfig
AllowAdminCreateUserOnly makes it ("Set to True if only the administrator is allowed to create user
profiles"; SignUp then answers NotAuthorizedException "SignUp is not permitted for this user pool")."""

from __future__ import annotations

import pytest

import strato
from strato import AuthError
from strato.auth.cognito import pool_properties


def test_sign_up_is_refused_and_admins_still_create_users(tmp_path):
    app = strato.App("closed", data_dir=tmp_path)
    pool = app.user_pool("staff", self_sign_up=False)
    with pytest.raises(AuthError) as refused:
        pool.sign_up("eve@example.com", "Corr3ct-horse!", {"email": "eve@example.com"})
    assert (refused.value.code, refused.value.message) == (
        "NotAuthorizedException",
        "SignUp is not permitted for this user pool",
    )
    pool.admin_create_user("ada@example.com", temporary_password="Temp-passw0rd!")
    assert pool.sign_in("ada@example.com", "Temp-passw0rd!").name == "NEW_PASSWORD_REQUIRED"
    app.close()


def test_the_template_sets_allow_admin_create_user_only(tmp_path):
    app = strato.App("closed", data_dir=tmp_path)
    closed, open_pool = app.user_pool("staff", self_sign_up=False), app.user_pool("public")
    assert pool_properties(closed, "closed-staff")["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert "AdminCreateUserConfig" not in pool_properties(open_pool, "closed-public")  # Cognito's default: open
    app.close()
