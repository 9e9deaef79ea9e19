"""examples/bot through the test kit: the MessageProcessed metric, the rate-limit window and the queued
retry / dead-letter path driven by virtual time, in process (test_bot.py runs it as `strato dev` over
real sockets). Telegram is still the fake Bot API server: replies leave over real HTTP."""

from __future__ import annotations

import itertools

import pytest
from examples.bot.fakeapi import FakeBotAPI

pytestmark = pytest.mark.strato_app("examples/bot/app.py")
SECRET = "kit-secret"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def fake():
    with FakeBotAPI() as api:
        yield api


@pytest.fixture(autouse=True)
def bot_env(fake, monkeypatch):
    """Before the kit loads the app (autouse fixtures come first): where the app's client sends replies."""
    for name, value in {"BOT_TOKEN": "1:kit", "WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": fake.url}.items():
        monkeypatch.setenv(name, value)


def say(client, chat: int, text: str, update_id: int | None = None) -> dict:
    update = {"update_id": update_id or next(_ids), "message": {"chat": {"id": chat}, "text": text}}
    response = client.post("/webhook/telegram", json=update, headers={"x-telegram-bot-api-secret-token": SECRET})
    assert response.status == 200, response.text
    return response.json()


def test_one_metric_per_processed_update(client, drain, metrics, fake):
    say(client, 1, "/start", update_id=999)
    say(client, 1, "/start", update_id=999)  # a redelivery: not processed again
    say(client, 1, "/recall nothing")
    say(client, 1, "/nope")
    assert say(client, 1, "/stats") == {"ok": True, "queued": True}
    assert metrics.values("MessageProcessed", dimensions={"command": "/stats"}) == []  # not yet: queued
    drain()
    for command in ("/start", "/recall", "unknown", "/stats"):
        assert metrics.values("MessageProcessed", dimensions={"command": command}) == [1], command
    assert metrics.total("MessageProcessed") == 4
    assert fake.sent(1)[-1].payload["text"].startswith("This chat: 4 messages (/recall: 1, /start: 1, /stats: 1")


def test_the_rate_limit_is_per_minute(client, clock, fake):
    clock.advance(60 - clock.now() % 60)  # the start of a minute
    answers = [say(client, 2, "/start") for _ in range(22)]
    assert [a.get("limited", False) for a in answers] == [False] * 20 + [True] * 2
    assert sum(c.payload["text"].startswith("Slow down") for c in fake.sent(2)) == 1
    clock.advance(59)
    assert say(client, 2, "/start").get("limited")
    clock.advance(1)  # a new minute
    assert say(client, 2, "/start") == {"ok": True}


def test_a_429_reply_waits_retry_after_in_the_queue(client, drain, clock, fake):
    fake.fail_next(1, 429, retry_after=5)
    say(client, 3, "/start")
    assert fake.sent(3) == [] and drain() == 0  # due only after retry_after
    clock.advance(4)
    assert drain() == 0
    clock.advance(1)
    assert drain() == 1 and "Hello!" in fake.sent(3)[0].payload["text"]


def test_a_reply_failing_every_retry_ends_in_the_dlq(client, drain, clock, fake):
    say(client, 4, "/forget x")
    assert len(fake.sent(4)) == 1
    fake.fail_next(1 + 3 * 4, 500)  # the inline try, then 3 receives of 4 tries each
    say(client, 4, "/recall x")
    clock.advance(1)  # a 5xx without retry_after: queued for a second
    for _ in range(3):
        with pytest.raises(Exception, match="HTTP 500"):
            drain()
        clock.advance(60)  # the queue's visibility timeout
    drain()  # the fourth receive moves it to the DLQ
    stats = client.app.resources[("queue", "slow-commands")].stats()
    assert stats.dlq_depth == 1 and stats.depth == 0
    assert len(fake.sent(4)) == 1
    assert sum(c.status == 500 for c in fake.calls if c.payload.get("chat_id") == 4) == 13  # 1 + 3 x 4 tries
