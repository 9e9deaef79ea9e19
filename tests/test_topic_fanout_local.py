"""A local publish does its per-message work once: the parsed subscriptions are kept until they change
(in this process or another one sharing messaging.db), and a message is signed once however many
subscriptions get its envelope. What each subscriber receives is unchanged by that."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import strato
from strato.local.worker import Worker
from strato.topic.envelope import verify

BUILD = """
import strato
def build(name, data):
    app = strato.App(name, data_dir=data)
    news = app.topic("news")
    inbox = app.queue("inbox")
    news.subscribe_queue(inbox)
    return app, news, inbox
"""


def _other_process(name: str, data, code: str) -> str:
    """Run ``code`` with ``news`` (the same app and data directory) in a separate Python process."""
    script = BUILD + f"app, news, inbox = build({name!r}, {str(data)!r})\n" + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_subscriptions_changed_by_another_process_are_seen_by_the_next_publish(tmp_path):
    namespace: dict = {}
    exec(BUILD, namespace)
    app, news, inbox = namespace["build"]("fanout", tmp_path)
    try:
        news.publish("one", attributes={"kind": "alert"})  # the subscriptions are read (and kept) here
        _other_process("fanout", tmp_path, 'news.subscribe_sms("+14155550100", filter={"kind": ["alert"]})')
        news.publish("two", attributes={"kind": "alert"})
        news.publish("three", attributes={"kind": "info"})  # the filter made in the other process refuses it
        _other_process("fanout", tmp_path, 'news.subscribe_sms("+14155550100")')  # same endpoint: filter dropped
        news.publish("four", attributes={"kind": "info"})
        _other_process(
            "fanout",
            tmp_path,
            'news.unsubscribe(next(s for s in news.subscriptions() if s.protocol == "sms"))',
        )
        news.publish("five", attributes={"kind": "alert"})
        assert [m["message"] for m in news.outbox("sms")] == ["two", "four"]
        got = []
        while batch := inbox.receive(10):
            got += batch
        assert sorted(m.body for m in got) == ["five", "four", "one", "three", "two"]
    finally:
        app.close()


class _CountingKey:
    """Stands in for the signer's RSA key, counting signatures."""

    def __init__(self, key) -> None:
        self.key, self.signatures = key, 0

    def sign(self, *args):
        self.signatures += 1
        return self.key.sign(*args)


def test_one_signature_per_message_for_every_envelope_it_is_delivered_in(make_app, monkeypatch):
    monkeypatch.setenv("STRATO_DELIVERY_BACKOFF", "0.05")
    app = make_app()
    news = app.topic("news")
    queues = [app.queue(f"env{i}") for i in range(5)]
    for queue in queues:
        news.subscribe_queue(queue, raw=False)
    raw = app.queue("raw")
    news.subscribe_queue(raw, filter={"kind": ["alert"]})
    seen: list[dict] = []

    @news.subscribe()
    def first(note):
        seen.append(note)

    @news.subscribe()
    def second(note):
        seen.append(note)

    backend = news.backend
    key = _CountingKey(backend.signer._load())
    backend.signer._key = key
    for kind in ("alert", "info"):
        news.publish({"kind": kind}, attributes={"kind": kind}, subject="hello")
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert news.wait_idle(10)
    finally:
        worker.stop(5)
    assert key.signatures == 2  # one per message: 5 queues + 2 handlers each got it signed
    assert len(seen) == 4
    envelopes = [json.loads(m.body) for queue in queues for m in queue.receive(10)]
    assert len(envelopes) == 10 and len({e["MessageId"] for e in envelopes}) == 2
    certificate = backend.signer.certificate()
    for envelope in envelopes:
        verify(envelope, certificate=certificate)
        assert envelope["Subject"] == "hello" and envelope["MessageAttributes"]["kind"]["Type"] == "String"
        assert set(envelope) == {
            "Type", "MessageId", "TopicArn", "Message", "Timestamp", "UnsubscribeURL", "Subject",
            "MessageAttributes", "SignatureVersion", "SigningCertURL", "Signature",
        }  # fmt: skip
    [alert] = raw.receive(10)
    assert alert.json() == {"kind": "alert"} and alert.attributes == {"kind": "alert"}
    assert isinstance(alert, strato.queue.Message)
