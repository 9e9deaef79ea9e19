"""GraphQL under a real `strato dev`: the gql client over HTTP and over graphql-transport-ws, events
published by a mutation, by `strato worker` (another process) and by a table change stream handler."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import threading

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from gql.transport.websockets import WebsocketsTransport

from strato.loader import load_app
from strato.testing.users import ensure_signed_in
from tests.conftest import ROOT, start_dev_server, stop
from tests.test_worker import wait_until

APP = "tests/apps/graphql_app.py"
SUBSCRIBE = "subscription Watch($name: String) { metricUpdates(name: $name) { name value unit } }"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    data = tmp_path_factory.mktemp("graphql") / "data"
    server = start_dev_server(APP, data, "--no-worker")
    worker = subprocess.Popen(
        [sys.executable, "-m", "strato.cli", "worker", APP, "--data", str(data), "--poll-wait", "0.2"],
        cwd=ROOT,
        env={**os.environ, "STRATO_PROVIDER": "local", "STRATO_DATA_DIR": str(data)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert b"strato worker" in worker.stderr.readline()
    old = os.environ.get("STRATO_DATA_DIR")
    os.environ["STRATO_DATA_DIR"] = str(data)
    app = load_app(APP, fresh=True)  # the same data: tokens from its pool, the registry to poll
    token = ensure_signed_in(app, "ana", [], {}, "")
    yield server, app, token
    app.close()
    if old is None:
        os.environ.pop("STRATO_DATA_DIR", None)
    else:
        os.environ["STRATO_DATA_DIR"] = old
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err.decode()[-2000:]
    stop(server.proc)


def http_client(server, token: str | None) -> Client:
    headers = {"Authorization": token} if token else {}
    return Client(transport=RequestsHTTPTransport(url=f"{server.url}/graphql", headers=headers, timeout=15))


def ws_transport(server, token: str | None, path: str = "/ws/graphql") -> WebsocketsTransport:
    url = server.url.replace("http://", "ws://") + path
    return WebsocketsTransport(
        url=url,
        init_payload={"token": token} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        ack_timeout=15,
    )


def subscriptions(app, field: str = "metricUpdates") -> int:
    return len(app.resources[("graphql", "graphql")].subscriptions.of(field))


def test_queries_and_mutations_over_http_with_gql(service):
    server, _, token = service
    with http_client(server, token) as session:
        assert session.execute(GraphQLRequest("{ hello }")) == {"hello": "hello world"}
        assert session.execute(GraphQLRequest("{ later }")) == {"later": "async resolvers run too"}
        request = GraphQLRequest("query($n: String!) { hello(name: $n) whoami }", variable_values={"n": "ana"})
        answer = session.execute(request)
        assert answer["hello"] == "hello ana" and answer["whoami"]  # the claims reached the resolver
        recorded = session.execute(GraphQLRequest('mutation { record(name: "cpu", value: 0.5) { name value } }'))
        assert recorded == {"record": {"name": "cpu", "value": 0.5}}
        assert session.execute(GraphQLRequest('{ metric(name: "cpu") { value } }')) == {"metric": {"value": 0.5}}
        with pytest.raises(TransportQueryError, match="resolver failed"):
            session.execute(GraphQLRequest("{ boom }"))


def test_http_without_a_token_is_refused(service):
    server, _, _ = service
    response = httpx.post(f"{server.url}/graphql", json={"query": "{ hello }"})
    assert response.status_code == 401


def collect(
    server, token, variables, count: int, trigger, app, *, query=SUBSCRIBE, field="metricUpdates", transport=None
) -> list[dict]:
    """Subscribe with gql over graphql-transport-ws, run ``trigger`` once the subscription is stored,
    and return the first ``count`` results once the subscription has left the registry again."""

    async def run() -> list[dict]:
        got: list[dict] = []
        before = subscriptions(app, field)
        async with Client(transport=transport or ws_transport(server, token)) as session:
            stream = session.subscribe(GraphQLRequest(query, variable_values=variables))
            first = asyncio.ensure_future(stream.__anext__())
            stored = await asyncio.to_thread(wait_until, lambda: subscriptions(app, field) > before, 20, 0.05)
            assert stored, "the subscription never reached the registry"
            threading.Thread(target=trigger, daemon=True).start()
            got.append(await asyncio.wait_for(first, 20))
            while len(got) < count:
                got.append(await asyncio.wait_for(stream.__anext__(), 20))
            await stream.aclose()
        # the client's `complete` (and its disconnect) take the subscription out of the registry: wait for
        # that, or the next test's count could start from a stale entry removed after it subscribed
        gone = await asyncio.to_thread(wait_until, lambda: subscriptions(app, field) <= before, 20, 0.05)
        assert gone, "the completed subscription stayed in the registry"
        return got

    return asyncio.run(run())


def test_subscription_gets_what_a_mutation_publishes_filtered_by_its_argument(service):
    server, app, token = service

    def mutate() -> None:
        with http_client(server, token) as session:
            for name, value in (("disk", 1.0), ("cpu", 2.0), ("cpu", 3.0)):
                session.execute(
                    GraphQLRequest(
                        "mutation($n: String!, $v: Float!) { record(name: $n, value: $v) { name } }",
                        variable_values={"n": name, "v": value},
                    )
                )

    got = collect(server, token, {"name": "cpu"}, 2, mutate, app)
    assert got == [
        {"metricUpdates": {"name": "cpu", "value": 2.0, "unit": "mutation"}},
        {"metricUpdates": {"name": "cpu", "value": 3.0, "unit": "mutation"}},
    ]


def test_subscription_gets_an_event_published_by_strato_worker(service):
    server, app, token = service
    inbox = app.resources[("queue", "readings-in")]
    got = collect(server, token, None, 1, lambda: inbox.send({"name": "mem", "value": 7}), app)
    assert got == [{"metricUpdates": {"name": "mem", "value": 7.0, "unit": "worker"}}]


def test_subscription_gets_an_event_published_by_a_change_stream_handler(service):
    server, app, token = service
    table = app.resources[("table", "readings")]
    got = collect(
        server, token, {"name": "net"}, 1, lambda: table.put({"name": "net", "value": "1", "stream": True}), app
    )
    assert got == [{"metricUpdates": {"name": "net", "value": 1.0, "unit": "stream"}}]


def test_a_client_that_closes_is_removed(service):
    server, app, token = service
    before = subscriptions(app)

    async def subscribe_then_leave() -> None:
        async with Client(transport=ws_transport(server, token)) as session:
            stream = session.subscribe(GraphQLRequest(SUBSCRIBE))
            pending = asyncio.ensure_future(stream.__anext__())
            assert await asyncio.to_thread(wait_until, lambda: subscriptions(app) > before, 20, 0.05)
            pending.cancel()

    asyncio.run(subscribe_then_leave())
    assert wait_until(lambda: subscriptions(app) == before, 20, 0.05)


def test_an_unauthenticated_subscribe_is_refused(service):
    server, app, _ = service
    before = subscriptions(app)
    for token in (None, "not-a-token"):

        async def attempt(token=token) -> None:
            async with Client(transport=ws_transport(server, token)) as session:
                async for _ in session.subscribe(GraphQLRequest(SUBSCRIBE)):
                    pass

        with pytest.raises(Exception):  # noqa: B017 - the connection is closed before connection_ack
            asyncio.run(attempt())
    assert subscriptions(app) == before


def test_queries_over_the_websocket(service):
    server, _, token = service

    async def run() -> dict:
        async with Client(transport=ws_transport(server, token)) as session:
            return await session.execute(GraphQLRequest('{ hello(name: "ws") }'))

    assert asyncio.run(run()) == {"hello": "hello ws"}


def test_a_batch_of_posts_from_another_process_arrives_in_order(service):
    """``send_batch`` from a process other than the dev server's (how a publish from `strato worker` posts
    all its ``next`` messages): one request, each message to its connections, in order."""
    from websockets.sync.client import connect

    server, app, token = service
    ws_api = app.resources[("websocket", "graphql")]
    before = {c.id for c in ws_api.connections()}
    url = server.url.replace("http://", "ws://") + "/ws/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=15) as client:
        client.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(client.recv(timeout=15)) == {"type": "connection_ack"}
        [mine] = [c.id for c in ws_api.connections() if c.id not in before]
        assert ws_api.send_batch([([mine], {"n": 1}), ([mine], {"n": 2}), ([mine], "three")]) == []
        assert [client.recv(timeout=15) for _ in range(3)] == ['{"n":1}', '{"n":2}', "three"]


def test_subscriptions_at_the_graphql_path_itself(service):
    """graphql-ws clients take one URL: an upgrade at /graphql reaches the subscription WebSocket API."""
    server, _, token = service

    async def run() -> dict:
        async with Client(transport=ws_transport(server, token, "/graphql")) as session:
            return await session.execute(GraphQLRequest('{ hello(name: "one url") }'))

    assert asyncio.run(run()) == {"hello": "hello one url"}


def test_graphiql_page_only_under_strato_dev(service):
    server, _, _ = service
    page = httpx.get(f"{server.url}/graphql/graphiql")
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "/ws/graphql" in page.text


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ("{ hello ", None, "Syntax Error"),
        ("{ nope }", None, "Cannot query field 'nope'"),
        ("{ nested " + "{ child " * 10 + "{ level" + " }" * 12, None, "depth of 12"),
        ("query($n: String!) { hello(name: $n) }", {"n": 5}, "String cannot represent"),
    ],
)
def test_bad_input_over_the_wire_is_a_graphql_error(service, query, variables, message):
    server, _, token = service
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400 and message in response.json()["errors"][0]["message"]
    with http_client(server, token) as session, pytest.raises(Exception, match=message.split("'")[0]):
        session.execute(GraphQLRequest(query, variable_values=variables))


def test_graphiql_for_a_browser_at_the_endpoint_itself(service):
    server, _, token = service
    page = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html", "authorization": f"Bearer {token}"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def _page_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_graphiql_page_loads_only_files_strato_serves(service):
    server, _, _ = service
    page = httpx.get(f"{server.url}/graphql/graphiql")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert not re.search(r"https?://", page.text), "the page must not load anything from another origin"
    assets = _page_assets(page.text)
    assert [a.split("?")[0].rsplit("/", 1)[1] for a in assets] == [
        "graphiql.min.css",
        "plugin-explorer.css",
        "page.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "plugin-explorer.umd.js",
        "init.js",
    ]
    integrity = dict(re.findall(r'(?:src|href)="([^"]+)"[^>]*integrity="([^"]+)"', page.text))
    assert len(integrity) == 6  # every vendored file; strato's own page.css and init.js are not pinned
    for url in assets:
        assert url.startswith("/graphql/graphiql/assets/")
        answer = httpx.get(server.url + html.unescape(url))
        assert answer.status_code == 200, url
        kind = "text/css" if ".css" in url else "text/javascript"
        assert answer.headers["content-type"].startswith(kind)
        if url in integrity:  # byte for byte the npm file, as the SRI hash the browser checks says
            digest = base64.b64encode(hashlib.sha384(answer.content).digest()).decode()
            assert integrity[url] == f"sha384-{digest}"
            assert "max-age=31536000" in answer.headers["cache-control"] and "?v=" in url
        else:
            assert answer.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "name", ["nope.js", "assets.json", "LICENSE.graphiql", "..%2Fgraphiql.py", "graphiql.min.js.map"]
)
def test_graphiql_serves_only_the_files_the_page_loads(service, name):
    server, _, _ = service
    answer = httpx.get(f"{server.url}/graphql/graphiql/assets/{name}")
    assert answer.status_code == 404 and "graphiql.min.js" in answer.json()["message"]
