"""The `graphql-ws` npm client (its own UMD build, installed from the npm registry at test time and
injected into the page: nothing is fetched from a CDN) in headless Debian Chromium, against `strato dev`:
a subscription gets what a mutation publishes; a bad token is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from strato.loader import load_app
from strato.testing.users import ensure_signed_in
from tests.browser import launch
from tests.conftest import REQUIRE_SERVICES, start_dev_server, stop
from tests.test_meetings_browser import _playwright
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
            browser = launch(pw, tmp_path)
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


def test_graphiql_works_offline_in_chromium(tmp_path, monkeypatch):
    """The GraphiQL page under `strato dev` loads everything from the dev server (the browser is kept
    from reaching anything else, as a developer offline is), renders its editor and runs a query."""
    sync_playwright = _playwright()
    data = tmp_path / "data"
    server = start_dev_server(APP, data)
    monkeypatch.setenv("STRATO_DATA_DIR", str(data))
    app = load_app(APP, fresh=True)
    try:
        token = ensure_signed_in(app, "ana", [], {}, "")
        query = '{ hello(name: "offline") }'
        requested: list[str] = []
        with sync_playwright() as pw:
            browser = launch(pw, tmp_path)
            try:
                page = browser.new_page()
                failures: list[str] = []
                page.on("request", lambda request: requested.append(request.url))
                page.on("websocket", lambda ws: requested.append(ws.url))
                page.on("pageerror", lambda error: failures.append(str(error)))
                page.on("console", lambda msg: msg.type == "error" and failures.append(msg.text))
                # offline: whatever is not the dev server fails, as without a network
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_() if route.request.url.startswith(server.url + "/") else route.abort()
                    ),
                )
                # the token as a developer types it in GraphiQL's headers editor (which persists it)
                headers = json.dumps({"Authorization": f"Bearer {token}"})
                page.add_init_script(f"localStorage.setItem('graphiql:headers', {json.dumps(headers)})")
                page.goto(f"{server.url}/graphql/graphiql?q={quote(query)}")
                page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=30_000)
                assert "offline" in page.inner_text(".graphiql-query-editor")
                page.click(".graphiql-execute-button")
                page.wait_for_function(
                    "document.querySelector('.graphiql-response')?.innerText.includes('hello offline')",
                    timeout=30_000,
                )
                assert '"hello": "hello offline"' in page.inner_text(".graphiql-response")
                assert failures == []
            finally:
                browser.close()
        elsewhere = [url for url in requested if not url.startswith(server.url + "/")]
        assert elsewhere == [], f"GraphiQL fetched from outside the dev server: {elsewhere}"
        loaded = {url.split("?")[0].rsplit("/", 1)[-1] for url in requested}
        assert {"graphiql.min.js", "react-dom.production.min.js", "init.js", "graphiql.min.css"} <= loaded
    finally:
        app.close()
        stop(server.proc)
