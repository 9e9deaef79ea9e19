"""The `graphql-ws` npm client (its own UMD build, installed from the npm registry at test time and
injected into the page: nothing is fetched from a CDN) in headless Debian Chromium, against `strato dev`:
a subscription gets what a mutation publishes; a bad token is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from strato.loader import load_app
from strato.testing.users import ensure_signed_in
from tests.conftest import REQUIRE_SERVICES, start_dev_server, stop
from tests.test_meetings_browser import CHROMIUM, _playwright
from tests.test_worker import wait_until

APP = "tests/apps/graphql_app.py"
GRAPHQL_WS = "graphql-ws@6.4.2"
CACHE = Path.home() / ".cache" / "strato-tests" / "graphql-ws-6.4.2"

SUBSCRIBE = """([url, token, query]) => new Promise((resolve) => {
  window.got = [];
  const client = graphqlWs.createClient({url, connectionParams: token ? {token} : {}, retryAttempts: 0, lazy: false,
    on: {connected: () => resolve("connected"), closed: (event) => resolve("closed " + event.code)}});
  client.subscribe({query}, {next: (value) => window.got.push(value),
    error: (error) => window.got.push({error: String(error && (error.code || error.message || error))}),
    complete: () => {}});
})"""


def graphql_ws_umd() -> Path:
    """graphql-ws's browser build, installed with npm into a cache directory once."""
    umd = CACHE / "node_modules" / "graphql-ws" / "umd" / "graphql-ws.min.js"
    if not umd.exists():
        if shutil.which("npm") is None:
            if REQUIRE_SERVICES:
                pytest.fail("npm is required for the graphql-ws browser test")
            pytest.skip("npm not installed")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), GRAPHQL_WS],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return umd


def test_graphql_ws_in_chromium_against_strato_dev(tmp_path, monkeypatch):
    sync_playwright = _playwright()
    umd = graphql_ws_umd()
    data = tmp_path / "data"
    server = start_dev_server(APP, data)
    monkeypatch.setenv("STRATO_DATA_DIR", str(data))
    app = load_app(APP, fresh=True)
    try:
        token = ensure_signed_in(app, "ana", [], {}, "")
        graph = app.resources[("graphql", "graphql")]
        ws_url = server.url.replace("http://", "ws://") + "/ws/graphql"
        query = 'subscription { metricUpdates(name: "gpu") { name value } }'
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
                env={**os.environ, "HOME": str(tmp_path)},
            )
            try:
                page = browser.new_page()
                page.add_script_tag(path=str(umd))
                assert page.evaluate(SUBSCRIBE, [ws_url, token, query]) == "connected"
                assert wait_until(lambda: len(graph.subscriptions.of("metricUpdates")) == 1, 20, 0.05)
                for name, value in (("cpu", 1.0), ("gpu", 4.5)):
                    answer = httpx.post(
                        f"{server.url}/graphql",
                        json={"query": f'mutation {{ record(name: "{name}", value: {value}) {{ name }} }}'},
                        headers={"authorization": f"Bearer {token}"},
                        timeout=15,
                    )
                    assert answer.status_code == 200, answer.text
                page.wait_for_function("window.got.length > 0", timeout=20_000)
                assert page.evaluate("window.got") == [{"data": {"metricUpdates": {"name": "gpu", "value": 4.5}}}]

                refused = browser.new_page()
                refused.add_script_tag(path=str(umd))
                assert refused.evaluate(SUBSCRIBE, [ws_url, "not-a-token", query]).startswith("closed")
                assert len(graph.subscriptions.of("metricUpdates")) == 1
            finally:
                browser.close()
    finally:
        app.close()
        stop(server.proc)
