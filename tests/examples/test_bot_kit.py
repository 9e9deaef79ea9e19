"""examples/bot through the test kit: the MessageProcessed metric, the rate-limit window and the queued
retry / dead-letter path driven by virtual time, in process (test_bot.py runs it as `strato dev` over
real sockets). Telegram is still the fake Bot API server: replies leave over real HTTP. The metric and
rate-limit tests run on aws too (kv / cache on DynamoDB, metrics on CloudWatch, all on moto; SQL on
PostgreSQL); the queue-timing ones stay local, as SQS's delays and visibility run on moto's real clock."""

from __future__ import annotations

import itertools
import os

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
def bot_env(fake, monkeypatch, request):
    """Before the kit loads the app (autouse fixtures come first): where the app's client sends replies;
    on aws (DynamoDB, SQS, S3 on moto) SQL is PostgreSQL in a schema of the test's own."""
    for name, value in {"BOT_TOKEN": "1:kit", "WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": fake.url}.items():
        monkeypatch.setenv(name, value)
    if request.getfixturevalue("strato_provider") == "aws":
        schema = request.getfixturevalue("postgres_schema")
        monkeypatch.setenv("DATABASE_URL", os.environ["STRATO_SQL_MAIN_URL"])
        assert schema


@pytest.fixture
def chat() -> int:
    """A chat of the test's own (the fake Bot API is shared by the module)."""
    return 10**6 + next(_ids)


def say(client, chat: int, text: str, update_id: int | None = None) -> dict:
    update = {"update_id": update_id or next(_ids), "message": {"chat": {"id": chat}, "text": text}}
    response = client.post("/webhook/telegram", json=update, headers={"x-telegram-bot-api-secret-token": SECRET})
    assert response.status == 200, response.text
    return response.json()


@pytest.mark.strato_providers("local", "aws")
def test_one_metric_per_processed_update(client, chat, drain, metrics, fake):
    say(client, chat, "/start", update_id=999)
    say(client, chat, "/start", update_id=999)  # a redelivery: not processed again
    say(client, chat, "/recall nothing")
    say(client, chat, "/nope")
    assert say(client, chat, "/stats") == {"ok": True, "queued": True}
    assert metrics.values("MessageProcessed", dimensions={"command": "/stats"}) == []  # not yet: queued
    drain()
    for command in ("/start", "/recall", "unknown", "/stats"):
        assert metrics.values("MessageProcessed", dimensions={"command": command}) == [1], command
    assert metrics.total("MessageProcessed") == 4
    assert fake.sent(chat)[-1].payload["text"].startswith("This chat: 4 messages (/recall: 1, /start: 1, /stats: 1")


@pytest.mark.strato_providers("local", "aws")
def test_the_rate_limit_is_per_minute(client, chat, clock, fake):
    clock.advance(60 - clock.now() % 60)  # the start of a minute
    answers = [say(client, chat, "/start") for _ in range(22)]
    assert [a.get("limited", False) for a in answers] == [False] * 20 + [True] * 2
    assert sum(c.payload["text"].startswith("Slow down") for c in fake.sent(chat)) == 1
    clock.advance(59)
    assert say(client, chat, "/start").get("limited")
    clock.advance(1)  # a new minute
    assert say(client, chat, "/start") == {"ok": True}


def test_a_429_reply_waits_retry_after_in_the_queue(client, chat, drain, clock, fake):
    fake.fail_next(1, 429, retry_after=5)
    say(client, chat, "/start")
    assert fake.sent(chat) == [] and drain() == 0  # due only after retry_after
    clock.advance(4)
    assert drain() == 0
    clock.advance(1)
    assert drain() == 1 and "Hello!" in fake.sent(chat)[0].payload["text"]


def test_a_reply_failing_every_retry_ends_in_the_dlq(client, chat, drain, clock, fake):
    say(client, chat, "/forget x")
    assert len(fake.sent(chat)) == 1
    fake.fail_next(1 + 3 * 4, 500)  # the inline try, then 3 receives of 4 tries each
    say(client, chat, "/recall x")
    clock.advance(1)  # a 5xx without retry_after: queued for a second
    for _ in range(3):
        with pytest.raises(Exception, match="HTTP 500"):
            drain()
        clock.advance(60)  # the queue's visibility timeout
    drain()  # the fourth receive moves it to the DLQ
    stats = client.app.resources[("queue", "slow-commands")].stats()
    assert stats.dlq_depth == 1 and stats.depth == 0
    assert len(fake.sent(chat)) == 1
    assert sum(c.status == 500 for c in fake.calls if c.payload.get("chat_id") == chat) == 13  # 1 + 3 x 4 tries
