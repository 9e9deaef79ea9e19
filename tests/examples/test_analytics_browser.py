"""Headless Chromium runs the analytics dashboard (the committed uPlot + graphql-ws bundle) against `strato
dev`: the PWA loads within the seed's 2 s, installs its service worker, signs in with a TOTP code from
pyotp, shows a value ingested over HTTP as it arrives through the metricUpdates subscription, and opens
offline from its service worker's shell."""

from __future__ import annotations

import time

import httpx
import pyotp
import pytest

from tests.browser import launch
from tests.conftest import start_dev_server, stop
from tests.examples.test_analytics import PASSWORD, admin_cli
from tests.test_meetings_browser import _playwright

APP = "examples/analytics/app.py"
EMAIL = "tess@example.com"


@pytest.fixture()
def served(tmp_path):
    data = tmp_path / "data"
    assert admin_cli(data, "create-user", EMAIL, "--password", PASSWORD).returncode == 0
    made = admin_cli(data, "create-application", "web-shop")
    assert made.returncode == 0, made.stderr
    server = start_dev_server(APP, data)
    yield server, made.stdout.strip()
    stop(server.proc)


def enrol_totp(base: str) -> pyotp.TOTP:
    """TOTP through the app's own endpoints, as the user's authenticator app would be set up."""
    tokens = httpx.post(f"{base}/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
    auth = {"authorization": f"Bearer {tokens['idToken']}"}
    secret = httpx.post(f"{base}/auth/totp/setup", json={"accessToken": tokens["accessToken"]}, headers=auth)
    totp = pyotp.TOTP(secret.json()["secretCode"])
    done = httpx.post(
        f"{base}/auth/totp/verify", json={"accessToken": tokens["accessToken"], "code": totp.now()}, headers=auth
    )
    assert done.status_code == 200, done.text
    return totp


def test_sign_in_with_totp_and_watch_a_live_value(served, tmp_path):
    server, key = served
    totp = enrol_totp(server.url)
    sync_playwright = _playwright()
    with sync_playwright() as pw:
        browser = launch(pw, tmp_path)
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.wait_for_function("window.dashboard && window.dashboard.phase === 'signed-out'", timeout=30_000)
            loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            assert 0 < loaded < 2000, loaded  # the seed's first-load target
            manifest = httpx.get(server.url + "/manifest.webmanifest").json()
            assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} >= {
                "192x192",
                "512x512",
            }
            assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")  # installable, offline shell

            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#login button[type=submit]")
            page.wait_for_function("window.dashboard.phase === 'mfa'", timeout=30_000)
            page.fill("#code", totp.at(time.time() + 30))  # enrolment spent this window's code
            page.click("#mfa button[type=submit]")
            page.wait_for_function("window.dashboard.phase === 'signed-in' && window.dashboard.ready", timeout=30_000)
            assert page.locator("#who").inner_text() == EMAIL
            assert page.evaluate("window.dashboard.applications") == ["web-shop"]

            page.fill("#metric", "checkout_ms, errors")  # a live chart per selected metric
            page.click("#watch")
            assert page.locator("#live-chart [data-metric]").count() == 2
            page.wait_for_function("window.dashboard.connected === true", timeout=30_000)
            point = {"applicationId": "web-shop", "metricName": "checkout_ms", "value": 123.5, "unit": "Milliseconds"}

            def arrived() -> bool:  # resend until the subscription (stored after connection_ack) is live
                httpx.post(f"{server.url}/api/metrics", json=point, headers={"x-api-key": key})
                try:
                    page.wait_for_function("window.dashboard.lastValue === 123.5", timeout=1_000)
                    return True
                except Exception:
                    return False

            assert any(arrived() for _ in range(20))
            assert page.locator("#live-value").inner_text().startswith("checkout_ms: 123.5")
            page.select_option("#granularity", "MINUTE")
            page.click("#load-history")  # history of the first selected metric: the minute with the value
            page.wait_for_function("window.dashboard.history && window.dashboard.history.length > 0", timeout=30_000)
            assert page.evaluate("window.dashboard.history[0].maximum") == 123.5
            page.screenshot(path=str(tmp_path / "dashboard.png"))
            assert (tmp_path / "dashboard.png").stat().st_size > 1000

            # the offline shell: with the network gone, the service worker still serves the page
            page.context.set_offline(True)
            page.reload()
            page.wait_for_function("window.dashboard && window.dashboard.phase === 'signed-in'", timeout=30_000)
            assert page.locator("#dashboard").is_visible()
            page.context.set_offline(False)
        finally:
            browser.close()
