"""Local topic delivery: handlers with retries and DLQs, signed webhooks, email confirmation, Lambda path."""

from __future__ import annotations

import http.server
import json
import threading
import time

import httpx
import pytest

import strato
from strato.local.worker import Worker
from strato.topic.envelope import SignatureError, verify
from tests.test_worker import wait_until


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("STRATO_DELIVERY_BACKOFF", "0.05")
    return make_app("local")


class Receiver:
    """A real HTTP endpoint on loopback that records what SNS-style deliveries it gets."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        self.always_fail = always_fail
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                failing = receiver.always_fail or len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_handler_subscription_retries_then_dead_letters(app):
    events = app.topic("events")
    calls: list[tuple[str, int]] = []

    @events.subscribe(filter={"status": ["done", "broken"]}, max_attempts=3)
    def notify(note):
        calls.append((note.json()["id"], len(calls)))
        assert note.attributes["status"] in ("done", "broken")
        assert note.subject == "job" and note.topic_arn.endswith(events.physical_name)
        if note.attributes["status"] == "broken":
            raise RuntimeError("cannot notify")

    events.publish({"id": "a"}, attributes={"status": "done"}, subject="job")
    events.publish({"id": "b"}, attributes={"status": "broken"}, subject="job")
    events.publish({"id": "c"}, attributes={"status": "queued"}, subject="job")
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert events.wait_idle(10)
    finally:
        worker.stop(5)
    assert [c[0] for c in calls].count("a") == 1 and [c[0] for c in calls].count("b") == 3
    assert "c" not in [c[0] for c in calls]
    dlq = app.resources[("queue", "events-notify-dlq")]
    [dead] = dlq.receive(10)
    assert json.loads(json.loads(dead.body)["Message"]) == {"id": "b"}
    assert "cannot notify" in dead.attributes["error"]


def test_webhook_handshake_signature_and_delivery(app, receiver):
    hook = receiver()
    events = app.topic("events")
    sub = events.subscribe_webhook(hook.url, filter={"kind": ["alert"]})
    assert sub.status == "pending"
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert wait_until(lambda: len(hook.requests) == 1, 10)
        headers, body = hook.requests[0]
        cert = (app.config.data_dir / "sns-signing-cert.pem").read_bytes()
        confirmation = verify(body, certificate=cert)
        assert confirmation["Type"] == "SubscriptionConfirmation"
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        events.publish("before confirmation", attributes={"kind": "alert"})  # not delivered: pending
        assert events.confirm(confirmation["Token"]).status == "confirmed"
        events.publish("ignored", attributes={"kind": "info"})
        events.publish("the alert", attributes={"kind": "alert"})
        assert wait_until(lambda: len(hook.requests) == 2, 10)
        assert events.wait_idle(5)
    finally:
        worker.stop(5)
    headers, body = hook.requests[1]
    message = verify(body, certificate=cert)
    assert message["Message"] == "the alert" and message["Type"] == "Notification"
    assert headers["x-amz-sns-subscription-arn"] == sub.arn
    tampered = json.loads(body)
    tampered["Message"] = "forged"
    with pytest.raises(SignatureError):
        verify(tampered, certificate=cert)
    with pytest.raises(SignatureError, match="not an SNS host"):
        verify(body)  # a local certificate URL is not trusted unless asked
    with pytest.raises(strato.NotFound):
        events.confirm("no-such-token")


def test_failing_webhook_is_retried_with_backoff_then_dead_lettered(app, receiver):
    flaky = receiver(fail_first=2)
    dead = receiver(always_fail=True)
    events = app.topic("events")
    subs = [events.subscribe_webhook(r.url, raw=True, max_attempts=3) for r in (flaky, dead)]
    for sub in subs:
        token = events.backend.store.db.conn.execute(
            "SELECT token FROM t_subscriptions WHERE arn = ?", (sub.arn,)
        ).fetchone()[0]
        events.confirm(token)
    events.backend.store.db.conn.execute("DELETE FROM t_deliveries")  # drop the confirmations
    events.publish("payload")
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert events.wait_idle(10)
    finally:
        worker.stop(5)
    assert [body for _, body in flaky.requests] == [b"payload"] * 3  # raw delivery: the message itself
    assert len(dead.requests) == 3
    [letter] = app.resources[("queue", "events-webhooks-dlq")].receive(10)
    assert letter.attributes["subscription"] == subs[1].arn and "HTTP 500" in letter.attributes["error"]


def test_email_needs_confirmation_and_lands_in_the_outbox(app):
    events = app.topic("events")
    events.subscribe_email("ops@example.com", filter={"level": ["error"]})
    events.publish("too early", attributes={"level": "error"})
    [confirmation] = events.outbox("email")
    assert confirmation["kind"] == "confirmation" and "/_strato/sns/confirm?" in confirmation["message"]
    token = confirmation["message"].rsplit("token=", 1)[1]
    events.confirm(token)
    events.publish("disk full", attributes={"level": "error"}, subject="alert")
    events.publish("all good", attributes={"level": "info"})
    mails = [m for m in events.outbox("email") if m["kind"] == "notification"]
    assert [(m["endpoint"], m["subject"], m["message"]) for m in mails] == [("ops@example.com", "alert", "disk full")]
    with pytest.raises(strato.ValidationError):
        events.outbox("fax")


def test_sns_lambda_event_runs_matching_handlers(app):
    events = app.topic("events")
    seen = []
    events.subscribe(filter={"k": ["a"]})(lambda note: seen.append(("a", note.body)))
    events.subscribe(filter={"k": ["c"]})(lambda note: seen.append(("c", note.body)))
    assert ("queue", "events-lambda-2-dlq") in app.resources

    @events.subscribe(filter={"k": ["b"]})
    def only_b(note):
        seen.append(("b", note.body))

    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{events.arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": events.arn,
            "Subject": None,
            "Message": "hello",
            "Timestamp": "2019-01-02T12:45:07.000Z",
            "SignatureVersion": "1",
            "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j",
            "SigningCertUrl": "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-ac565b8b.pem",
            "UnsubscribeUrl": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {"k": {"Type": "String", "Value": "b"}},
        },
    }
    assert app.lambda_handler({"Records": [record]}, None) is None
    assert seen == [("b", "hello")]


def test_webhook_round_trip_under_strato_dev(dev_server):
    server = dev_server("tests/apps/topic_app.py", env={"STRATO_DELIVERY_BACKOFF": "0.05"})
    with httpx.Client(base_url=server.url, timeout=10) as client:
        sub = client.post("/subscribe", json={"url": f"{server.url}/hooks/sns", "filter": {"kind": ["a"]}}).json()
        assert sub["status"] == "pending"
        ids = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ids.append(client.post("/publish", json={"message": "hi", "attributes": {"kind": "a"}}).json()["id"])
            got = [i for i in client.get("/received", params={"ids": json.dumps(ids)}).json()["items"] if i]
            if got:
                break
            time.sleep(0.3)
        assert got and got[0]["message"] == "hi", server.output()
        assert got[0]["headers"]["x-amz-sns-message-type"] == "Notification"
        assert client.get("/_strato/sns/signing-cert.pem").text.startswith("-----BEGIN CERTIFICATE-----")
        assert client.get("/_strato/sns/confirm", params={"topic": "events", "token": "bad"}).status_code == 404


def test_the_outbox_command_prints_whole_links_and_user_pool_codes(tmp_path, monkeypatch):
    """`strato outbox` cut messages at 200 characters (SubscribeURLs are longer) and never showed the codes a
    local user pool 'mailed'."""
    from click.testing import CliRunner

    from strato.cli import main

    spec = tmp_path / "outbox_app.py"
    spec.write_text(
        "import strato\napp = strato.App('mailer')\nnews = app.topic('news')\nusers = app.user_pool('users')\n"
    )
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / "data"))
    from strato.loader import load_app

    app = load_app(str(spec))
    news = app.resources[("topic", "news")]
    news.subscribe_email("ana@example.com")
    app.resources[("user_pool", "users")].sign_up("bob", "Correct-Horse-9!", {"email": "bob@example.com"})
    link = next(m["message"] for m in news.outbox("email") if "confirm" in m["message"].lower())
    assert len(link) > 200
    app.close()
    result = CliRunner().invoke(
        main, ["outbox", str(spec), "--data", str(tmp_path / "data"), "--json"], catch_exceptions=False
    )
    import json

    items = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert any(i["message"] == link for i in items)
    codes = [i for i in items if i["topic"] == "user_pool:users"]
    assert codes and codes[0]["endpoint"] == "bob@example.com" and any(ch.isdigit() for ch in codes[0]["message"])
