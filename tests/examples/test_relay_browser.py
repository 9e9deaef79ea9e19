"""Headless Chromium runs the relay's web client (the committed xterm.js bundle, WebCrypto) against
`strato dev` while the CLI runs bash in a PTY: the page pairs with the code, types, sees the output."""

from __future__ import annotations

import re

import pytest

from tests.conftest import start_dev_server, stop
from tests.examples.test_relay_cli import start_cli
from tests.test_meetings_browser import CHROMIUM, _playwright

APP = "examples/relay/app.py"


@pytest.fixture()
def browser():
    sync_playwright = _playwright()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_browser_pairs_types_and_sees_the_output(browser, tmp_path):
    server = start_dev_server(APP, tmp_path / "data")
    cli = start_cli(server.url.replace("http", "ws") + "/ws/relay")
    page = browser.new_page()
    try:
        code = re.search(r"pairing code (\w{8})", cli.stderr.readline().decode()).group(1)
        link = re.search(r"open (\S+)", cli.stderr.readline().decode()).group(1)
        page.goto(server.url + "/")
        page.wait_for_function("window.relay !== undefined", timeout=30_000)  # the module ran (config read)
        page.fill("#code", code.lower())
        page.click("button[type=submit]")
        page.wait_for_function("window.relay && window.relay.state === 'paired'", timeout=30_000)
        page.wait_for_function(
            "window.relay && window.relay.output.includes('$ ')", timeout=30_000
        )  # the prompt (scrollback)
        page.click("#terminal")
        page.keyboard.type("echo relay-ok")
        page.keyboard.press("Enter")
        page.wait_for_function("/[\\r\\n]relay-ok\\r?\\n/.test(window.relay.output)", timeout=30_000)
        # xterm.js parses writes in chunks and paints on animation frames: under load the screen trails
        # the received output, so wait for the rows themselves rather than reading them once
        page.wait_for_function(
            "/^relay-ok\\s*$/m.test(document.querySelector('.xterm-rows').innerText)", timeout=30_000
        )
        rows = page.locator(".xterm-rows").inner_text()
        assert "$ echo relay-ok" in rows and re.search(r"^relay-ok\s*$", rows, re.M), rows
        # a second viewer opens the session link the first one shows, and sees the same terminal
        link_text = page.locator("#status").inner_text()
        second = browser.new_page()
        try:
            second.goto(re.search(r"(http\S+\?session=\w+)", link_text).group(1))
            second.wait_for_function("window.relay && window.relay.output.includes('relay-ok')", timeout=30_000)
            page.keyboard.type("echo both-$((2*21))")
            page.keyboard.press("Enter")
            second.wait_for_function("window.relay && window.relay.output.includes('both-42')", timeout=30_000)
        finally:
            second.close()
        # the code was single use: the link the CLI printed no longer pairs a second browser
        other = browser.new_page()
        try:
            other.goto(link)
            other.wait_for_function("window.relay && window.relay.state === 'refused'", timeout=30_000)
            assert other.locator("#status").inner_text() == "wrong or expired pairing code"
        finally:
            other.close()
    finally:
        page.close()
        cli.terminate()
        cli.wait(10)
        stop(server.proc)
