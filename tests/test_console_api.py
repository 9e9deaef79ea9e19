"""The console's JSON API in-process (Starlette's TestClient against ``build_asgi``): each endpoint on
tests/apps/console_app.py, the guard (a foreign Host, a missing or wrong secret: 403; the page is public
but only readable by this origin: no CORS header, not frameable), and bad input as a 4xx with a message."""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from strato.loader import load_app
from strato.local.server import build_asgi
from strato.runtime.devsecret import internal_headers

APP = "tests/apps/console_app.py"
API = "/_strato/console/api"


@pytest.fixture
def console(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_PROVIDER", "local")
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / "data"))
    app = load_app(APP, fresh=True)
    with TestClient(build_asgi(app, background=False), base_url="http://127.0.0.1") as client:
        client.headers.update(internal_headers(app.config.data_dir))
        client.strato_app = app  # type: ignore[attr-defined]
        yield client


# -- the guard ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/overview"),
        ("GET", "/tables"),
        ("POST", "/queues/work/purge"),
        ("GET", "/events"),
        ("PUT", "/tables/notes/item"),
        ("DELETE", "/buckets/files/object?key=a"),
    ],
)
def test_every_api_call_needs_the_secret(console, method, path):
    secret = console.headers.pop("x-strato-secret")
    assert console.request(method, API + path).status_code == 403
    wrong = console.request(method, API + path, headers={"x-strato-secret": "0" * len(secret)})
    assert wrong.status_code == 403
    assert "x-strato-secret" in wrong.json()["message"]


def test_a_foreign_host_is_refused_even_with_the_secret(console):
    # DNS rebinding: evil.example resolving to 127.0.0.1 makes the browser send Host: evil.example
    for path in ("/_strato/console", f"{API}/overview"):
        response = console.get(path, headers={"host": "evil.example"})
        assert response.status_code == 403, path
        assert "Host" in response.json()["message"]


def test_the_page_is_public_carries_the_secret_and_refuses_framing_and_cors(console):
    secret = console.headers.pop("x-strato-secret")
    page = console.get("/_strato/console", headers={"origin": "http://localhost:3000"})
    assert page.status_code == 200
    assert f'<meta name="strato-secret" content="{secret}">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert not [h for h in page.headers if h.startswith("access-control-")]
    script = page.text.split('<script type="module" src="')[1].split('"')[0]
    asset = console.get(script)
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert console.get("/_strato/console/assets/..%2Fmanifest.json").status_code in (403, 404)  # not public
    assert console.get("/_strato/console/assets/nope.js").status_code == 404


def test_a_cross_site_form_cannot_act(console):
    # a form can send the secret as neither a header nor JSON: text/plain and form bodies are refused
    response = console.post(
        f"{API}/queues/work/redrive", content=b"limit=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    preflight = console.options(
        f"{API}/queues/work/purge",
        headers={
            "origin": "http://localhost:3000",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-strato-secret",
        },
    )
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


def test_an_action_from_another_origin_is_refused_even_with_the_secret(console):
    work = console.strato_app.resources[("queue", "work")]
    work.send("keep me")
    foreign = console.post(f"{API}/queues/work/purge", headers={"origin": "http://localhost:3000"})
    assert foreign.status_code == 403 and "cross-origin" in foreign.json()["message"]
    assert work.stats().depth == 1
    own = console.post(f"{API}/queues/work/purge", headers={"origin": "http://127.0.0.1"})
    assert own.status_code == 200 and work.stats().depth == 0


# -- resources -----------------------------------------------------------------------------------------
def test_overview_lists_every_resource_with_live_state(console):
    console.strato_app.resources[("queue", "work")].send("one")
    body = console.get(f"{API}/overview").json()
    kinds = {(r["kind"], r["name"]): r for r in body["resources"]}
    assert {
        ("table", "notes"),
        ("bucket", "files"),
        ("queue", "work"),
        ("topic", "events"),
        ("websocket", "live"),
        ("user_pool", "members"),
        ("workflow", "flow"),
    } <= set(kinds)
    assert kinds[("queue", "work")]["state"]["depth"] == 1
    assert {"route": "POST /work", "handler": "submit"} in body["routes"]


