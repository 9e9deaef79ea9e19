"""Two headless Chromium users run the chat's web client (the committed bundle) against `strato dev`:
sign-up with the mailed code, a room, messages, typing, read receipts and presence, a call in which
each sees the other's fake camera, then history paging after a reload."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import start_dev_server, stop
from tests.examples.chat_client import APP, PASSWORD, outbox_code
from tests.test_meetings_browser import CHROMIUM, _playwright

MEDIA_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture()
def browser(tmp_path):
    sync_playwright = _playwright()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=MEDIA_ARGS, env={**os.environ, "HOME": str(tmp_path)}
        )
        try:
            yield chromium
        finally:
            chromium.close()


def sign_up(page, url: str, data_dir, name: str) -> tuple[str, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready]", state="attached")  # the page's module has run
    page.fill("#signup [name=name]", name)
    page.fill("#signup [name=email]", email)
    page.fill("#signup [name=password]", PASSWORD)
    page.click("#signup button")
    page.wait_for_selector("#confirm:not([hidden])")
    page.fill("#confirm [name=code]", outbox_code(data_dir, email))  # the code from the local outbox
    page.click("#confirm button")
    page.wait_for_selector("#chat:not([hidden])")
    return page.evaluate("window.chat.session.userId"), email


def see_video(page) -> None:
    """The other side's 320x240 fake camera plays here (what the call's state was, if it does not)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("document.getElementById('remote-video').videoWidth === 320", timeout=40_000)
    except PlaywrightTimeout:
        state = page.evaluate(
            "JSON.stringify({peers: window.chatCallPeers, inCall: !!window.chat.call, "
            "status: document.getElementById('status').textContent, log: window.chatLog})"
        )
        raise AssertionError(f"no remote video: {state}") from None


def test_two_users_chat_see_each_other_and_call(browser, tmp_path):
    data = tmp_path / "data"
    server = start_dev_server(APP, data)
    try:
        pages = []
        for _ in range(2):
            context = browser.new_context(permissions=["camera", "microphone"])
            pages.append(context.new_page())
        ana, bob = pages
        ana_id, _ = sign_up(ana, server.url, data, "Ana")
        bob_id, bob_email = sign_up(bob, server.url, data, "Bob")
        for page in pages:
            page.fill("#join-room [name=room]", "lobby")
            page.click("#join-room button")
            page.wait_for_selector("#title:has-text('# lobby')")
        ana.wait_for_selector(f"#members li[data-user='{bob_id}'].online")  # presence
        bob.wait_for_selector(f"#members li[data-user='{ana_id}'].online")

        ana.fill("#composer [name=text]", "hello Bob")
        ana.click("#composer button")
        bob.wait_for_selector("#messages li:has-text('hello Bob')")
        ana.wait_for_selector("#messages li.mine:has-text('hello Bob')")  # the ack
        ana.wait_for_selector("#receipts:has-text('Seen by Bob')")  # Bob's page read it
        bob.type("#composer [name=text]", "hi")
        ana.wait_for_selector("#typing:has-text('Bob typing')")
        bob.click("#composer button")
        ana.wait_for_selector("#messages li:has-text('hi')")

        ana.click("#call")
        bob.wait_for_selector("#invite:not([hidden])")
        bob.click("#accept")
        for page in pages:  # real frames from the other side's fake camera
            see_video(page)
        ana.click("#hangup")
        bob.wait_for_selector("#callbox", state="hidden")

        ana.fill("#dm [name=email]", bob_email)  # a direct message, found by email
        ana.click("#dm button")
        ana.wait_for_selector("#title:has-text('Bob')")
        ana.fill("#composer [name=text]", "psst, Bob")
        ana.click("#composer button")
        bob.wait_for_selector("#conversations li:has-text('Ana') .unread:has-text('1')")
        bob.click("#conversations li:has-text('Ana')")
        bob.wait_for_selector("#messages li:has-text('psst, Bob')")
        ana.click("#conversations li:has-text('lobby')")
        bob.click("#conversations li:has-text('lobby')")

        ana.evaluate(
            """() => { for (let n = 0; n < 60; n++) window.chat.socket.send(JSON.stringify(
                 {action: "sendMessage", room: "lobby", text: `bulk ${n}`, clientId: `bulk-${n}`})); }"""
        )
        bob.wait_for_selector("#messages li:has-text('bulk 59')")
        bob.reload()  # the session survives; the room's history comes back 50 at a time
        bob.wait_for_selector("body[data-ready]", state="attached")
        bob.wait_for_selector("#messages li:has-text('bulk 59')")
        assert bob.locator("#messages li").count() == 50
        bob.click("#older")
        bob.wait_for_selector("#messages li:has-text('hello Bob')")
        assert bob.locator("#messages li").count() == 62
        assert bob.locator("#older").is_hidden()

        bob.context.close()  # Bob's only tab goes: Ana sees him offline
        ana.wait_for_selector(f"#members li[data-user='{bob_id}'].offline")
    finally:
        stop(server.proc)
