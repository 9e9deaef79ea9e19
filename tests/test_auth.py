"""User pools on the local provider: the Cognito lifecycle, MFA, tokens, their verification, and the
HTTP authorizer; plus the attacks a verifier must refuse."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pyotp
import pytest

import strato
from strato.auth import PasswordPolicy, Tokens
from strato.core.errors import AuthError, ConfigurationError, InvalidToken
from tests.conftest import start_dev_server, stop

PASSWORD = "Corr3ct-horse!"


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def pool(app):
    return app.user_pool("users")


def signed_up(pool, username="alice", password=PASSWORD, **attributes) -> Tokens:
    pool.sign_up(username, password, {"email": f"{username}@example.com", **attributes})
    code = pool.outbox()[-1]["message"].rsplit(" ", 1)[1]
    pool.confirm_sign_up(username, code)
    tokens = pool.sign_in(username, password)
    assert isinstance(tokens, Tokens)
    return tokens


def app_file(tmp_path, source: str, name: str = "auth_app.py"):
    """(spec path, the App it declares with its data in tmp_path/data, its "users" pool, alice's tokens)."""
    import runpy

    spec = tmp_path / name
    spec.write_text(source)
    app = runpy.run_path(str(spec))["app"]
    app.config.data_dir = tmp_path / "data"
    pool = app.resources[("user_pool", "users")]
    return spec, app, pool


def test_sign_up_confirm_and_sign_in_give_cognito_shaped_tokens(pool):
    result = pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    assert result["UserConfirmed"] is False and result["CodeDeliveryDetails"]["Destination"] == "a***@example.com"
    with pytest.raises(AuthError) as not_confirmed:
        pool.sign_in("alice", PASSWORD)
    assert not_confirmed.value.code == "UserNotConfirmedException"
    message = pool.outbox()[-1]
    assert message["destination"] == "alice@example.com" and "verification code" in message["message"]
    with pytest.raises(AuthError) as wrong:
        pool.confirm_sign_up("alice", "000000" if not message["message"].endswith("000000") else "111111")
    assert wrong.value.code == "CodeMismatchException"
    pool.confirm_sign_up("alice", message["message"].rsplit(" ", 1)[1])
    tokens = pool.sign_in("alice", PASSWORD)
    id_claims, access = pool.verify(tokens.id_token), pool.verify(tokens.access_token)
    assert id_claims["token_use"] == "id" and id_claims["aud"] == pool.client_id
    assert id_claims["cognito:username"] == "alice" and id_claims["email"] == "alice@example.com"
    assert id_claims["email_verified"] is True and id_claims["sub"] == result["UserSub"]
    assert access["token_use"] == "access" and access["client_id"] == pool.client_id
    assert access["username"] == "alice" and access["scope"] == "aws.cognito.signin.user.admin"
    assert id_claims["iss"] == access["iss"] == pool.issuer and pool.issuer.endswith(f"/_strato/auth/{pool.pool_id}")
    assert access["exp"] - access["iat"] == 3600 and access["auth_time"] <= access["iat"]
    assert jwt.get_unverified_header(tokens.id_token)["alg"] == "RS256"
    with pytest.raises(AuthError) as exists:
        pool.sign_up("alice", PASSWORD)
    assert exists.value.code == "UsernameExistsException"


def test_wrong_password_and_unknown_user_are_the_same_error(pool):
    signed_up(pool)
    errors = []
    for username, password in (("alice", "Wr0ng-password!"), ("nobody", PASSWORD)):
        with pytest.raises(AuthError) as caught:
            pool.sign_in(username, password)
        errors.append((caught.value.code, caught.value.message))
    assert errors[0] == errors[1] == ("NotAuthorizedException", "Incorrect username or password.")


def test_the_password_policy_says_every_rule_broken(app):
    pool = app.user_pool("strict", password_policy=PasswordPolicy(min_length=12))
    with pytest.raises(AuthError) as caught:
        pool.sign_up("bob", "short")
    assert caught.value.code == "InvalidPasswordException"
    message = caught.value.message
    for rule in ("at least 12 characters", "uppercase", "number", "symbol"):
        assert rule in message
    assert "lowercase" not in message
    relaxed = app.user_pool(
        "relaxed", password_policy=PasswordPolicy(min_length=6, require_symbols=False, require_uppercase=False)
    )
    relaxed.sign_up("bob", "abc123")


def test_refresh_keeps_the_session_and_sign_out_revokes_it(pool):
    tokens = signed_up(pool)
    renewed = pool.refresh(tokens.refresh_token)
    assert renewed.refresh_token is None
    first, second = pool.verify(tokens.access_token), pool.verify(renewed.access_token)
    assert first["origin_jti"] == second["origin_jti"] and first["jti"] != second["jti"]
    other_device = pool.sign_in("alice", PASSWORD)
    pool.sign_out(renewed.access_token)
    for token in (tokens.access_token, renewed.id_token, other_device.access_token):
        with pytest.raises(InvalidToken, match="revoked"):
            pool.verify(token)
    with pytest.raises(AuthError, match="revoked"):
        pool.refresh(tokens.refresh_token)
    with pytest.raises(AuthError, match="Invalid Refresh Token"):
        pool.refresh("not-a-refresh-token")


def test_generated_temporary_passwords_reach_the_outbox_and_disabling_revokes_tokens(pool):
    created = pool.admin_create_user("dave", attributes={"email": "dave@example.com"})
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    temporary = pool.outbox()[-1]["message"].rsplit(" ", 1)[1]
    pool.policy.check(temporary)
    tokens = pool.respond(pool.sign_in("dave", temporary), new_password=PASSWORD)
    pool.admin_disable_user("dave")
    with pytest.raises(InvalidToken):
        pool.verify(tokens.access_token)


def test_mfa_setup_cannot_be_skipped_and_a_session_answers_once(app):
    pool = app.user_pool("secure", mfa="required")
    pool.sign_up("carol", PASSWORD, {"email": "carol@example.com"})
    pool.confirm_sign_up("carol", pool.outbox()[-1]["message"].rsplit(" ", 1)[1])
    challenge = pool.sign_in("carol", PASSWORD)
    with pytest.raises(AuthError, match="not set up yet"):
        pool.respond(challenge)
    secret = pool.setup_totp(challenge)
    pool.confirm_totp(challenge, pyotp.TOTP(secret).now())
    assert isinstance(pool.respond(challenge), Tokens)
    with pytest.raises(AuthError, match="Invalid session"):
        pool.respond(challenge)


# -- attacks on verification --------------------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def test_forged_and_tampered_tokens_are_rejected_with_the_reason(app, pool):
    tokens = signed_up(pool)
    import hmac

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    header, claims, signature = _parts(tokens.access_token)
    public_pem = pool.backend.store.keys.public_key(header["kid"]).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs256_signed = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}"
    hs256_mac = hmac.new(public_pem, hs256_signed.encode(), "sha256").digest()
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    cases = {
        "signature does not verify": f"{_b64(header)}.{_b64({**claims, 'username': 'admin'})}.{signature}",
        "algorithm 'none'": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}.",
        "algorithm 'HS256'": f"{hs256_signed}.{base64.urlsafe_b64encode(hs256_mac).rstrip(b'=').decode()}",
        "the token was forged": jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": header["kid"]}),
        "unknown signing key": jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": "attacker"}),
        "token has expired": pool.backend.store.keys.sign({**claims, "exp": now - 1, "iat": now - 3601}),
        "not an app client": pool.backend.store.keys.sign({**claims, "client_id": "someone-else"}),
        "issued by another issuer": pool.backend.store.keys.sign({**claims, "iss": "https://evil.example.com/pool"}),
        "issued in the future": pool.backend.store.keys.sign({**claims, "iat": now + 3600, "exp": now + 7200}),
        "token_use is 'refresh'": pool.backend.store.keys.sign({**claims, "token_use": "refresh"}),
        "malformed token": "not.a-jwt",
    }
    for expected, token in cases.items():
        with pytest.raises(InvalidToken) as caught:
            pool.verify(token)
        assert expected in caught.value.message, (expected, caught.value.message)
    with pytest.raises(InvalidToken, match="token_use"):
        pool.verify(tokens.access_token, token_use="id")
    other = app.user_pool("other")
    with pytest.raises(InvalidToken, match="issuer"):
        other.verify(tokens.id_token)  # same keys on this machine, but another pool's issuer and client
    assert pool.verify(tokens.access_token)["username"] == "alice"  # and the real one still passes