# -- tables ---------------------------------------------------------------------------------------------
def test_table_put_query_index_get_and_conditional_edit_and_delete(console):
    put = console.put(
        f"{API}/tables/notes/item", json={"item": {"user": "ana", "id": "1", "tag": "red", "n": 1}, "if_absent": True}
    )
    assert put.status_code == 200, put.text
    again = console.put(f"{API}/tables/notes/item", json={"item": {"user": "ana", "id": "1"}, "if_absent": True})
    assert again.status_code == 409 and again.json()["error"] == "ConditionFailed"
    console.put(
        f"{API}/tables/notes/item",
        json={"item": {"user": "ana", "id": "2", "tag": "blue", "blob": {"$binary": "AAE="}, "big": 0.5}},
    )
    items = console.post(f"{API}/tables/notes/query", json={"partition": "ana", "op": ">=", "value": "2"}).json()
    assert items["items"] == [{"user": "ana", "id": "2", "tag": "blue", "blob": {"$binary": "AAE="}, "big": 0.5}]
    by_tag = console.post(f"{API}/tables/notes/query", json={"partition": "red", "index": "by_tag"}).json()
    assert [i["id"] for i in by_tag["items"]] == ["1"]
    assert len(console.get(f"{API}/tables/notes/scan").json()["items"]) == 2
    got = console.post(f"{API}/tables/notes/item", json={"key": {"user": "ana", "id": "1"}}).json()["item"]
    # an edit guarded by the item as loaded: succeeds once, then the stale copy is refused
    edited = console.put(f"{API}/tables/notes/item", json={"item": {**got, "n": 2}, "if_match": got})
    assert edited.status_code == 200
    stale = console.put(f"{API}/tables/notes/item", json={"item": {**got, "n": 3}, "if_match": got})
    assert stale.status_code == 409
    assert console.strato_app.resources[("table", "notes")].get(("ana", "1"))["n"] == 2
    refused = console.request(
        "DELETE", f"{API}/tables/notes/item", json={"key": {"user": "ana", "id": "1"}, "if_match": {"n": 1}}
    )
    assert refused.status_code == 409
    deleted = console.request(
        "DELETE", f"{API}/tables/notes/item", json={"key": {"user": "ana", "id": "1"}, "if_match": {"n": 2}}
    )
    assert deleted.json()["deleted"]["n"] == 2
    missing = console.post(f"{API}/tables/notes/item", json={"key": {"user": "ana", "id": "1"}})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "/tables/nope/query", {"partition": "a"}, 404, "no table named 'nope'"),
        ("POST", "/tables/notes/query", {}, 400, "'partition' is required"),
        ("POST", "/tables/notes/query", {"partition": "a", "index": "nope"}, 400, "no index 'nope'"),
        ("POST", "/tables/notes/query", {"partition": "a", "op": "~"}, 400, "op must be one of"),
        ("PUT", "/tables/notes/item", {"item": {"user": "a"}}, 400, "id"),
        ("PUT", "/tables/notes/item", {"item": "x"}, 400, "'item' must be a dict"),
        ("POST", "/tables/notes/item", {"key": {"user": "a"}}, 400, "missing ['id']"),
        ("POST", "/queues/work/redrive", {"limit": 0}, 400, "positive"),
        ("POST", "/queues/work-dlq/redrive", {}, 409, "has no DLQ"),
        ("POST", "/buckets/files/presign", {"key": "a", "method": "POST"}, 400, "GET or PUT"),
        ("POST", "/websockets/live/connections/nope/send", {"data": "{", "json": True}, 400, "not JSON"),
        ("POST", "/user-pools/members/users/nobody/enabled", {"enabled": False}, 400, "does not exist"),
        ("POST", "/schedules/nope/run", None, 404, "no schedule"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(console, method, path, body, status, says):
    response = console.request(method, API + path, json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["message"]


def test_not_json_is_refused(console):
    response = console.post(f"{API}/tables/notes/query", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/queues/work/messages?limit=0",
        "/metrics/ConsoleTest/series",
        "/metrics/nope/series?metric=x",
        "/cost?runs=x",
        "/workflows/flow/executions?status=X",
        "/workflows/flow/execution",
        "/traces/not-a-trace",
        "/requests?before=x",
        "/buckets/files/object",
    ],
)
def test_bad_queries_are_4xx(console, path):
    response = console.get(API + path)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["message"]


# -- buckets --------------------------------------------------------------------------------------------
def test_bucket_upload_list_download_presign_delete(console):
    up = console.put(
        f"{API}/buckets/files/object?key=docs/a.txt", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert up.json()["size"] == 5
    top = console.get(f"{API}/buckets/files/objects").json()
    assert top["prefixes"] == ["docs/"] and top["objects"] == []
    inside = console.get(f"{API}/buckets/files/objects?prefix=docs/").json()
    assert [o["key"] for o in inside["objects"]] == ["docs/a.txt"]
    down = console.get(f"{API}/buckets/files/object?key=docs/a.txt")
    assert down.content == b"hello" and down.headers["content-type"].startswith("text/plain")
    assert "attachment" in down.headers["content-disposition"]
    url = console.post(f"{API}/buckets/files/presign", json={"key": "docs/a.txt"}).json()["url"]
    assert "/_strato/buckets/files/docs/a.txt?" in url and "X-Amz-Signature=" in url
    netloc = url.split("/")[2]  # the signature covers the host the URL names
    fetched = console.get(url[url.index("/_strato/") :], headers={"host": netloc})
    assert fetched.content == b"hello"
    assert console.delete(f"{API}/buckets/files/object?key=docs/a.txt").status_code == 200
    assert console.get(f"{API}/buckets/files/object?key=docs/a.txt").status_code == 404


# -- queues and topics ----------------------------------------------------------------------------------
def test_queue_stats_peek_purge_and_redrive(console):
    app = console.strato_app
    work, dlq = app.resources[("queue", "work")], app.resources[("queue", "work-dlq")]
    dlq.send("from the dlq")
    assert console.post(f"{API}/queues/work/messages", json={"body": "hi"}).status_code == 200
    stats = {q["name"]: q for q in console.get(f"{API}/queues").json()}
    assert stats["work"]["depth"] == 1 and stats["work"]["dlq"] == "work-dlq" and stats["work"]["dlq_depth"] == 1
    assert stats["work-dlq"]["dead_letter_for"] == "work"
    peeked = console.get(f"{API}/queues/work/messages").json()["messages"]
    assert [(m["body"], m["state"], m["receive_count"]) for m in peeked] == [("hi", "visible", 0)]
    assert console.get(f"{API}/queues/work/messages").json()["messages"][0]["receive_count"] == 0  # peek is no receive
    assert console.post(f"{API}/queues/work/redrive", json={}).json() == {"moved": 1, "from": "work-dlq", "to": "work"}
    assert work.stats().depth == 2 and dlq.stats().depth == 0
    assert console.post(f"{API}/queues/work/purge").status_code == 200
    assert work.stats().depth == 0


def test_topics_show_subscriptions_pending_deliveries_and_publish(console):
    app = console.strato_app
    events = app.resources[("topic", "events")]
    events.subscribe_webhook("http://127.0.0.1:9/hook")  # nothing listens: the delivery fails and stays pending
    sent = console.post(f"{API}/topics/events/publish", json={"message": "hello", "subject": "s"}).json()
    topic = next(t for t in console.get(f"{API}/topics").json() if t["name"] == "events")
    assert [s["protocol"] for s in topic["subscriptions"]] == ["http"]
    assert sent["message_id"]
    # SNS delivers to a webhook once it confirms: what is pending is the confirmation, failing (nobody listens)
    assert [p["type"] for p in topic["pending"]] == ["SubscriptionConfirmation"]
    from strato.trace import SpanStore, Tracer, install

    store = SpanStore(console.strato_app.config.data_dir, capacity=100)
    previous = install(Tracer([store.add]))  # strato dev's tracer: each delivery attempt is a hop
    try:
        events.backend.deliver_due()
    finally:
        install(previous)
        store.close()
    topic = next(t for t in console.get(f"{API}/topics").json() if t["name"] == "events")
    assert topic["failing"][0]["attempts"] == 1 and topic["failing"][0]["last_error"]
    assert [(d["kind"], d["to"], d["outcome"]) for d in topic["recent"]] == [
        ("webhook", "http://127.0.0.1:9/hook", "error")
    ]
    assert topic["dlq"]["name"] == "events-webhooks-dlq"


# -- the rest ----------------------------------------------------------------------------------------
def test_schedules_metrics_alarms_cost(console):
    schedules = console.get(f"{API}/schedules").json()
    assert schedules[0]["name"] == "nightly" and schedules[0]["next"]
    assert console.post(f"{API}/schedules/nightly/run").json()["ran"] == "nightly"  # it puts jobs=1
    catalog = console.get(f"{API}/metrics").json()
    assert catalog["namespaces"][0]["metrics"] == [{"name": "jobs", "dimensions": {}}]
    series = console.get(f"{API}/metrics/ConsoleTest/series?metric=jobs&statistic=Sum&period=60").json()
    assert [p[1] for p in series["points"]] == [1.0]
    alarms = console.get(f"{API}/alarms").json()
    assert alarms[0]["name"] == "busy" and alarms[0]["state"] == "INSUFFICIENT_DATA"
    meter = console.strato_app.of_kind("metrics")[0]
    t0 = time.time()
    meter.put("jobs", 10, timestamp=t0)
    assert meter.evaluate_alarms(t0 + 120) == [("busy", "INSUFFICIENT_DATA", "ALARM")]
    meter.put("jobs", 1, timestamp=t0 + 60)
    assert meter.evaluate_alarms(t0 + 180) == [("busy", "ALARM", "OK")]
    seen = console.get(f"{API}/alarms").json()[0]  # both, though the page asked only after the second
    assert seen["state"] == "OK" and [(h["old"], h["state"]) for h in seen["history"]] == [
        ("ALARM", "OK"),
        ("INSUFFICIENT_DATA", "ALARM"),
    ]
    assert seen["history"][0]["summary"] == "Alarm updated from ALARM to OK" and seen["history_error"] is None
    cost = console.get(f"{API}/cost?runs=30").json()
    assert cost["runs_per_month"] == 30 and cost["lines"] and cost["total_monthly_usd"] > 0


def test_user_pools_list_disable_and_groups(console):
    pool = console.strato_app.of_kind("user_pool")[0]
    pool.sign_up("ana@example.com", "Passw0rd!xyz", {"email": "ana@example.com"})
    pool.create_group("admins")
    assert (
        console.post(
            f"{API}/user-pools/members/users/ana@example.com/groups", json={"group": "admins", "member": True}
        ).status_code
        == 200
    )
    listed = console.get(f"{API}/user-pools").json()[0]
    user = listed["users"][0]
    assert user["username"] == "ana@example.com" and user["enabled"] and user["groups"] == ["admins"]
    assert listed["groups"] == [{"name": "admins", "description": ""}]
    console.post(f"{API}/user-pools/members/users/ana@example.com/enabled", json={"enabled": False})
    assert pool.admin_get_user("ana@example.com")["Enabled"] is False


def test_workflow_graph_executions_and_progress(console):
    flow = console.strato_app.resources[("workflow", "flow")]
    graph = console.get(f"{API}/workflows").json()[0]["graph"]
    assert graph["start"] == "Check"
    assert {(e["from"], e["to"], e["label"]) for e in graph["edges"]} == {
        ("Check", "Work", "choice"),
        ("Check", "Refuse", "default"),
        ("Work", "Refuse", "catch"),
    }
    arn = flow.start({"ok": False})
    flow.backend.run_due()  # what the worker's loop does (the server here runs no background work)
    refused = flow.describe(arn)
    listed = console.get(f"{API}/workflows/flow/executions").json()
    assert [e["status"] for e in listed] == ["FAILED"]
    detail = console.get(f"{API}/workflows/flow/execution", params={"arn": refused.arn}).json()
    assert detail["progress"]["visited"] == ["Check", "Refuse"]
    assert detail["progress"]["failed"] == ["Refuse"]
    assert detail["history"][0]["type"] == "ExecutionStarted"


def test_websocket_listing_without_connections_and_send_to_a_gone_one(console):
    apis = console.get(f"{API}/websockets").json()
    assert apis == [
        {"name": "live", "url": apis[0]["url"], "routes": ["$connect"], "index": ["user"], "connections": []}
    ]
    gone = console.post(f"{API}/websockets/live/connections/abc/send", json={"data": "x"})
    assert 400 <= gone.status_code < 500


def test_request_log_and_trace_from_the_span_store(console):
    from strato.trace import SpanStore, Tracer

    store = SpanStore(console.strato_app.config.data_dir, capacity=100)
    tracer = Tracer([store.add])
    with tracer.span("http", "http", "POST /work") as entry:
        entry.attributes.update(method="POST", path="/work", status=202)
        with tracer.span("queue", "work", "consume"):
            pass
    store.flush()
    log = console.get(f"{API}/requests").json()["traces"]
    assert [(t["trace_id"], t["spans"], t["entry"]["handler"]) for t in log] == [(entry.trace_id, 2, "POST /work")]
    trace = console.get(f"{API}/traces/{entry.trace_id}").json()
    assert [(s["kind"], s["depth"]) for s in trace["spans"]] == [("http", 0), ("queue", 1)]
    assert console.get(f"{API}/traces/1-00000000-000000000000000000000000").status_code == 404
    store.close()


def test_changes_are_pushed_as_server_sent_events(tmp_path):
    """Against a real `strato dev`: the stream says hello, then names the area a write changed (the
    data directory's file notification), without the page asking again."""
    import httpx

    from tests.conftest import start_dev_server, stop

    server = start_dev_server(APP, tmp_path / "data")
    try:
        headers = server.secret_headers
        with httpx.stream("GET", f"{server.url}{API}/events", headers=headers, timeout=20) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(lines) == "event: hello"
            httpx.put(
                f"{server.url}{API}/tables/notes/item",
                headers=headers,
                json={"item": {"user": "ana", "id": "1"}},
                timeout=10,
            ).raise_for_status()
            started = time.monotonic()
            seen: set[str] = set()
            for line in lines:
                if line.startswith("data: ["):
                    seen |= set(json.loads(line[6:]))
                if "tables" in seen or time.monotonic() - started > 15:
                    break
            assert "tables" in seen
    finally:
        stop(server.proc)


def test_a_trace_carries_the_lines_each_hop_logged(console):
    import logging

    from strato.trace import SpanStore, Tracer

    store = SpanStore(console.strato_app.config.data_dir, capacity=100)
    tracer = Tracer([store.add])
    shop = logging.getLogger("shop")
    shop.setLevel(logging.INFO)
    with tracer.span("http", "http", "GET /a") as entry:
        shop.info("looking up %s", "ana")
        with tracer.span("queue", "work", "consume"):
            shop.warning("slow consumer")
    shop.info("outside any trace")
    store.flush()
    spans = console.get(f"{API}/traces/{entry.trace_id}").json()["spans"]
    assert [[line["message"] for line in s["logs"]] for s in spans] == [["looking up ana"], ["slow consumer"]]
    assert spans[1]["logs"][0]["level"] == "WARNING" and spans[1]["logs"][0]["logger"] == "shop"
    store.close()


def test_an_open_event_stream_does_not_hold_up_shutdown(tmp_path):
    """uvicorn waits for responses in progress on a graceful shutdown: the stream must end by itself."""
    import threading

    import httpx

    from tests.conftest import start_dev_server, stop

    server = start_dev_server(APP, tmp_path / "data")
    opened = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{server.url}{API}/events", headers=server.secret_headers, timeout=30) as s:
                for _ in s.iter_lines():
                    opened.set()
        except httpx.HTTPError:
            pass

    threading.Thread(target=listen, daemon=True).start()
    try:
        assert opened.wait(10)
        started = time.monotonic()
        server.proc.terminate()
        server.proc.wait(10)
        assert time.monotonic() - started < 5
    finally:
        stop(server.proc)


def test_the_request_log_pages_back_through_older_traces(console):
    from strato.trace import SpanStore, Tracer

    store = SpanStore(console.strato_app.config.data_dir, capacity=1000)
    tracer = Tracer([store.add])
    ids = []
    for n in range(7):
        with tracer.span("http", "http", f"GET /{n}") as entry, tracer.span("queue", "work", "consume"):
            pass
        ids.append(entry.trace_id)
    store.flush()
    first = console.get(f"{API}/requests?limit=3").json()
    assert [t["entry"]["handler"] for t in first["traces"]] == ["GET /6", "GET /5", "GET /4"]
    assert all(t["spans"] == 2 for t in first["traces"])
    second = console.get(f"{API}/requests?limit=3&before={first['next']}").json()
    assert [t["entry"]["handler"] for t in second["traces"]] == ["GET /3", "GET /2", "GET /1"]
    last = console.get(f"{API}/requests?limit=3&before={second['next']}").json()
    assert [t["entry"]["handler"] for t in last["traces"]] == ["GET /0"] and last["next"] is None
    store.close()
