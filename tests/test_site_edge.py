"""The sign-in gate of an auth=pool site, at the edge and under `strato dev`, case by case: the very
index.py `strato synth` puts in the Lambda@Edge function is run on CloudFront viewer-request events, and
the same cookies go to a real `strato dev`; each case must end the same way in both places.

Event shape: "Lambda@Edge event structure", CloudFront Developer Guide,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html (viewer
request: Records[0].cf.config / .request with clientIp, headers as lower-case name -> [{key, value}],
method, querystring, uri; a body, with the include-body option, as {action, data, encoding,
inputTruncated}). A generated response is {status, statusDescription, headers, body}
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-generating-http-responses.html).
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import httpx
import pytest

import strato
from strato.site.edge_deploy import edge_code
from strato.site.gate import ID_COOKIE, REFRESH_COOKIE, Keys, Rejected, rs256_valid, verify_id_token
from tests.conftest import start_dev_server, stop

APP = """
import strato
app = strato.App("edgy")
pool = app.user_pool("users")
site = app.site("web", directory="dist", spa=True, auth=pool)
"""
TEMPORARY, CHOSEN = "Temp0rary!pass", "Ch0sen!password"


def viewer_request(
    uri: str, cookie: str | None = None, *, method: str = "GET", query: str = "", body: bytes | None = None
):
    headers = {
        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
        "user-agent": [{"key": "User-Agent", "value": "curl/7.66.0"}],
        "accept": [{"key": "accept", "value": "*/*"}],
    }
    if cookie is not None:
        headers["cookie"] = [{"key": "Cookie", "value": cookie}]
    request = {"clientIp": "203.0.113.178", "headers": headers, "method": method, "querystring": query, "uri": uri}
    if body is not None:
        request["body"] = {
            "action": "read-only",
            "data": base64.b64encode(body).decode(),
            "encoding": "base64",
            "inputTruncated": False,
        }
    config = {
        "distributionDomainName": "d111111abcdef8.cloudfront.net",
        "distributionId": "EDFDVBD6EXAMPLE",
        "eventType": "viewer-request",
        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
    }
    return {"Records": [{"cf": {"config": config, "request": request}}]}


def load_edge(config: dict[str, str]) -> dict:
    """index.py as synth writes it, with CONFIG baked, loaded as Lambda would."""
    namespace: dict = {"__name__": "index"}
    exec(compile(edge_code(config), "index.py", "exec"), namespace)
    return namespace


def header(response: dict, name: str) -> list[str]:
    return [h["value"] for h in response.get("headers", {}).get(name, [])]


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    root = tmp_path_factory.mktemp("edgy")
    (root / "dist").mkdir()
    (root / "dist" / "index.html").write_text("<h1>members only</h1>")
    (root / "gated_app.py").write_text(APP)
    server = start_dev_server(str(root / "gated_app.py"), root / "data")
    app = strato.App("edgy", data_dir=root / "data")  # the pool the server opens; its issuer is the server
    pool = app.user_pool("users")
    pool.admin_create_user("ana", temporary_password=TEMPORARY)
    tokens = pool.respond(pool.sign_in("ana", TEMPORARY), new_password=CHOSEN)
    edge = load_edge(
        {
            "issuer": pool.issuer,
            "clientId": pool.client_id,
            "jwksUrl": f"{pool.issuer}/.well-known/jwks.json",  # strato dev serves it as a Cognito issuer does
            "cognitoUrl": "http://127.0.0.1:9/",  # no Cognito here: the cases below never call it
            "prefix": "/",
            "siteName": "web",
            "spa": "true",
            "index": "/index.html",
        }
    )
    yield server, pool, tokens, edge
    stop(server.proc)
    app.close()


def resign(pool, token: str, **changes) -> str:
    """The token's claims, changed, signed with the pool's own current key (a real key, a bad claim)."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    claims.update(changes)
    return pool.backend.store.keys.sign(claims)


def outcome_at_edge(edge: dict, uri: str, cookie: str | None, query: str = "") -> tuple:
    result = edge["handler"](viewer_request(uri, cookie, query=query), None)
    if "status" not in result:
        return ("pass",)
    if result["status"] == "302":
        return ("redirect", header(result, "location")[0])
    return ("page", int(result["status"]), "Sign in to web" in result["body"])