def test_rotated_keys_keep_earlier_tokens_valid_and_sign_with_the_new_key(pool):
    tokens = signed_up(pool)
    old_kid = jwt.get_unverified_header(tokens.id_token)["kid"]
    new_kid = pool.backend.store.keys.rotate()
    fresh = pool.sign_in("alice", PASSWORD)
    assert jwt.get_unverified_header(fresh.id_token)["kid"] == new_kid
    assert {k["kid"] for k in pool.jwks()["keys"]} >= {old_kid, new_kid}
    assert pool.verify(tokens.id_token)["cognito:username"] == "alice"


# -- the HTTP authorizer ------------------------------------------------------------------------------

AUTH_APP = """
import strato
app = strato.App("authorized")
users = app.user_pool("users")
api = app.http()

@api.get("/me", auth=True)
def me(req):
    return {"user": req.claims["username"], "groups": req.claims.get("cognito:groups", "")}

@api.get("/admin", groups=["admins"])
def admin(req):
    return {"ok": True}

@api.get("/open")
def open_route(req):
    return {"claims": req.claims}
"""


def test_routes_with_auth_answer_401_403_and_pass_claims_over_real_http(tmp_path):
    spec = tmp_path / "auth_app.py"
    spec.write_text(AUTH_APP)
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        import runpy

        module = runpy.run_path(str(spec))
        app = module["app"]
        app.config.data_dir = tmp_path / "data"
        pool = app.resources[("user_pool", "users")]
        tokens = signed_up(pool)
        with httpx.Client(base_url=server.url) as client:
            missing = client.get("/me")
            assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}
            assert "no token" in missing.headers["www-authenticate"]
            forged = client.get("/me", headers={"authorization": tokens.access_token[:-4] + "AAAA"})
            assert forged.status_code == 401 and "signature" in forged.headers["www-authenticate"]
            ok = client.get("/me", headers={"authorization": f"Bearer {tokens.access_token}"})
            assert ok.status_code == 200 and ok.json() == {"user": "alice", "groups": ""}
            assert client.get("/admin", headers={"authorization": tokens.access_token}).status_code == 403
            pool.create_group("admins")
            pool.add_to_group("alice", "admins")
            promoted = pool.refresh(tokens.refresh_token)
            admin = client.get("/admin", headers={"authorization": promoted.access_token})
            assert admin.status_code == 200
            assert client.get("/me", headers={"authorization": promoted.access_token}).json()["groups"] == "[admins]"
            assert client.get("/open").json() == {"claims": {}}
            keys = client.get(f"/_strato/auth/{pool.pool_id}/.well-known/jwks.json").json()
        assert pool.issuer.startswith(server.url)
        signing = jwt.PyJWKSet.from_dict(keys)[jwt.get_unverified_header(tokens.id_token)["kid"]]
        claims = jwt.decode(
            tokens.id_token, signing.key, algorithms=["RS256"], audience=pool.client_id, issuer=pool.issuer
        )  # any standard JWT library can check our tokens with the JWKS
        assert claims["cognito:username"] == "alice"
    finally:
        stop(server.proc)


