"""With RELAY_AUTH=1 the relay's site signs users in (HttpOnly cookies) and the WebSocket wants an ID token:
headless Chromium signs in on the site's page, the web client gets its token from the site's same-origin
``/_strato-token`` endpoint, pairs with a CLI of the same user and sees its terminal; a page of another
origin in the same browser, with the same cookies, cannot read the token."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import strato
from tests.conftest import ROOT, start_dev_server, stop
from tests.examples.test_relay_browser import browser  # noqa: F401 (the fixture)

APP = "examples/relay/app.py"
PASSWORD = "Corr3ct-horse!"


def start_cli(url: str, token: str) -> subprocess.Popen:
    shared = ["bash", "--norc", "--noprofile", "-i"]
    return subprocess.Popen(
        [sys.executable, "-m", "examples.relay.cli", "--url", url, "--token", token, "--", *shared],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PS1": "$ ", "TERM": "xterm"},
    )


def test_a_signed_in_browser_pairs_and_only_its_own_page_reads_the_token(browser, tmp_path):  # noqa: F811
    data = tmp_path / "data"
    server = start_dev_server(APP, data, env={"RELAY_AUTH": "1"})
    pool_app = strato.App("relay", data_dir=data)
    cli = None
    context = browser.new_context()
    try:
        pool = pool_app.user_pool("users")
        pool.sign_up("ana", PASSWORD, {"email": "ana@example.com"})
        pool.confirm_sign_up("ana", pool.outbox()[-1]["message"].split()[-1])
        cli = start_cli(server.url.replace("http", "ws") + "/ws/relay", pool.sign_in("ana", PASSWORD).id_token)
        code = re.search(r"pairing code (\w{8})", cli.stderr.readline().decode()).group(1)

        page = context.new_page()
        page.goto(server.url + "/")
        assert "/_strato-signin" in page.url  # the site wants sign-in first
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_function("window.relay !== undefined", timeout=30_000)  # back on the page, module ran
        assert not page.evaluate("document.cookie.includes('strato-id')")  # HttpOnly: the script cannot see it
        page.fill("#code", code)
        page.click("button[type=submit]")
        page.wait_for_function("window.relay && window.relay.state === 'paired'", timeout=30_000)
        page.wait_for_function("window.relay.output.includes('$ ')", timeout=30_000)
        page.click("#terminal")
        page.keyboard.type("echo signed-in-ok")
        page.keyboard.press("Enter")
        page.wait_for_function("/[\\r\\n]signed-in-ok\\r?\\n/.test(window.relay.output)", timeout=30_000)

        # another origin (localhost is not 127.0.0.1) in the same browser: the cookies go nowhere useful
        port = server.url.rsplit(":", 1)[1]
        evil = context.new_page()
        evil.goto(f"http://localhost:{port}/_strato-signin")
        stolen = evil.evaluate(
            """(url) => Promise.all([
                 fetch(url, {credentials: "include", headers: {"X-Strato-Token": "1"}})
                   .then(r => r.text(), () => "blocked"),
                 fetch(url, {credentials: "include", mode: "no-cors"}).then(r => r.type, () => "blocked"),
               ])""",
            f"http://127.0.0.1:{port}/_strato-token",
        )
        assert stolen == ["blocked", "opaque"], stolen  # the preflight fails; no-cors gets an unreadable answer
        # and the page's own script asking without the header is refused too (a <script src> could not add it)
        assert page.evaluate("fetch('/_strato-token').then(r => r.status)") == 403
    finally:
        context.close()
        if cli is not None:
            cli.terminate()
            cli.wait(10)
        pool_app.close()
        stop(server.proc)