def outcome_locally(server, uri: str, cookie: str | None, query: str = "") -> tuple:
    headers = {"cookie": cookie} if cookie is not None else {}
    answer = httpx.get(f"{server.url}{uri}" + (f"?{query}" if query else ""), headers=headers, follow_redirects=False)
    if answer.status_code == 302:
        return ("redirect", answer.headers["location"])
    if answer.text == "<h1>members only</h1>":
        return ("pass",)
    return ("page", answer.status_code, "Sign in to web" in answer.text)


def cases(pool, tokens) -> dict[str, tuple[str | None, tuple]]:
    valid = tokens.id_token
    head, payload, signature = valid.split(".")
    flipped = signature[:-6] + ("AAAAAA" if signature[-6:] != "AAAAAA" else "BBBBBB")
    to_signin = ("redirect", "/_strato-signin?next=/deep/link")
    return {
        "no cookie": (None, to_signin),
        "valid": (f"{ID_COOKIE}={valid}", ("pass",)),
        "expired": (f"{ID_COOKIE}={resign(pool, valid, exp=int(time.time()) - 5)}", to_signin),
        "wrong client": (f"{ID_COOKIE}={resign(pool, valid, aud='another-app-client')}", to_signin),
        "access token": (f"{ID_COOKIE}={tokens.access_token}", to_signin),
        "tampered signature": (f"{ID_COOKIE}={head}.{payload}.{flipped}", to_signin),
        "tampered payload": (f"{ID_COOKIE}={head}.{payload[:-2]}xx.{signature}", to_signin),
        "malformed": (f"{ID_COOKIE}=not-a-jwt", to_signin),
        "garbage parts": (f"{ID_COOKIE}=%%%.@@@.!!!", to_signin),
        "alg none": (f"{ID_COOKIE}=eyJhbGciOiJub25lIn0.{payload}.", to_signin),
    }


CASES = [
    "no cookie",
    "valid",
    "expired",
    "wrong client",
    "access token",
    "tampered signature",
    "tampered payload",
    "malformed",
    "garbage parts",
    "alg none",
]


@pytest.mark.parametrize("case", CASES)
def test_the_same_outcome_at_the_edge_and_under_strato_dev(gated, case):
    server, pool, tokens, edge = gated
    cookie, expected = cases(pool, tokens)[case]
    assert outcome_at_edge(edge, "/deep/link", cookie) == expected
    assert outcome_locally(server, "/deep/link", cookie) == expected


def test_the_sign_in_page_passes_in_both_places(gated):
    server, _, _, edge = gated
    # the sign-in page itself is never redirected (no loop), with or without a cookie
    for cookie in (None, f"{ID_COOKIE}=garbage"):
        assert outcome_at_edge(edge, "/_strato-signin", cookie, "next=/x") == ("page", 200, True)
        assert outcome_locally(server, "/_strato-signin", cookie, "next=/x") == ("page", 200, True)
    page = edge["handler"](viewer_request("/_strato-signin", query="next=//evil.example/x"))
    assert 'name="next" value="/"' in page["body"]  # a foreign next is dropped, as locally


def test_a_query_string_survives_the_trip_to_sign_in(gated):
    server, _, _, edge = gated
    expected = ("redirect", "/_strato-signin?next=/deep/link%3Ftab%3D2")
    assert outcome_at_edge(edge, "/deep/link", None, "tab=2") == expected
    assert outcome_locally(server, "/deep/link", None, "tab=2") == expected


def test_a_passing_request_gets_the_spa_rewrite(gated):
    _, _, tokens, edge = gated
    cookie = f"other=1; {ID_COOKIE}={tokens.id_token}"
    for uri, origin_uri in (("/deep/link", "/index.html"), ("/docs/", "/docs/index.html"), ("/a.js", "/a.js")):
        passed = edge["handler"](viewer_request(uri, cookie))
        assert "status" not in passed and passed["uri"] == origin_uri
        assert passed["headers"]["cookie"][0]["value"] == cookie  # the request goes on unchanged otherwise