def test_inside_lambda_the_api_gateway_authorizer_claims_are_trusted(app, monkeypatch):
    app.user_pool("users")
    api = app.http()

    @api.get("/admin", groups=["admins"])
    def admin(req):
        return {"sub": req.claims["sub"]}

    def event(groups: str) -> dict:
        return {
            "version": "2.0",
            "routeKey": "GET /admin",
            "rawPath": "/admin",
            "headers": {},
            "requestContext": {
                "http": {"method": "GET", "path": "/admin"},
                "authorizer": {"jwt": {"claims": {"sub": "abc", "cognito:groups": groups}, "scopes": None}},
            },
        }

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    assert json.loads(app.lambda_handler(event("[admins users]"), None)["body"]) == {"sub": "abc"}
    assert app.lambda_handler(event("[users]"), None)["statusCode"] == 403


WS_AUTH_APP = """
import strato
app = strato.App("wsauth")
users = app.user_pool("users")
chat = app.websocket("chat", auth=True)
ops = app.websocket("ops", groups=["ops"])

@chat.on_connect
def joined(conn):
    conn.data["user"] = conn.claims.get("cognito:username") or conn.claims["username"]

@chat.route("whoami")
def whoami(msg):
    return {"sub": msg.claims.get("sub"), "principal": msg.claims.get("principalId")}
"""


def test_websocket_connect_checks_the_token_from_query_or_header(tmp_path):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    spec = tmp_path / "ws_auth_app.py"
    spec.write_text(WS_AUTH_APP)
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        import runpy

        app = runpy.run_path(str(spec))["app"]
        app.config.data_dir = tmp_path / "data"
        pool = app.resources[("user_pool", "users")]
        tokens = signed_up(pool)
        base = server.url.replace("http", "ws")
        for url, headers, status in (
            (f"{base}/ws/chat", None, 401),
            (f"{base}/ws/chat?token=garbage", None, 401),
            (f"{base}/ws/ops?token={tokens.id_token}", None, 403),
        ):
            with pytest.raises(InvalidStatus) as refused:
                connect(url, additional_headers=headers)
            assert refused.value.response.status_code == status, url
        with connect(f"{base}/ws/chat?token={tokens.id_token}") as ws:
            ws.send(json.dumps({"action": "whoami"}))  # later events carry the $connect authorizer context
            sub = pool.verify(tokens.id_token)["sub"]
            assert json.loads(ws.recv(timeout=5)) == {"sub": sub, "principal": sub}
        with connect(f"{base}/ws/chat", additional_headers={"Authorization": f"Bearer {tokens.access_token}"}):
            pass
        pool.create_group("ops")
        pool.add_to_group("alice", "ops")
        with connect(f"{base}/ws/ops?token={pool.refresh(tokens.refresh_token).id_token}"):
            pass
        pool.sign_out(tokens.access_token)
        with pytest.raises(InvalidStatus) as revoked:
            connect(f"{base}/ws/chat?token={tokens.id_token}")
        assert revoked.value.response.status_code == 401
    finally:
        stop(server.proc)


