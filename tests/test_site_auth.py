"""auth=pool on a site under a real `strato dev`: pages need a signed-in user; the sign-in page takes a
password, answers the new-password and TOTP challenges, and sets HttpOnly cookies; an expired ID token is
refreshed; a tampered cookie, another pool's token and a foreign `next` never get through."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest

import strato
from strato.deploy.synth import synth
from tests.conftest import start_dev_server, stop

APP = """
import strato
app = strato.App("gated")
pool = app.user_pool("users", mfa="optional")
site = app.site("web", directory="dist", spa=True, auth=pool)
"""
TEMPORARY, CHOSEN = "Temp0rary!pass", "Ch0sen!password"


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gated")
    (root / "dist").mkdir()
    (root / "dist" / "index.html").write_text("<h1>members only</h1>")
    (root / "gated_app.py").write_text(APP)
    app = strato.App("gated", data_dir=root / "data")  # the same pool the server opens: users made here
    pool = app.user_pool("users", mfa="optional")
    pool.admin_create_user("ana", temporary_password=TEMPORARY)
    server = start_dev_server(str(root / "gated_app.py"), root / "data")
    yield server, pool, root
    stop(server.proc)
    app.close()


def client(server, **cookies: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, cookies=cookies)


def sign_in_with_new_password(server) -> httpx.Client:
    browser = client(server)
    first = browser.post("/_strato-signin", data={"username": "ana", "password": TEMPORARY, "next": "/deep/link"})
    if first.status_code == 401:  # an earlier test already chose the password
        done = browser.post("/_strato-signin", data={"username": "ana", "password": CHOSEN, "next": "/deep/link"})
    else:
        assert first.status_code == 200 and 'name="new_password"' in first.text
        state = hidden(first.text)
        assert state["challenge"] == "NEW_PASSWORD_REQUIRED" and state["next"] == "/deep/link"
        done = browser.post("/_strato-signin", data={**state, "new_password": CHOSEN})
    assert done.status_code == 303 and done.headers["location"] == "/deep/link", done.text
    set_cookies = done.headers.get_list("set-cookie")
    assert any(c.startswith("strato-id=") and "HttpOnly" in c and "SameSite=Lax" in c for c in set_cookies)
    assert any(c.startswith("strato-refresh=") for c in set_cookies)
    assert not any("Secure" in c for c in set_cookies)  # plain HTTP locally; Secure over TLS
    return browser


def test_pages_redirect_to_sign_in(gated):
    server, _, _ = gated
    anonymous = client(server)
    gone = anonymous.get("/deep/link?tab=2")
    assert gone.status_code == 302 and gone.headers["location"] == "/_strato-signin?next=/deep/link%3Ftab%3D2"
    assert anonymous.get("/strato-config.json").status_code == 302  # the configuration too
    form = anonymous.get(gone.headers["location"])
    assert (
        form.status_code == 200 and 'name="password"' in form.text and hidden(form.text)["next"] == "/deep/link?tab=2"
    )


def test_a_wrong_password_stays_on_the_page(gated):
    server, _, _ = gated
    wrong = client(server).post("/_strato-signin", data={"username": "ana", "password": "nope-nope-1A!"})
    assert wrong.status_code == 401 and 'id="error"' in wrong.text and "set-cookie" not in wrong.headers


def test_signing_in_sets_cookies_and_opens_the_site(gated):
    server, _, _ = gated
    browser = sign_in_with_new_password(server)
    page = browser.get("/deep/link")
    assert page.status_code == 200 and page.text == "<h1>members only</h1>"


def test_a_tampered_or_foreign_token_goes_back_to_sign_in(gated, tmp_path):
    server, _, _ = gated
    browser = sign_in_with_new_password(server)
    token = browser.cookies["strato-id"]
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    assert client(server, **{"strato-id": tampered}).get("/").status_code == 302
    other_app = strato.App("elsewhere", data_dir=tmp_path / "other")
    other = other_app.user_pool("users")
    other.admin_create_user("bo", temporary_password=TEMPORARY)
    challenge = other.sign_in("bo", TEMPORARY)
    foreign = other.respond(challenge, new_password=CHOSEN)
    assert client(server, **{"strato-id": foreign.id_token}).get("/").status_code == 302
    other_app.close()


def test_an_expired_id_token_is_refreshed(gated):
    server, _, _ = gated
    browser = sign_in_with_new_password(server)
    refresh = browser.cookies["strato-refresh"]
    back = client(server, **{"strato-id": "expired.or.garbage", "strato-refresh": refresh}).get("/")
    assert back.status_code == 302 and back.headers["location"] == "/"  # the same URL, as the edge does
    assert back.headers["set-cookie"].startswith("strato-id=")
    token = back.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    page = client(server, **{"strato-id": token}).get("/")
    assert page.status_code == 200 and page.text == "<h1>members only</h1>"
    stale = client(server, **{"strato-refresh": "not-a-refresh-token"}).get("/")
    assert stale.status_code == 302


def test_totp_is_asked_for_when_the_user_has_it(gated):
    server, pool, _ = gated
    pool.admin_create_user("cy", temporary_password=TEMPORARY)
    tokens = pool.respond(pool.sign_in("cy", TEMPORARY), new_password=CHOSEN)
    secret = pool.setup_totp(tokens.access_token)
    pool.confirm_totp(tokens.access_token, pyotp.TOTP(secret).now())
    pool.set_mfa(tokens.access_token, True)
    browser = client(server)
    first = browser.post("/_strato-signin", data={"username": "cy", "password": CHOSEN, "next": "/"})
    assert first.status_code == 200 and 'name="code"' in first.text
    state = hidden(first.text)
    assert state["challenge"] == "SOFTWARE_TOKEN_MFA" and state["username"] == "cy"
    assert browser.post("/_strato-signin", data={**state, "code": "000000"}).status_code == 401
    fresh = browser.post("/_strato-signin", data={"username": "cy", "password": CHOSEN, "next": "/"})
    done = browser.post("/_strato-signin", data={**hidden(fresh.text), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303 and browser.get("/").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", ""])
def test_next_never_leaves_the_site(gated, target):
    server, _, _ = gated
    browser = sign_in_with_new_password(server)
    browser.cookies.clear()
    done = browser.post("/_strato-signin", data={"username": "ana", "password": CHOSEN, "next": target})
    assert done.status_code == 303 and done.headers["location"] == "/"


def test_a_site_with_auth_deploys_with_the_edge_check(gated):
    _, _, root = gated
    namespace: dict = {"__file__": str(root / "gated_app.py")}
    exec(compile((root / "gated_app.py").read_text(), "gated_app.py", "exec"), namespace)
    template = synth(namespace["app"], region="us-east-1")
    namespace["app"].close()
    default = template["Resources"]["WebSiteDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert default["LambdaFunctionAssociations"][0]["EventType"] == "viewer-request"
    assert "FunctionAssociations" not in default  # one viewer-request function per behaviour: the gate
