"""Headless Chromium on a real front end: built with npm (Vite) into a temporary directory at test time,
served by `strato dev` beside the app's HTTP API and WebSocket. The page reads /strato-config.json
through strato's ES module, calls the API and the WebSocket; a deep link falls back to the SPA; on
reload the page revalidates with a 304 and the hashed bundle comes from the browser's cache."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES, start_dev_server, stop
from tests.test_meetings_browser import CHROMIUM, _playwright

FRONTEND = Path(__file__).parent / "site_frontend"

APP = """
import strato
app = strato.App("browsersite")
api = app.http()
live = app.websocket("live")
site = app.site("web", directory="frontend/dist", spa=True)

@api.get("/api/echo")
def echo(req):
    return {"echo": req.query.get("from"), "stage": app.config.stage}

@live.route("echo")
def ws_echo(msg):
    msg.reply({"echo": msg.json()["text"]})
"""


def npm_build(tmp_path: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        if REQUIRE_SERVICES:
            pytest.fail("npm is required (STRATO_REQUIRE_SERVICES=1)")
        pytest.skip("npm not installed")
    work = tmp_path / "frontend"
    shutil.copytree(FRONTEND, work, ignore=shutil.ignore_patterns("node_modules", "dist"))
    for step in ([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], [npm, "run", "build"]):
        done = subprocess.run(step, cwd=work, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(step[1:])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return work / "dist"


GATED_APP = APP.replace("app.http()", 'app.http()\npool = app.user_pool("users")').replace(
    "spa=True)", "spa=True, auth=pool)"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    sync_playwright = _playwright()
    root = tmp_path_factory.mktemp("browser-site")
    dist = npm_build(root)
    assert any(p.name.endswith(".js") for p in (dist / "assets").iterdir())
    spec = root / "browser_site_app.py"
    spec.write_text(APP)
    server = start_dev_server(str(spec), root / "data")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            try:
                yield server, browser, root
            finally:
                browser.close()
    finally:
        stop(server.proc)


def wait_done(page) -> dict:
    page.wait_for_function("window.done === true", timeout=30_000)
    return page.evaluate("window.results")


def test_the_page_reads_its_config_and_calls_the_api_and_the_websocket(served):
    server, browser, _ = served
    page = browser.new_page()
    try:
        page.goto(server.url + "/")
        results = wait_done(page)
        assert results["stage"] == "dev"
        assert results["api"] == {"echo": "page", "stage": "dev"}
        assert results["ws"] == {"echo": "hello over ws"}
    finally:
        page.close()


def test_a_deep_link_falls_back_to_the_spa(served):
    server, browser, _ = served
    page = browser.new_page()
    try:
        response = page.goto(server.url + "/projects/7/settings")
        assert response is not None and response.status == 200
        results = wait_done(page)
        assert results["route"] == "/projects/7/settings" and results["api"]["echo"] == "page"
        assert page.locator("#route").inner_text() == "/projects/7/settings"
    finally:
        page.close()


def test_reload_revalidates_the_page_and_keeps_the_bundle(served):
    server, browser, _ = served
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        wait_done(page)
        cdp = context.new_cdp_session(page)  # the network layer as DevTools sees it
        cdp.send("Network.enable")
        urls: dict[str, str] = {}
        wire: dict[str, int] = {}  # path -> the status that came over the wire (a 304, not the cached 200)

        def sent(event: dict) -> None:
            urls[event["requestId"]] = event["request"]["url"].removeprefix(server.url)

        def came(event: dict) -> None:
            wire[event["requestId"]] = event["statusCode"]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.responseReceivedExtraInfo", came)
        page.reload()
        wait_done(page)
        statuses = {urls[rid]: status for rid, status in wire.items() if rid in urls}
        assert statuses["/"] == 304, statuses  # index.html is no-cache: revalidated, not sent again
        assert statuses["/strato-config.json"] in (200, 304), statuses  # never taken from cache unchecked
        bundle = [url for url in urls.values() if url.startswith("/assets/") and url.endswith(".js")]
        assert bundle, urls  # the page did load its hashed bundle...
        assert not [url for url in bundle if url in statuses], statuses  # ...from cache, never asking the server
    finally:
        context.close()


def test_a_site_with_auth_sends_the_browser_to_sign_in_first(served):
    import strato

    _, browser, root = served
    spec = root / "gated_site_app.py"
    spec.write_text(GATED_APP)
    data = root / "gated-data"
    users = strato.App("browsersite", data_dir=data)
    users.user_pool("users").admin_create_user("ana", temporary_password="Temp0rary!pass")
    users.close()
    server = start_dev_server(str(spec), data)
    page = browser.new_page()
    try:
        page.goto(server.url + "/projects/7")
        assert page.url.startswith(server.url + "/_strato-signin?next=/projects/7")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", "Temp0rary!pass")
        page.click("button[type=submit]")
        page.fill("input[name=new_password]", "Ch0sen!password")  # the pool wants a new password first
        page.click("button[type=submit]")
        results = wait_done(page)
        assert page.url == server.url + "/projects/7" and results["route"] == "/projects/7"
        assert results["api"]["echo"] == "page" and results["ws"] == {"echo": "hello over ws"}
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["strato-id"]["httpOnly"] and cookies["strato-id"]["sameSite"] == "Lax"
        assert page.evaluate("document.cookie") == ""  # the tokens stay out of the page's reach
    finally:
        page.close()
        stop(server.proc)
