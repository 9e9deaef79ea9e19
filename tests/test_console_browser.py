"""The console in headless Debian Chromium against `strato dev` (tests/apps/console_app.py): every page
renders without a script error (a screenshot of each is kept in test-artifacts/console/), a message
dead-lettered after the page loaded shows up by live push and is redriven from the page, a message typed
into the page reaches a real WebSocket client, and a table item is edited from the page (and a stale
edit is refused)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from strato.runtime.devsecret import internal_headers
from tests.browser import launch
from tests.conftest import start_dev_server, stop
from tests.test_meetings_browser import _playwright
from tests.test_worker import wait_until

APP = "tests/apps/console_app.py"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "console"
AREAS = (
    "overview",
    "requests",
    "tables",
    "buckets",
    "queues",
    "topics",
    "websockets",
    "schedules",
    "metrics",
    "alarms",
    "users",
    "workflows",
    "cost",
)


@pytest.fixture
def dev(tmp_path):
    server = start_dev_server(APP, tmp_path / "data")
    try:
        yield server
    finally:
        stop(server.proc)


@pytest.fixture
def page(tmp_path):
    sync_playwright = _playwright()
    with sync_playwright() as pw:
        browser = launch(pw, tmp_path)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 860})
            tab.errors = []  # type: ignore[attr-defined]
            tab.on("pageerror", lambda e: tab.errors.append(str(e)))
            tab.set_default_timeout(20_000)
            yield tab
        finally:
            browser.close()


def api(dev, method, path, body=None):
    response = httpx.request(
        method, f"{dev.url}/_strato/console/api{path}", json=body, headers=internal_headers(dev.data_dir), timeout=10
    )
    response.raise_for_status()
    return response.json()


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_area(page, dev, area):
    page.goto(f"{dev.url}/_strato/console#/{area}")
    page.wait_for_selector(f'[data-testid="view-{area.split("/")[0]}"]')


def test_every_page_renders_and_is_screenshotted(dev, page):
    api(dev, "PUT", "/tables/notes/item", {"item": {"user": "ana", "id": "1", "tag": "red"}})
    api(dev, "POST", "/schedules/nightly/run")  # a metric datapoint for the chart
    httpx.post(f"{dev.url}/flow", json={"ok": False}, timeout=10).raise_for_status()  # Check -> Refuse: fails
    for area in AREAS:
        open_area(page, dev, area)
        page.wait_for_function("() => !document.querySelector('main').innerText.includes('Loading…')")
        if area == "metrics":
            page.wait_for_selector('[data-testid="metric-chart"] canvas')
        if area == "workflows":
            page.wait_for_selector('[data-testid="workflow-graph"] [data-state="Check"]')
            page.click('[data-testid="executions"] tbody tr')  # the graph with this execution's path marked
            page.wait_for_selector('[data-state="Refuse"][data-mark="failed"]')
            assert page.get_attribute('[data-state="Check"]', "data-mark") == "visited"
            assert page.get_attribute('[data-state="Work"]', "data-mark") == ""
        assert not page.query_selector('[data-testid="error"]'), page.inner_text("main")
        shot(page, area)
    assert page.evaluate("document.body.dataset.live") == "on"  # the SSE stream is open
    assert page.errors == []


def test_a_dead_letter_appears_live_and_is_redriven_from_the_page(dev, page):
    open_area(page, dev, "queues/work")
    page.wait_for_selector('[data-testid="dlq-depth-work"]')
    assert page.inner_text('[data-testid="dlq-depth-work"]') == "work-dlq: 0"
    api(dev, "POST", "/queues/work/messages", {"body": "poison"})  # the consumer fails it once: to the DLQ
    # no reload and no polling by the page: the change feed pushes the new depth
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"dlq-depth-work\"]').innerText === 'work-dlq: 1'"
    )
    shot(page, "queues-dlq")
    page.click('[data-testid="redrive-work"]')
    page.wait_for_selector('[data-testid="redrive-work-result"]')
    assert page.inner_text('[data-testid="redrive-work-result"]') == "moved 1"
    # back in work, where the consumer receives it again (and, failing, dead-letters it once more)
    assert wait_until(lambda: api(dev, "GET", "/queues")[0]["dlq_depth"] == 1, 20)
    shot(page, "queues-redriven")
    assert page.errors == []


def test_send_to_a_websocket_connection_from_the_page(dev, page):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(dev.url.replace("http://", "ws://") + "/ws/live?user=ana", open_timeout=10) as client:
        open_area(page, dev, "websockets")
        page.wait_for_selector('[data-testid="connections"] tbody tr')
        assert '{"user":"ana"}' in page.inner_text('[data-testid="connections"]')
        page.fill('[data-testid="ws-message"]', '{"hello": "from the console"}')
        page.check('[data-testid^="ws-send-"] input[type="checkbox"]')
        page.click('[data-testid="ws-send"]')
        assert json.loads(client.recv(timeout=10)) == {"hello": "from the console"}
        shot(page, "websockets-sent")
        page.click('[data-testid="ws-close"]')
        with pytest.raises(ConnectionClosed):  # the server closed it: the client's next read ends
            client.recv(timeout=10)
    page.wait_for_selector("text=No open connections.")
    assert page.errors == []


def test_edit_a_table_item_from_the_page(dev, page):
    api(dev, "PUT", "/tables/notes/item", {"item": {"user": "ana", "id": "1", "tag": "red", "n": 1}})
    open_area(page, dev, "tables/notes")
    page.click('[data-testid="items"] tbody tr')
    editor = page.locator('[data-testid="item-json"]')
    item = json.loads(editor.input_value())
    assert item == {"user": "ana", "id": "1", "tag": "red", "n": 1}
    editor.fill(json.dumps({**item, "n": 2, "note": "edited in the console"}))
    page.click('[data-testid="item-save"]')
    page.wait_for_selector('[data-testid="item-editor"]', state="detached")
    got = api(dev, "POST", "/tables/notes/item", {"key": {"user": "ana", "id": "1"}})["item"]
    assert got == {"user": "ana", "id": "1", "tag": "red", "n": 2, "note": "edited in the console"}
    # open it again, let someone else change it, then save the stale copy: refused, nothing lost
    page.click('[data-testid="items"] tbody tr')
    api(dev, "PUT", "/tables/notes/item", {"item": {**got, "n": 3}})
    page.locator('[data-testid="item-json"]').fill(json.dumps({**got, "n": 99}))
    page.click('[data-testid="item-save"]')
    page.wait_for_selector('[data-testid="item-save-result"]')
    assert "409" in page.inner_text('[data-testid="item-save-result"]')
    shot(page, "tables-conflict")
    assert api(dev, "POST", "/tables/notes/item", {"key": {"user": "ana", "id": "1"}})["item"]["n"] == 3
    assert page.errors == []