def test_refresh_locally_sends_the_browser_back_with_a_new_id_token(gated):
    server, pool, tokens, _ = gated
    expired = resign(pool, tokens.id_token, exp=int(time.time()) - 5)
    cookie = f"{ID_COOKIE}={expired}; {REFRESH_COOKIE}={tokens.refresh_token}"
    back = httpx.get(f"{server.url}/deep/link?tab=2", headers={"cookie": cookie})
    assert back.status_code == 302 and back.headers["location"] == "/deep/link?tab=2"
    fresh = back.headers["set-cookie"]
    assert fresh.startswith(f"{ID_COOKIE}=") and "HttpOnly" in fresh and "SameSite=Lax" in fresh
    token = fresh.split(";")[0].split("=", 1)[1]
    assert httpx.get(f"{server.url}/deep/link", headers={"cookie": f"{ID_COOKIE}={token}"}).status_code == 200
    stale = httpx.get(f"{server.url}/", headers={"cookie": f"{REFRESH_COOKIE}=not-a-refresh-token"})
    assert stale.status_code == 302 and stale.headers["location"].startswith("/_strato-signin")
    assert all("Max-Age=0" in c for c in stale.headers.get_list("set-cookie"))  # both cookies cleared


def test_the_pure_python_rs256_check_agrees_with_pyjwt(gated):
    """gate.py's hand-written RSASSA-PKCS1-v1_5 verification against PyJWT + cryptography's on the same
    keys: a real signature verifies, any changed byte of input or signature does not."""
    import jwt

    _, pool, tokens, _ = gated
    jwks = pool.jwks()
    keys = Keys(lambda: jwks)
    head, payload, signature = tokens.id_token.split(".")
    kid = json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]
    n, e = keys(kid)
    raw = base64.urlsafe_b64decode(signature + "==")
    assert rs256_valid(f"{head}.{payload}".encode(), raw, n, e)
    assert not rs256_valid(f"{head}.{payload}x".encode(), raw, n, e)
    assert not rs256_valid(f"{head}.{payload}".encode(), raw[:-1] + bytes([raw[-1] ^ 1]), n, e)
    assert not rs256_valid(f"{head}.{payload}".encode(), raw[:-1], n, e)  # wrong length
    public = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    assert jwt.decode(tokens.id_token, public, algorithms=["RS256"], options={"verify_aud": False})["sub"]
    claims = verify_id_token(tokens.id_token, issuer=pool.issuer, client_id=pool.client_id, keys=keys, now=time.time())
    assert claims["token_use"] == "id"
    with pytest.raises(Rejected, match="issued by"):
        verify_id_token(
            tokens.id_token, issuer="https://elsewhere", client_id=pool.client_id, keys=keys, now=time.time()
        )


def test_an_unknown_kid_refetches_the_jwks_once_a_minute_at_the_edge():
    fetched: list[int] = []
    now = [0.0]

    def fetch() -> dict:
        fetched.append(1)
        return {"keys": []}

    keys = Keys(fetch, clock=lambda: now[0])
    assert keys("a") is None and keys("b") is None and len(fetched) == 1  # a flood of unknown kids: one fetch
    now[0] = 61.0
    assert keys("c") is None and len(fetched) == 2
    local = Keys(fetch, clock=lambda: now[0], retry=0)  # the local pool's JWKS is a read of its key ring
    assert local("a") is None and local("b") is None and len(fetched) == 4