def test_on_aws_a_pool_that_was_not_deployed_is_a_clear_error(tmp_path, moto_server, monkeypatch):
    app = strato.App("cloudauth", provider="aws", data_dir=tmp_path)
    app.config.auto_create = False
    with pytest.raises(ConfigurationError, match=r"does not exist: deploy.*STRATO_USER_POOL_TEAM_USERS_ID"):
        app.user_pool("team-users").sign_up("alice", PASSWORD)
    monkeypatch.setenv("STRATO_USER_POOL_GIVEN_ID", "us-east-1_given")
    monkeypatch.setenv("STRATO_USER_POOL_GIVEN_CLIENT_ID", "clientid")
    given = strato.App("cloudauth", provider="aws", data_dir=tmp_path).user_pool("given")
    assert (given.pool_id, given.client_id) == ("us-east-1_given", "clientid")  # from the deployment, no lookup
    assert given.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_given"


def test_cognito_tokens_verify_against_the_fetched_jwks_and_forgeries_do_not(make_app, monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from strato.auth import cognito

    pool = make_app("aws").user_pool("users")
    pool.sign_up("alice", PASSWORD, {"email": "alice@example.com"})
    pool.confirm_sign_up("alice", "123456")  # moto accepts any code
    tokens = pool.sign_in("alice", PASSWORD)
    fetches = []
    real_fetch = cognito.JwksCache.fetch
    monkeypatch.setattr(cognito.JwksCache, "fetch", lambda self: fetches.append(1) or real_fetch(self))
    assert pool.verify(tokens.access_token)["username"] == "alice"
    header, claims, _ = _parts(tokens.access_token)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="forged or altered"):
        pool.verify(jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": header["kid"]}))
    for _ in range(3):  # unknown kids do not make us refetch the JWKS each time
        with pytest.raises(InvalidToken, match="unknown signing key"):
            pool.verify(jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": "made-up"}))
    with pytest.raises(InvalidToken, match="algorithm"):
        pool.verify(f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}.")
    assert len(fetches) == 1


CONNECT_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/$connect"


def connect_authorizer_event(query: dict | None = None, headers: dict | None = None) -> dict:
    """The REQUEST authorizer event API Gateway sends for a WebSocket $connect."""
    return {
        "type": "REQUEST",
        "methodArn": CONNECT_ARN,
        "headers": headers or {},
        "queryStringParameters": query,
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "connectionId": "c1=",
            "apiId": "abc123",
            "stage": "dev",
        },
    }


def test_the_deployed_connect_authorizer_allows_with_claims_denies_and_refuses(tmp_path, monkeypatch):
    _, app, pool = app_file(tmp_path, WS_AUTH_APP)
    tokens = signed_up(pool)
    arn = CONNECT_ARN

    def request(name: str, query: dict | None = None, headers: dict | None = None) -> dict:
        monkeypatch.setenv("STRATO_WEBSOCKET", name)
        return connect_authorizer_event(query, headers)

    allowed = app.lambda_handler(request("chat", {"token": tokens.id_token}))
    sub = pool.verify(tokens.id_token)["sub"]
    assert allowed["principalId"] == sub and allowed["context"]["sub"] == sub
    assert allowed["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}
    ]
    header = app.lambda_handler(request("chat", headers={"Authorization": f"Bearer {tokens.access_token}"}))
    assert header["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    denied = app.lambda_handler(request("ops", {"token": tokens.id_token}))  # valid token, not in the group
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    for query in (None, {"token": "garbage"}):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            app.lambda_handler(request("chat", query))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ws-chat")  # $connect then trusts the authorizer's context
    connect = {
        "requestContext": {
            **connect_authorizer_event()["requestContext"],
            "domainName": "abc123.example",
            "connectedAt": 0,
            "identity": {"sourceIp": "1.2.3.4"},
            "authorizer": {"principalId": sub, **allowed["context"]},
        }
    }
    monkeypatch.setenv("STRATO_WEBSOCKET", "chat")
    assert app.lambda_handler(connect)["statusCode"] == 200


def test_a_failed_jwks_fetch_is_retried_on_the_next_token(monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from strato.auth import cognito

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    answers: list = [
        OSError("network unreachable"),
        {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": "k1"}]},
    ]

    def fetch(self):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(cognito.JwksCache, "fetch", fetch)
    cache = cognito.JwksCache("https://cognito-idp.example/pool/.well-known/jwks.json")
    with pytest.raises(InvalidToken, match="cannot fetch"):
        cache.key("k1")
    assert cache.key("k1") is not None  # not held off for a minute by the failure
