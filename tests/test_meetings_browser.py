"""Two headless Chromium tabs really call each other through a local meeting: fake camera and
microphone, WebRTC over loopback, signalled by strato dev; video frames and data-channel text arrive."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import REQUIRE_SERVICES, start_dev_server, stop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CALL_APP = '''
import strato
app = strato.App("callpage")
calls = app.meetings("calls")
api = app.http()

PAGE = """<!doctype html><html><body><video id="remote" autoplay muted playsinline></video><script type="module">
import { StratoMeeting } from "/_strato/meetings/client.js";
const params = new URLSearchParams(location.search);
window.received = [];
window.start = async () => {
  const info = await (await fetch(`/meetings/${params.get("meeting")}/attendees`, {method: "POST",
    headers: {"content-type": "application/json"}, body: JSON.stringify({user: params.get("user")})})).json();
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
  window.call = new StratoMeeting(info, {stream,
    onTrack: (id, remote) => { document.getElementById("remote").srcObject = remote; },
    onMessage: (id, text) => window.received.push(text),
    onPeers: (states) => { window.peers = states; }});
  await window.call.join();
  return info.Attendee.AttendeeId;
};
</script></body></html>"""

@api.get("/call")
def page(req):
    return 200, strato.Response(PAGE, headers={"content-type": "text/html"})

@api.post("/meetings")
def create(req):
    return 201, calls.create_meeting(req.json()["name"])

@api.post("/meetings/{meeting_id}/attendees")
def join(req, meeting_id):
    return 201, calls.join_info(meeting_id, req.json()["user"])
'''


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or CHROMIUM is None:
        if REQUIRE_SERVICES:
            pytest.fail("playwright and Debian chromium are required (STRATO_REQUIRE_SERVICES=1)")
        pytest.skip("playwright or chromium not installed")
    return sync_playwright


def test_two_browser_tabs_call_each_other(tmp_path):
    sync_playwright = _playwright()
    import httpx

    spec = tmp_path / "call_app.py"
    spec.write_text(CALL_APP)
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        meeting = httpx.post(f"{server.url}/meetings", json={"name": "pair-call"}).json()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-sync",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                ],
                env={**os.environ, "HOME": str(tmp_path)},
            )
            try:
                context = browser.new_context(permissions=["camera", "microphone"])
                tabs = [context.new_page(), context.new_page()]
                ids = []
                for tab, user in zip(tabs, ("user-ann", "user-bob"), strict=True):
                    tab.goto(f"{server.url}/call?meeting={meeting['MeetingId']}&user={user}")
                    ids.append(tab.evaluate("window.start()"))
                for tab, other in zip(tabs, reversed(ids), strict=True):
                    tab.wait_for_function(
                        f"window.peers && window.peers['{other}'] && "
                        f"window.peers['{other}'].connection === 'connected' && "
                        f"window.peers['{other}'].channel === 'open'",
                        timeout=20_000,
                    )
                for tab in tabs:  # real frames from the other tab's fake camera
                    tab.wait_for_function("document.getElementById('remote').videoWidth === 320", timeout=20_000)
                tabs[0].evaluate("window.call.send('hello from ann')")
                tabs[1].evaluate("window.call.send('hi ann, bob here')")
                tabs[1].wait_for_function("window.received.includes('hello from ann')", timeout=10_000)
                tabs[0].wait_for_function("window.received.includes('hi ann, bob here')", timeout=10_000)
                tabs[1].evaluate("window.call.leave()")
                tabs[0].wait_for_function(f"!window.peers['{ids[1]}']", timeout=10_000)
            finally:
                browser.close()
    finally:
        stop(server.proc)