def test_signing_in_at_the_edge_against_cognito(moto_server, monkeypatch):
    """The edge's sign-in page runs Cognito's flow for real (moto_server's cognito-idp): password, the
    new-password challenge, cookies set Secure; then the cookie passes, and an expired ID token is
    exchanged with the refresh cookie (REFRESH_TOKEN_AUTH) and the browser sent back to the same URL."""
    import boto3

    idp = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=moto_server)
    pool_id = idp.create_user_pool(PoolName="edge-gate")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="strato",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ana", TemporaryPassword=TEMPORARY)
    edge = load_edge(
        {
            "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
            "clientId": client_id,
            "jwksUrl": f"{moto_server}/{pool_id}/.well-known/jwks.json",  # moto's copy of the issuer's JWKS
            "cognitoUrl": f"{moto_server}/",
            "prefix": "/",
            "siteName": "web",
            "spa": "true",
            "index": "/index.html",
        }
    )
    handler = edge["handler"]

    def post(form: dict) -> dict:
        return handler(viewer_request("/_strato-signin", method="POST", body=urlencode(form).encode()))

    wrong = post({"username": "ana", "password": "Wr0ng!password", "next": "/deep"})
    assert wrong["status"] == "401" and "NotAuthorizedException" in wrong["body"]
    first = post({"username": "ana", "password": TEMPORARY, "next": "/deep"})
    assert first["status"] == "200" and 'name="new_password"' in first["body"]
    import re

    state = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', first["body"]))
    assert state["challenge"] == "NEW_PASSWORD_REQUIRED" and state["username"] == "ana"
    done = post({**state, "new_password": CHOSEN})
    assert done["status"] == "303" and header(done, "location") == ["/deep"]
    set_cookies = header(done, "set-cookie")
    assert all("Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in set_cookies)
    jar = {c.split("=", 1)[0]: c.split(";")[0].split("=", 1)[1] for c in set_cookies}
    assert set(jar) == {ID_COOKIE, REFRESH_COOKIE}
    passed = handler(viewer_request("/deep", f"{ID_COOKIE}={jar[ID_COOKIE]}"))
    assert "status" not in passed and passed["uri"] == "/index.html"
    # two hours on, the ID token has expired: the refresh cookie gets a new one, and the same URL again
    later = time.time() + 7200
    monkeypatch.setitem(edge, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))
    both = f"{ID_COOKIE}={jar[ID_COOKIE]}; {REFRESH_COOKIE}={jar[REFRESH_COOKIE]}"
    back = handler(viewer_request("/deep", both, query="tab=2"))
    assert back["status"] == "302" and header(back, "location") == ["/deep?tab=2"]
    (fresh,) = header(back, "set-cookie")
    assert fresh.startswith(f"{ID_COOKIE}=ey") and "Secure" in fresh
    gone = handler(viewer_request("/deep", f"{REFRESH_COOKIE}=not-a-refresh-token"))
    assert gone["status"] == "302" and header(gone, "location") == ["/_strato-signin?next=/deep"]
    assert all("Max-Age=0" in c for c in header(gone, "set-cookie"))


def test_a_site_under_a_prefix_keeps_its_sign_in_page_there():
    edge = load_edge(
        {
            "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
            "clientId": "abc",
            "jwksUrl": "http://127.0.0.1:9/jwks.json",  # never fetched: no request below carries a token
            "cognitoUrl": "http://127.0.0.1:9/",
            "prefix": "/app",
            "siteName": "admin",
            "spa": "false",
            "index": "/app/index.html",
        }
    )
    refused = edge["handler"](viewer_request("/app/reports", query="y=2024"))
    assert refused["status"] == "302" and header(refused, "location") == [
        "/app/_strato-signin?next=/app/reports%3Fy%3D2024"
    ]
    page = edge["handler"](viewer_request("/app/_strato-signin", query="next=/app/reports"))
    assert page["status"] == "200" and 'action="/app/_strato-signin"' in page["body"]
    assert header(page, "content-type") == ["text/html; charset=utf-8"]


def test_the_edge_sign_in_page_refuses_what_it_cannot_take():
    edge = load_edge(
        {
            "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
            "clientId": "abc",
            "jwksUrl": "http://127.0.0.1:9/jwks.json",
            "cognitoUrl": "http://127.0.0.1:9/",  # a closed port: nothing below may reach Cognito
            "prefix": "/",
            "siteName": "web",
            "spa": "true",
            "index": "/index.html",
        }
    )
    handler = edge["handler"]
    assert handler(viewer_request("/_strato-signin", method="DELETE"))["status"] == "405"
    event = viewer_request("/_strato-signin", method="POST", body=b"username=a&password=b")
    event["Records"][0]["cf"]["request"]["body"]["inputTruncated"] = True  # over the include-body limit
    assert handler(event)["status"] == "413"
    odd = handler(viewer_request("/_strato-signin", method="POST", body=b"challenge=CUSTOM_CHALLENGE&session=s"))
    assert odd["status"] == "401" and "cannot be answered on this page" in odd["body"]
