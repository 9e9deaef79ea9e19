"""The test kit (strato.testing) on the app in tests/apps/kit_app.py: the in-process client, sign-in,
WebSocket clients, drain(), outbox, metrics and usage, as a user's tests would use them."""

from __future__ import annotations

import pytest

from strato.testing import Rejected

pytestmark = pytest.mark.strato_app("tests/apps/kit_app.py")


def test_client_goes_through_the_lambda_dispatcher(client):
    assert client.get("/items/a").status == 404
    assert client.get("/items/a").json() == {"message": "no item a"}
    assert client.put("/items/a", json={"n": 1}).status == 204
    got = client.get("/items/a")
    assert got.status == 200 and got.json() == {"id": "a", "n": 1}
    assert got.headers["Content-Type"].startswith("application/json")
    assert client.get("/nowhere").status == 404
    assert client.delete("/items/a").status == 405  # API Gateway's answer for a path without that method


def test_each_test_gets_a_fresh_data_directory(client, strato_app):
    assert client.get("/items/a").status == 404  # what the test above wrote is not here
    assert strato_app.app.config.data_dir.name.startswith("app")


def test_sign_in_sends_the_users_token(client):
    assert client.get("/me").status == 401
    client.sign_in("ana")
    assert client.get("/me").json() == {"user": "ana", "groups": []}
    assert client.get("/admin").status == 403
    client.sign_in("root", groups=["admins"])
    assert client.get("/admin").json() == {"ok": True}
    client.sign_in("ana")  # signing in again reuses the user
    assert client.get("/me").json()["user"] == "ana"
    client.sign_out()
    assert client.get("/me").status == 401


def test_drain_runs_the_whole_chain_in_this_thread(client, drain, outbox, strato_app):
    assert client.post("/jobs", json={"n": 1, "kind": "fast"}).status == 202
    assert outbox.queue("jobs")[0].json() == {"n": 1, "kind": "fast"}
    assert outbox.topic("done") == []  # nothing runs until the test says so
    handled = drain()
    assert handled >= 2  # the message, then the topic delivery
    sent = outbox.topic("done")
    assert [s.json() for s in sent] == [{"n": 1, "kind": "fast"}] and sent[0].attributes == {"kind": "fast"}
    log = strato_app.app.resources[("table", "log")]
    assert log.get("done-1") == {"id": "done-1", "via": "topic"}
    assert drain() == 0


def test_drain_runs_stream_and_bucket_handlers(client, drain, strato_app):
    client.put("/items/x", json={"n": 1})
    strato_app.app.resources[("bucket", "uploads")].put("photo.png", b"...")
    drain()
    log = strato_app.app.resources[("table", "log")]
    assert log.get("item-x") == {"id": "item-x", "via": "stream"}
    assert log.get("upload-photo.png") == {"id": "upload-photo.png", "via": "bucket"}


def test_drain_reraises_the_first_handler_exception_with_its_traceback(client, drain):
    client.post("/jobs", json={"n": 7, "fail": True})
    with pytest.raises(RuntimeError, match="job 7 asked to fail") as raised:
        drain()
    assert any(frame.name == "work" for frame in raised.traceback)  # the handler's own frame


def test_websocket_connect_needs_a_token(client):
    with pytest.raises(Rejected) as rejected:
        client.websocket("live")
    assert rejected.value.status == 401
    with pytest.raises(Rejected):
        client.websocket("live", token="not-a-jwt")


def test_websocket_round_trip_and_broadcast_from_a_consumer(client, drain, outbox):
    client.sign_in("ana")
    with client.websocket("live") as ws:
        ws.send({"action": "echo", "text": "hi"})
        assert ws.receive_json() == {"echo": "hi", "user": "ana"}
        ws.send({"action": "boom"})
        assert ws.receive_json()["message"] == "Internal server error"  # API Gateway's error frame
        ws.send({"action": "nope"})  # no route and no $default
        assert ws.receive_json()["message"] == "Forbidden"
        client.post("/jobs", json={"n": 3})
        drain()
        assert ws.receive_json() == {"done": 3}
        assert outbox.websocket("live", to=ws.id)[-1].json() == {"done": 3}
        with pytest.raises(TimeoutError):
            ws.receive(timeout=0.01)
    assert ws.closed and ws.close_code == 1000


def test_a_closed_connection_is_gone_for_senders(client, strato_app):
    client.sign_in("bo")
    ws = client.websocket("live")
    live = strato_app.app.resources[("websocket", "live")]
    live.send(ws.id, {"hello": 1})
    assert ws.receive_json() == {"hello": 1}
    live.close(ws.id)  # DeleteConnection: the client is disconnected
    assert ws.closed
    from strato import GoneError

    with pytest.raises(GoneError):
        live.send(ws.id, {"again": 1})


def test_metrics_and_usage(client, drain, metrics, usage):
    for n in range(3):
        client.post("/jobs", json={"n": n, "kind": "a" if n else "b"})
    drain()
    assert metrics.total("JobsDone") == 3
    assert metrics.values("JobsDone", dimensions={"kind": "a"}) == [1, 1]
    assert metrics.points(namespace="Other") == []
    assert usage["apigateway", "http_requests"] == 3
    assert usage["lambda", "invocations"] >= 3 + 1 + 3  # the requests, the consumer's batches, the topic handler
    assert usage["sqs", "requests"] >= 3
    assert usage.cost(runs_per_month=1000) > 0


def test_outbox_mail_reads_what_the_pool_would_have_sent(strato_app, outbox):
    pool = strato_app.app.resources[("user_pool", "users")]
    pool.sign_up("eve", "Passw0rd!long", {"email": "eve@example.com"})
    mail = outbox.mail()[-1]
    assert mail["destination"] == "eve@example.com" and "verification code" in mail["message"]


@pytest.mark.strato_providers("local", "aws")
def test_the_same_test_on_each_provider(client, drain, outbox, strato_provider, strato_app):
    assert strato_app.app.config.provider == strato_provider
    assert client.put("/items/p", json={"on": strato_provider}).status == 204
    assert client.get("/items/p").json() == {"id": "p", "on": strato_provider}
    client.post("/jobs", json={"n": 5})
    assert drain() >= 1  # the consumer polled SQS (moto) or the local queue
    assert [s.json() for s in outbox.topic("done")] == [{"n": 5}]


def test_time_moves_only_when_the_test_says_so(client, clock, drain, strato_app):
    import time

    import strato

    start = clock.now()
    time.sleep(0.05)  # real time passes; strato's does not
    assert clock.now() == strato.now() == start
    client.post("/later", json={"n": 9})
    assert drain() == 0  # the message is delayed 60 s
    clock.advance(59)
    assert drain() == 0
    clock.advance(1)
    assert drain() >= 1


def test_advance_fires_each_schedule_slot_at_its_time(clock, strato_app):
    import time

    log = strato_app.app.resources[("table", "log")]
    start = clock.now()
    done = clock.advance(3 * 3600)
    assert done is not None and done.fired == 3
    for hour in (1, 2, 3):  # each event carries its slot's time (EventBridge's "time", whole seconds)
        slot = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + hour * 3600))
        assert log.get(f"tick-{slot}") == {"id": f"tick-{slot}", "via": "schedule"}
    assert clock.advance(60).fired == 0
