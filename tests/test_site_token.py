"""The ID-token endpoint of an auth=pool site (``/_strato-token``, site/gate.py): the signed-in page's own
script gets the token its HttpOnly cookie holds (for a WebSocket's ``?token=``); nobody else does. Each
case ends the same way at the edge (the Lambda@Edge index.py synth writes) and under `strato dev`.

Why a custom header keeps other sites out: a cross-origin request with a header outside the CORS-safelisted
ones is preceded by a preflight (Fetch standard, "CORS-preflight request"), and the gate answers no
preflight with Access-Control-Allow-*; a form, link, <img> or <script> cannot set a header at all. A
Lambda@Edge response generated at the viewer request is not cached by CloudFront ("Generating HTTP
responses in request triggers", CloudFront Developer Guide), and ``Cache-Control: no-store`` keeps
browsers and proxies from storing it."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from strato.site.gate import ID_COOKIE, REFRESH_COOKIE
from tests.test_site_edge import gated as gated_fixture  # noqa: F401 (their server and edge function)
from tests.test_site_edge import header, resign, viewer_request

EDGE_HOST = "d111111abcdef8.cloudfront.net"


def at_edge(edge: dict, cookie: str | None, headers: dict[str, str], method: str = "GET") -> tuple[int, dict, dict]:
    event = viewer_request("/_strato-token", cookie, method=method)
    request = event["Records"][0]["cf"]["request"]
    for name, value in headers.items():
        request["headers"][name] = [{"key": name, "value": value.replace("{host}", EDGE_HOST)}]
    result = edge["handler"](event, None)
    assert "status" in result, "the token endpoint never reaches the origin"
    flat = {name: header(result, name)[0] for name in result["headers"]}
    return int(result["status"]), json.loads(result["body"] or "{}"), flat


def locally(server, cookie: str | None, headers: dict[str, str], method: str = "GET") -> tuple[int, dict, dict]:
    host = server.url.removeprefix("http://")
    sent = {name: value.replace("{host}", host) for name, value in headers.items()}
    if cookie is not None:
        sent["cookie"] = cookie
    answer = httpx.request(method, f"{server.url}/_strato-token", headers=sent, follow_redirects=False)
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    return answer.status_code, body, dict(answer.headers)


SCRIPT = {"x-strato-token": "1", "sec-fetch-site": "same-origin"}  # what fetch() from the page sends
REFUSED = {
    "no header (a link, a form, <script src>)": {"sec-fetch-site": "same-origin"},
    "a cross-site page": {"x-strato-token": "1", "sec-fetch-site": "cross-site"},
    "a same-site other origin": {"x-strato-token": "1", "sec-fetch-site": "same-site"},
    "another Origin": {"x-strato-token": "1", "origin": "https://evil.example"},
    "a wrong header value": {"x-strato-token": "yes"},
}


@pytest.mark.parametrize("where", ["edge", "local"])
def test_the_signed_in_pages_script_gets_its_id_token(gated_fixture, where):  # noqa: F811 (the imported fixture)
    server, _, tokens, edge = gated_fixture
    ask = (lambda *a, **k: at_edge(edge, *a, **k)) if where == "edge" else (lambda *a, **k: locally(server, *a, **k))
    cookie = f"{ID_COOKIE}={tokens.id_token}"
    origin = {**SCRIPT, "origin": "https://{host}" if where == "edge" else "http://{host}"}  # the page's own
    for headers in (SCRIPT, {"x-strato-token": "1"}, origin):
        status, body, answer = ask(cookie, headers)
        assert status == 200, body
        claims = json.loads(base64.urlsafe_b64decode(tokens.id_token.split(".")[1] + "=="))
        assert body == {"idToken": tokens.id_token, "expiresAt": claims["exp"]}
        assert answer["cache-control"] == "no-store" and answer["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in answer


@pytest.mark.parametrize("where", ["edge", "local"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_no_one_else_gets_it(gated_fixture, where, case):  # noqa: F811 (the imported fixture)
    server, _, tokens, edge = gated_fixture
    ask = (lambda *a, **k: at_edge(edge, *a, **k)) if where == "edge" else (lambda *a, **k: locally(server, *a, **k))
    status, body, _ = ask(f"{ID_COOKIE}={tokens.id_token}", REFUSED[case])
    assert status == 403 and "idToken" not in body and body["message"]
    status, body, _ = ask(f"{ID_COOKIE}={tokens.id_token}", SCRIPT, method="POST")
    assert status == 403 and "idToken" not in body


@pytest.mark.parametrize("where", ["edge", "local"])
def test_a_signed_out_script_is_told_where_to_sign_in(gated_fixture, where):  # noqa: F811 (the imported fixture)
    server, pool, tokens, edge = gated_fixture
    ask = (lambda *a, **k: at_edge(edge, *a, **k)) if where == "edge" else (lambda *a, **k: locally(server, *a, **k))
    expired = resign(pool, tokens.id_token, exp=1)
    for cookie in (None, f"{ID_COOKIE}={expired}", f"{ID_COOKIE}=not-a-jwt"):
        status, body, answer = ask(cookie, SCRIPT)
        assert (status, body) == (401, {"message": "sign in first", "signIn": "/_strato-signin"})
        assert answer["cache-control"] == "no-store"


def test_an_expired_token_is_refreshed_first_then_handed_over(gated_fixture):  # noqa: F811 (the imported fixture)
    server, pool, tokens, _ = gated_fixture
    expired = resign(pool, tokens.id_token, exp=1)
    cookie = f"{ID_COOKIE}={expired}; {REFRESH_COOKIE}={tokens.refresh_token}"
    status, _, answer = locally(server, cookie, SCRIPT)
    assert status == 302 and answer["location"] == "/_strato-token"  # fetch follows, with the new cookie
    fresh = answer["set-cookie"].split(";")[0]
    status, body, _ = locally(server, fresh, SCRIPT)
    assert status == 200 and body["idToken"] == fresh.split("=", 1)[1] != expired


def test_the_runtime_config_names_the_endpoint_and_the_module_reads_it(gated_fixture):  # noqa: F811 (the imported fixture)
    server, _, tokens, _ = gated_fixture
    cookie = {"cookie": f"{ID_COOKIE}={tokens.id_token}"}
    assert httpx.get(f"{server.url}/strato-config.json", headers=cookie).json()["idTokenUrl"] == "/_strato-token"
    module = httpx.get(f"{server.url}/strato-config.js", headers=cookie).text
    assert "export async function idToken()" in module and '"X-Strato-Token": "1"' in module
