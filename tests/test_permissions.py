"""Least privilege locally: an action the app did not declare is refused, as IAM would refuse it."""

from __future__ import annotations

import pytest

import strato
from strato.local.worker import Worker
from tests.test_worker import wait_until


def test_undeclared_actions_are_refused_on_every_primitive(make_app):
    app = make_app()
    reports = app.table("reports", key="id", allow=("read",))
    with pytest.raises(strato.AccessDenied, match="add 'write'"):
        reports.put({"id": "x"})
    assert reports.get("x") is None and reports.query("x").items == []
    with pytest.raises(strato.AccessDenied), app.transaction() as tx:
        tx.put(reports, {"id": "y"})
    archive = app.bucket("archive", allow=["read", "list"])
    with pytest.raises(strato.AccessDenied):
        archive.put("k", b"x")
    with pytest.raises(strato.AccessDenied):
        archive.delete("k")
    assert archive.list().objects == []
    outbox = app.queue("outbox", allow="send")
    outbox.send("hello")
    with pytest.raises(strato.AccessDenied, match="receive"):
        outbox.receive()
    with pytest.raises(strato.AccessDenied):
        outbox.purge()
    alerts = app.topic("alerts", allow=["publish"])
    alerts.publish("fire")
    with pytest.raises(strato.AccessDenied):
        alerts.subscribe_email("ops@example.com")
    sessions = app.kv("sessions", allow=["read"])
    with pytest.raises(strato.AccessDenied):
        sessions.set("k", "v")
    counters = app.cache("counters", allow=["read"])
    with pytest.raises(strato.AccessDenied):
        counters.incr("hits")
    db = app.sql("main", allow=())
    with pytest.raises(strato.AccessDenied):
        db.query("SELECT 1")
    live = app.websocket("live", allow=())
    with pytest.raises(strato.AccessDenied):
        live.send("abc", "x")


def test_access_denied_is_a_403_over_http(make_app):
    app = make_app()
    reports = app.table("reports", key="id", allow=("read",))
    api = app.http()
    api.post("/reports")(lambda req: reports.put(req.json()))
    from strato.events.apigw_http import http_event

    event = http_event(
        method="POST",
        raw_path="/reports",
        raw_query="",
        headers=[],
        body=b'{"id": "a"}',
        source_ip="1.1.1.1",
        route_key="POST /reports",
        path_parameters=None,
        domain="x",
    )
    out = app.lambda_handler(event, None)
    assert out["statusCode"] == 403 and "AccessDenied" in out["body"]


def test_a_consumer_needs_no_receive_grant(make_app):
    app = make_app()
    jobs = app.queue("jobs", allow=("send",))
    done = []
    jobs.consumer()(lambda msg: done.append(msg.body))
    jobs.send("work")
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert wait_until(lambda: done == ["work"], 5)
    finally:
        worker.stop(5)


def test_unknown_actions_are_a_declaration_error(make_app):
    with pytest.raises(strato.ConfigurationError, match="unknown action"):
        make_app().table("t", key="id", allow=("read", "destroy"))
