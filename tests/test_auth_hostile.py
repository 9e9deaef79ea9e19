"""Hostile tokens: whatever a caller sends, verification answers InvalidToken (401 on an ``auth=True``
route, API Gateway's exact "Unauthorized" from the deployed ``$connect`` authorizer), never a PyJWT,
Key or Type error (a 500), and never seconds of CPU for a megabytes-long "token"."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from strato.auth.tokens import MAX_TOKEN_BYTES
from strato.core.errors import InvalidToken
from tests.conftest import start_dev_server, stop
from tests.test_auth import AUTH_APP, WS_AUTH_APP, app_file, connect_authorizer_event, signed_up


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(pool, header: dict, claims: object) -> str:
    """A token signed with the pool's own current key, whatever its header and payload say."""
    kid, key, _ = pool.backend.store.keys._keys(time.time())[0]
    signing = f"{_b64(json.dumps({'alg': 'RS256', 'kid': kid, **header}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{_b64(signature)}"


def hostile_tokens(pool, claims: dict) -> dict[str, str]:
    """name -> a token that must be refused; ``claims`` are a valid access token's."""
    no_sub = {k: v for k, v in claims.items() if k != "sub"}
    big_payload = _b64(json.dumps({**claims, "pad": "x" * 1_500_000}).encode())
    return {
        "kid is a number": _sign(pool, {"kid": 5}, claims),
        "kid is a list": _sign(pool, {"kid": ["a"]}, claims),
        "unknown crit header": _sign(pool, {"crit": ["x-evil"], "x-evil": 1}, claims),
        "crit not a list": _sign(pool, {"crit": "x-evil"}, claims),
        "header not an object": f"{_b64(b'[1, 2]')}.{_b64(json.dumps(claims).encode())}.AAAA",
        "missing sub": _sign(pool, {}, no_sub),
        "sub is a number": _sign(pool, {}, {**claims, "sub": 7}),
        "aud as a list": _sign(pool, {}, {**claims, "token_use": "id", "aud": [pool.client_id]}),
        "client_id as a list": _sign(pool, {}, {**claims, "client_id": [pool.client_id]}),
        "username as a list": _sign(pool, {}, {**claims, "username": ["alice"]}),
        "exp as a numeric string": _sign(pool, {}, {**claims, "exp": str(int(time.time()) + 3600)}),
        "exp as true": _sign(pool, {}, {**claims, "exp": True}),
        "iat as a list": _sign(pool, {}, {**claims, "iat": [1]}),
        "payload a list": _sign(pool, {}, [claims]),
        "payload not JSON": f"{_b64(json.dumps({'alg': 'RS256', 'kid': 'k'}).encode())}.{_b64(b'{nope')}.AAAA",
        "1.5 MB payload": f"{_sign(pool, {}, claims).split('.')[0]}.{big_payload}.AAAA",
        "10 MB of dots and letters": "a" * 10_000_000 + ".b.c",
    }


def _claims(pool, tokens) -> dict:
    return dict(pool.verify(tokens.access_token))


def test_every_hostile_token_is_invalid_token_quickly(make_app):
    pool = make_app("local").user_pool("users")
    tokens = signed_up(pool)
    claims = _claims(pool, tokens)
    for name, token in hostile_tokens(pool, claims).items():
        started = time.perf_counter()
        with pytest.raises(InvalidToken):
            pool.verify(token)
        assert time.perf_counter() - started < 0.5, name  # refused before base64 or RSA on megabytes
    assert len(_sign(pool, {}, claims)) < MAX_TOKEN_BYTES  # a real token is far under the limit
    assert pool.verify(tokens.access_token)["username"] == "alice"


def test_hostile_tokens_on_an_auth_route_under_strato_dev_are_401_json(tmp_path):
    spec, _, pool = app_file(tmp_path, AUTH_APP)
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        tokens = signed_up(pool)
        cases = hostile_tokens(pool, _claims(pool, tokens))
        cases.pop("10 MB of dots and letters")  # more than any HTTP server takes as a header
        cases["20 KB"] = "a" * 20_000 + ".b.c"
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for name, token in cases.items():
                answer = client.get("/me", headers={"authorization": f"Bearer {token}"})
                if len(token) > 10_240:  # over API Gateway's head quota: the gateway refuses it before any check
                    assert answer.status_code == 431, (name, answer.status_code, answer.text)
                    continue
                assert answer.status_code == 401, (name, answer.status_code, answer.text)
                assert answer.json() == {"message": "Unauthorized"}, name
            assert client.get("/me", headers={"authorization": tokens.access_token}).status_code == 200
    finally:
        stop(server.proc)


def test_hostile_tokens_at_the_deployed_connect_authorizer_are_exactly_unauthorized(tmp_path, monkeypatch):
    _, app, pool = app_file(tmp_path, WS_AUTH_APP)
    tokens = signed_up(pool)
    monkeypatch.setenv("STRATO_WEBSOCKET", "chat")
    for name, token in hostile_tokens(pool, _claims(pool, tokens)).items():
        with pytest.raises(Exception) as refused:
            app.lambda_handler(connect_authorizer_event({"token": token}))
        assert type(refused.value) is Exception and str(refused.value) == "Unauthorized", name
    allowed = app.lambda_handler(connect_authorizer_event({"token": tokens.id_token}))
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_the_cognito_provider_refuses_them_alike(make_app, tmp_path, monkeypatch):
    """The AWS provider verifies offline with the same checks: its JWKS here is the local pool's."""
    import strato
    from strato.auth import cognito

    local = make_app("local").user_pool("users")
    tokens = signed_up(local)
    monkeypatch.setenv("STRATO_USER_POOL_CLOUD_ID", "us-east-1_cloud")
    monkeypatch.setenv("STRATO_USER_POOL_CLOUD_CLIENT_ID", "cloudclient")
    cloud = strato.App("cloudauth", provider="aws", data_dir=tmp_path / "cloud").user_pool("cloud")
    monkeypatch.setattr(cognito.JwksCache, "fetch", lambda self: local.jwks())
    claims = {**_claims(local, tokens), "iss": cloud.issuer, "client_id": cloud.client_id}
    assert cloud.verify(_sign(local, {}, claims))["username"] == "alice"
    for name, token in hostile_tokens(local, {**claims, "aud": cloud.client_id}).items():
        with pytest.raises(InvalidToken):
            cloud.verify(token)
            pytest.fail(f"verified: {name}")
