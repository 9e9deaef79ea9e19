"""The user-pool contract, run unchanged on the local pool and on Cognito (moto_server's cognito-idp).

Codes a real pool would email are read from the local outbox; moto accepts any confirmation code,
so on AWS the tests send a fixed one (the check that a wrong code fails is a marked moto gap).
"""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from strato.auth import CAPABILITIES, Challenge, PasswordPolicy, Tokens, UserPool
from strato.core.errors import AuthError, InvalidToken, NotSupported
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.conftest import moto_gap

PASSWORD = "Corr3ct-horse!"


@pytest.fixture(params=["local", "aws"])
def provider(request):
    return request.param


@pytest.fixture
def app(provider, make_app):
    return make_app(provider)


@pytest.fixture
def pool(app):
    return app.user_pool(f"users{uuid.uuid4().hex[:6]}")


def code_for(pool, provider: str) -> str:
    return pool.outbox()[-1]["message"].rsplit(" ", 1)[1] if provider == "local" else "123456"


def totp_now(secret: str) -> str:
    """The current code for a base32 secret (cryptography's TOTP: it also takes moto's short fixed one)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(time.time())).decode()


def signed_up(pool, provider, username="alice") -> Tokens:
    pool.sign_up(username, PASSWORD, {"email": f"{username}@example.com"})
    pool.confirm_sign_up(username, code_for(pool, provider))
    tokens = pool.sign_in(username, PASSWORD)
    assert isinstance(tokens, Tokens)
    return tokens


def test_sign_up_confirm_sign_in_and_verify_against_the_pools_jwks(pool, provider):
    result = pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    assert result["UserConfirmed"] is False and result["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    with pytest.raises(AuthError) as not_confirmed:
        pool.sign_in("alice", PASSWORD)
    assert not_confirmed.value.code == "UserNotConfirmedException"
    pool.confirm_sign_up("alice", code_for(pool, provider))
    tokens = pool.sign_in("alice", PASSWORD)
    id_claims = pool.verify(tokens.id_token, token_use="id")
    access = pool.verify(tokens.access_token, token_use="access")
    assert id_claims["iss"] == access["iss"] == pool.issuer
    assert pool.issuer.endswith("/" + pool.pool_id)
    assert id_claims["aud"] == access["client_id"] == pool.client_id
    assert id_claims["cognito:username"] == access["username"] == "alice"
    assert id_claims["sub"] == access["sub"] == result["UserSub"]
    assert {"exp", "iat", "auth_time", "jti", "origin_jti"} <= set(id_claims)
    with pytest.raises(InvalidToken, match="token_use"):
        pool.verify(tokens.id_token, token_use="access")
    assert any(key["alg"] == "RS256" for key in pool.jwks()["keys"])


def test_a_wrong_confirmation_code_is_refused(pool, provider, request):
    moto_gap(request, provider, "cognito-idp ConfirmSignUp accepts any code")
    pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    with pytest.raises(AuthError) as wrong:
        pool.confirm_sign_up("alice", "not-the-code")
    assert wrong.value.code == "CodeMismatchException"


def test_a_weak_password_gets_the_same_readable_message_everywhere(app):
    pool = app.user_pool(f"strict{uuid.uuid4().hex[:6]}", password_policy=PasswordPolicy(min_length=12))
    with pytest.raises(AuthError) as caught:
        pool.sign_up("bob", "short", {"email": "bob@example.com"})
    assert caught.value.code == "InvalidPasswordException"
    assert "at least 12 characters" in caught.value.message and "symbol" in caught.value.message


def test_wrong_password_is_not_authorized(pool, provider):
    signed_up(pool, provider)
    with pytest.raises(AuthError) as caught:
        pool.sign_in("alice", "Wr0ng-password!")
    assert (caught.value.code, caught.value.message) == ("NotAuthorizedException", "Incorrect username or password.")


def test_refresh_keeps_the_session_and_sign_out_ends_it(pool, provider):
    tokens = signed_up(pool, provider)
    renewed = pool.refresh(tokens.refresh_token)
    assert renewed.refresh_token is None
    assert pool.verify(renewed.access_token)["origin_jti"] == pool.verify(tokens.access_token)["origin_jti"]
    pool.sign_out(renewed.access_token)
    with pytest.raises(AuthError, match="revoked"):
        pool.refresh(tokens.refresh_token)


def test_totp_mfa_set_up_with_an_access_token_then_challenged(pool, provider):
    tokens = signed_up(pool, provider)
    secret = pool.setup_totp(tokens.access_token)
    pool.confirm_totp(tokens.access_token, totp_now(secret))
    challenge = pool.sign_in("alice", PASSWORD)
    assert isinstance(challenge, Challenge) and challenge.name == "SOFTWARE_TOKEN_MFA"
    done = pool.respond(challenge, code=totp_now(secret))
    assert isinstance(done, Tokens) and pool.verify(done.id_token)["cognito:username"] == "alice"


def test_a_wrong_mfa_code_is_refused(pool, provider):
    tokens = signed_up(pool, provider)
    secret = pool.setup_totp(tokens.access_token)
    pool.confirm_totp(tokens.access_token, totp_now(secret))
    challenge = pool.sign_in("alice", PASSWORD)
    wrong = "000000" if totp_now(secret) != "000000" else "111111"
    with pytest.raises(AuthError) as bad:
        pool.respond(challenge, code=wrong)
    assert bad.value.code == "CodeMismatchException"


def test_a_pool_requiring_mfa_walks_new_users_through_set_up(app, provider, request):
    moto_gap(request, provider, "cognito-idp USER_PASSWORD_AUTH never answers MFA_SETUP in a pool requiring MFA")
    pool = app.user_pool(f"secure{uuid.uuid4().hex[:6]}", mfa="required")
    pool.sign_up("carol", PASSWORD, {"email": "carol@example.com"})
    pool.confirm_sign_up("carol", code_for(pool, provider))
    challenge = pool.sign_in("carol", PASSWORD)
    assert isinstance(challenge, Challenge) and challenge.name == "MFA_SETUP"
    secret = pool.setup_totp(challenge)
    pool.confirm_totp(challenge, totp_now(secret))
    tokens = pool.respond(challenge)
    assert isinstance(tokens, Tokens) and pool.verify(tokens.access_token)["username"] == "carol"
    again = pool.sign_in("carol", PASSWORD)
    assert isinstance(again, Challenge) and again.name == "SOFTWARE_TOKEN_MFA"


def test_admin_create_new_password_groups_disable_delete(pool, provider):
    created = pool.admin_create_user(
        "dave", temporary_password="Temp-Pass-123!", attributes={"email": "dave@example.com"}
    )
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Attributes"]["email"] == "dave@example.com"
    challenge = pool.sign_in("dave", "Temp-Pass-123!")
    assert challenge.name == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(AuthError) as weak:
        pool.respond(challenge, new_password="weak")
    assert weak.value.code == "InvalidPasswordException"
    tokens = pool.respond(challenge, new_password=PASSWORD)
    assert pool.admin_get_user("dave")["UserStatus"] == "CONFIRMED"
    pool.create_group("admins")
    with pytest.raises(AuthError) as twice:
        pool.create_group("admins")
    assert twice.value.code == "GroupExistsException"
    pool.add_to_group("dave", "admins")
    assert pool.admin_get_user("dave")["Groups"] == ["admins"]
    assert pool.verify(pool.sign_in("dave", PASSWORD).id_token)["cognito:groups"] == ["admins"]
    pool.remove_from_group("dave", "admins")
    assert pool.admin_get_user("dave")["Groups"] == []
    pool.admin_disable_user("dave")
    assert pool.admin_get_user("dave")["Enabled"] is False
    with pytest.raises(AuthError, match="disabled"):
        pool.sign_in("dave", PASSWORD)
    with pytest.raises(AuthError):
        pool.refresh(tokens.refresh_token)
    pool.admin_enable_user("dave")
    pool.admin_delete_user("dave")
    with pytest.raises(AuthError) as gone:
        pool.admin_get_user("dave")
    assert gone.value.code == "UserNotFoundException"


def test_tokens_of_another_pool_are_rejected(app, pool, provider):
    other = app.user_pool(f"other{uuid.uuid4().hex[:6]}")
    foreign = signed_up(other, provider, "mallory")
    with pytest.raises(InvalidToken, match=r"issuer|client"):
        pool.verify(foreign.id_token)


def test_the_outbox_is_a_local_capability(pool, provider):
    if provider == "local":
        assert pool.outbox() == []
    else:
        with pytest.raises(NotSupported, match="outbox"):
            pool.outbox()


# -- capabilities -----------------------------------------------------------------------------------
#: one use of each capability, on a pool with the user "dave"
USES = {
    "outbox": lambda p: p.outbox(),
    "totp": lambda p: p.setup_totp("not-a-token"),
    "groups": lambda p: p.add_to_group("dave", "admins"),
    # a Cognito JWT verifies offline: a signed-out session's tokens stay valid until they expire
    "revocation": lambda p: p.verify("not-a-token", check_revoked=True),
}
#: other places the same capabilities are used
ALSO = [
    ("totp", lambda p: p.confirm_totp("not-a-token", "123456")),
    ("totp", lambda p: p.set_mfa("not-a-token", True)),
    ("totp", lambda p: UserPool(p.ctx, "secure", mfa="required", provider=p.provider_name).jwks()),
    ("groups", lambda p: p.create_group("admins")),
    ("groups", lambda p: p.remove_from_group("dave", "admins")),
]


def _state(pool):
    return pool.admin_get_user("dave")


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(pool):
    pool.admin_create_user("dave", temporary_password="Temp-Pass-123!")
    assert {"totp", "groups"} <= pool.capabilities  # exercised above
    assert_absent(pool, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "user_pool", missing, CAPABILITIES)
    pool = make_app("local").user_pool("users")
    pool.admin_create_user("dave", temporary_password="Temp-Pass-123!")
    assert assert_absent(pool, USES, state=_state, also=ALSO) == lacks
    assert pool.admin_get_user("dave")["Groups"] == []
