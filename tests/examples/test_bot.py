"""examples/bot end to end: `strato dev` over real HTTP, Telegram's side played by a fake Bot API server
(a real HTTP server recording calls), once on the local providers and once with kv / cache on Redis
(USE_ELASTICACHE=true) and SQL on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from examples.bot.fakeapi import FakeBotAPI

from tests.conftest import ROOT, start_dev_server, stop

APP = "examples/bot/app.py"
SECRET = "s3cret-token_1"
ADMIN = 4242
HEADERS = {"x-telegram-bot-api-secret-token": SECRET}
_ids = itertools.count(random.randrange(10**6, 10**9, 1000))


class Bot:
    def __init__(self, server, fake: FakeBotAPI, mode: str, stage: str, redis_url=None, pg=None) -> None:
        self.server, self.fake, self.mode, self.stage = server, fake, mode, stage
        self.redis_url, self.pg = redis_url, pg
        self.http = httpx.Client(base_url=server.url, timeout=15)

    def post(self, body, headers=HEADERS) -> httpx.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.http.post(
            "/webhook/telegram", content=data, headers={"content-type": "application/json", **headers}
        )

    def say(self, chat: int, text: str, update_id: int | None = None) -> httpx.Response:
        update = {
            "update_id": update_id or next(_ids),
            "message": {"message_id": 1, "chat": {"id": chat}, "text": text},
        }
        response = self.post(update)
        assert response.status_code == 200, response.text
        return response

    def ask(self, chat: int, text: str, timeout: float = 15) -> str:
        """Send one message and return the bot's reply (the next message the fake API gets for the chat)."""
        before = len(self.fake.sent(chat))
        self.say(chat, text)
        return self.fake.wait_for(chat, before + 1, timeout)[before].payload["text"]


def new_chat() -> int:
    return next(_ids)


@pytest.fixture(scope="module")
def fake():
    with FakeBotAPI() as api:
        yield api


@pytest.fixture(scope="module", params=["local", "redis+postgres"])
def bot(request, fake, tmp_path_factory):
    stage = f"t{uuid.uuid4().hex[:8]}"
    env = {
        "BOT_TOKEN": "123:abc",
        "WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE": fake.url,
        "BOT_ADMIN_CHAT_ID": str(ADMIN),
        "STRATO_STAGE": stage,
        "STRATO_DELIVERY_BACKOFF": "0.05",
    }
    redis_url = pg = None
    if request.param == "redis+postgres":
        import psycopg

        redis_url, pg = request.getfixturevalue("redis_url"), request.getfixturevalue("postgres_url")
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {stage}")
        env |= {
            "USE_ELASTICACHE": "true",
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"{pg}?options=-csearch_path%3D{stage}",
        }
    data = tmp_path_factory.mktemp("bot") / "data"
    server = start_dev_server(APP, data, env=env)
    bot = Bot(server, fake, request.param, stage, redis_url, pg)
    yield bot
    bot.http.close()
    stop(server.proc)
    if pg:
        import psycopg
        import redis

        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {stage} CASCADE")
        r = redis.Redis.from_url(redis_url)
        for key in r.scan_iter(f"*{stage}*"):
            r.delete(key)


def test_start_greets(bot):
    assert "Hello!" in bot.ask(new_chat(), "/start")
    assert "/start" in bot.ask(new_chat(), "hi there")
    assert "Unknown command /nope" in bot.ask(new_chat(), "/nope@my_bot")


def test_remember_recall_forget_per_chat(bot):
    chat, other = new_chat(), new_chat()
    assert bot.ask(chat, "/remember city Lisbon by the sea") == "Remembered city."
    assert bot.ask(chat, "/recall city") == "city = Lisbon by the sea"
    assert bot.ask(other, "/recall city") == "I don't remember city."
    assert bot.ask(chat, "/forget city") == "Forgot city."
    assert bot.ask(chat, "/recall city") == "I don't remember city."
    assert bot.ask(chat, "/forget city") == "Nothing to forget for city."
    assert bot.ask(chat, "/remember lonely").startswith("Usage: /remember")
    if bot.mode == "redis+postgres":  # the session really lives in Redis
        import redis

        bot.ask(chat, "/remember lang pt")
        keys = [k.decode() for k in redis.Redis.from_url(bot.redis_url).scan_iter(f"*{bot.stage}*")]
        assert any(f"{chat}:lang" in k for k in keys), keys


def test_stats_counts_per_chat_and_command(bot):
    chat = new_chat()
    bot.ask(chat, "/start")
    bot.ask(chat, "/remember a 1")
    bot.ask(chat, "/remember b 2")
    text = bot.ask(chat, "/stats")
    assert text.startswith("This chat: 4 messages (/remember: 2, /start: 1, /stats: 1)"), text
    assert re.search(r"All chats: \d+ messages in \d+ chats", text)
    if bot.mode == "redis+postgres":  # and the rows are in PostgreSQL
        import psycopg

        with psycopg.connect(bot.pg) as conn:
            n = conn.execute(f"SELECT count(*) FROM {bot.stage}.messages WHERE chat_id = %s", (chat,)).fetchone()
        assert n == (4,)


def test_presigned_upload_then_files(bot):
    chat = new_chat()
    text = bot.ask(chat, "/upload notes.txt")
    assert text.startswith("PUT notes.txt to this URL within 15 minutes:")
    url = text.splitlines()[1]
    assert "X-Amz-Expires=900" in url and "X-Amz-Signature=" in url
    assert httpx.put(url, content=b"hello from curl").status_code == 200  # as curl -T would
    assert httpx.put(url.replace("notes.txt", "other.txt"), content=b"x").status_code == 403
    listing = bot.ask(chat, "/files")
    name, link = listing.split(": ", 1)
    assert name == "notes.txt (15 bytes)"
    assert httpx.get(link).content == b"hello from curl"
    assert bot.ask(new_chat(), "/files") == "No files yet: send /upload <name>."
    assert bot.ask(chat, "/upload a/b").startswith("Usage: /upload")


def test_mp4_multipart_upload(bot):
    chat = new_chat()
    text = bot.ask(chat, "/upload clip.mp4")
    parts = dict(re.findall(r"^part (\d): (\S+)$", text, re.M))
    assert sorted(parts) == ["1", "2", "3"] and "uploadId=" in parts["1"] and "partNumber=2" in parts["2"]
    assert text.endswith("then send /complete clip.mp4")
    first, last = b"a" * (5 * 1024 * 1024), b"the end"
    assert httpx.put(parts["1"], content=first, timeout=30).status_code == 200
    assert httpx.put(parts["2"], content=last).status_code == 200
    assert bot.ask(chat, "/complete clip.mp4") == f"Stored clip.mp4 ({len(first) + len(last)} bytes)."
    assert bot.ask(chat, "/complete clip.mp4").startswith("No multipart upload")
    link = bot.ask(chat, "/files").split(": ", 1)[1]
    assert httpx.get(link, headers={"range": "bytes=-7"}).content == b"the end"


def test_cache_persist_restore_admin_only(bot):
    assert bot.ask(new_chat(), "/cache persist") == "Only the admin chat may use /cache."
    persisted = bot.ask(ADMIN, "/cache persist")
    assert re.fullmatch(r"Persisted [1-9]\d* cache entries to the snapshot table\.", persisted), persisted
    restored = bot.ask(ADMIN, "/cache restore")
    assert re.fullmatch(r"Restored [1-9]\d* cache entries from the snapshot table\.", restored), restored
    assert bot.ask(ADMIN, "/cache purge") == "Usage: /cache persist|restore"


def test_rate_limit_one_slow_down_then_nothing(bot):
    if time.time() % 60 > 45:  # the limit is per minute: keep the burst inside one
        time.sleep(61 - time.time() % 60)
    chat = new_chat()
    answers = [bot.say(chat, f"/remember k{i} v").json() for i in range(25)]
    assert [a.get("limited", False) for a in answers] == [False] * 20 + [True] * 5
    texts = [c.payload["text"] for c in bot.fake.wait_for(chat, 21)]
    time.sleep(0.5)
    assert len(bot.fake.sent(chat)) == 21
    assert sum(t.startswith("Slow down") for t in texts) == 1 and texts.count("Remembered k0.") == 1
    other = new_chat()
    assert bot.ask(other, "/recall k0") == "I don't remember k0."  # other chats are not limited


def test_duplicate_and_concurrent_deliveries_processed_once(bot):
    chat, update_id = new_chat(), next(_ids)
    update = {"update_id": update_id, "message": {"chat": {"id": chat}, "text": "/remember once yes"}}

    def deliver(_: int) -> dict:
        with httpx.Client(base_url=bot.server.url, timeout=15) as c:
            r = c.post("/webhook/telegram", json=update, headers=HEADERS)
            assert r.status_code == 200, r.text
            return r.json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(deliver, range(32)))
    assert sum(not a.get("duplicate") for a in answers) == 1
    assert bot.post(update).json() == {"ok": True, "duplicate": True}  # a later retry too
    bot.fake.wait_for(chat, 1)
    time.sleep(0.3)
    assert [c.payload["text"] for c in bot.fake.sent(chat)] == ["Remembered once."]


def test_wrong_secret_is_401_and_stores_nothing(bot):
    chat, update_id = new_chat(), next(_ids)
    update = {"update_id": update_id, "message": {"chat": {"id": chat}, "text": "/start"}}
    for headers in (
        {},
        {"x-telegram-bot-api-secret-token": "wrong"},
        {"x-telegram-bot-api-secret-token": SECRET + "x"},
    ):
        assert bot.post(update, headers=headers).status_code == 401
    assert bot.post(update).json() == {"ok": True}  # the update_id was not claimed by the refused ones
    assert "Hello!" in bot.fake.wait_for(chat, 1)[0].payload["text"]


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        [1, 2],
        {"message": {"chat": {"id": 1}, "text": "/start"}},
        {"update_id": "7", "message": {"chat": {"id": 1}, "text": "/start"}},
        {"update_id": -1},
        {"update_id": True},
        {"update_id": 0, "message": "hi"},
        {"update_id": 0, "message": {"chat": {"id": "1"}, "text": "/start"}},
        {"update_id": 0, "message": {"text": "/start"}},
        {"update_id": 0, "message": {"chat": {"id": 1}, "text": 5}},
    ],
)
def test_malformed_updates_are_400_and_store_nothing(bot, body):
    chat, update_id = new_chat(), next(_ids)
    if isinstance(body, dict) and body.get("update_id") == 0:
        body = {**body, "update_id": update_id}
    response = bot.post(body)
    assert response.status_code == 400 and response.json()["message"]
    assert bot.say(chat, "/start", update_id=update_id).json() == {"ok": True}  # not a duplicate: nothing stored


def test_other_update_kinds_are_acknowledged(bot):
    assert bot.post({"update_id": next(_ids), "edited_message": {"chat": {"id": 1}}}).json()["ignored"] is True
    photo = {"update_id": next(_ids), "message": {"chat": {"id": new_chat()}, "photo": []}}
    assert bot.post(photo).json()["ignored"] is True


def test_429_retry_after_and_5xx_are_retried(bot):
    chat = new_chat()
    bot.fake.fail_next(1, 429, retry_after=1)
    bot.say(chat, "/start")
    delivered = bot.fake.wait_for(chat, 1)[0]
    refused = [c for c in bot.fake.calls if c.payload.get("chat_id") == chat and c.status == 429]
    assert len(refused) == 1 and delivered.at - refused[0].at >= 0.95  # honoured retry_after
    bot.fake.fail_next(2, 502)
    assert bot.ask(chat, "/stats").startswith("This chat:")  # the queued path retries with backoff
    assert sum(c.status == 502 for c in bot.fake.calls if c.payload.get("chat_id") == chat) == 2


def test_message_processed_metric(bot):
    import strato

    chat = new_chat()
    bot.ask(chat, "/recall metric")
    start = time.time() // 60 * 60 - 120
    app = strato.App("bot", stage=bot.stage, data_dir=bot.server.data_dir)
    try:
        points = app.metrics("Wireframe/Bot").query(
            "MessageProcessed",
            statistics=["Sum"],
            period=60,
            start=start,
            end=time.time() + 60,
            dimensions={"command": "/recall"},
        )
    finally:
        app.close()
    assert sum(p["Sum"] for p in points) >= 1


def test_setwebhook_registers_url_and_secret(fake):
    env = {**os.environ, "BOT_TOKEN": "123:abc", "WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": fake.url}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "examples.bot.setwebhook", *args],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    url = "https://bot.example.com/webhook/telegram"
    out = run(url)
    assert out.returncode == 0 and "webhook set" in out.stdout, out.stderr
    call = [c for c in fake.calls if c.method == "setWebhook"][-1]
    assert call.token == "123:abc"
    assert call.payload == {
        "url": url,
        "secret_token": SECRET,
        "allowed_updates": ["message"],
        "drop_pending_updates": False,
    }
    assert run("http://bot.example.com/hook").returncode == 2  # Telegram only calls HTTPS
    assert run(url, WEBHOOK_SECRET="has spaces").returncode == 2
    fake.fail_next(1, 400)
    failed = run(url)
    assert failed.returncode == 1 and "HTTP 400" in failed.stderr


@pytest.mark.parametrize("elasticache", [False, True])
def test_synth_is_cfn_lint_clean_with_the_seeds_services(tmp_path, elasticache):
    env = {k: v for k, v in os.environ.items() if k not in ("USE_ELASTICACHE", "ELASTICACHE_ENDPOINT", "DATABASE_URL")}
    if elasticache:
        env["USE_ELASTICACHE"] = "true"
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", APP, "-o", str(tmp_path / "t.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lint = subprocess.run(["cfn-lint", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout
    template = json.loads((tmp_path / "t.json").read_text())
    resources = template["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert {
        "AWS::ApiGatewayV2::Api",  # the webhook
        "AWS::Lambda::Function",
        "AWS::S3::Bucket",  # uploads
        "AWS::SQS::Queue",  # slow commands and their DLQ
        "AWS::DynamoDB::Table",  # the cache snapshot (and kv / cache themselves without ElastiCache)
    } <= kinds
    assert {"SlowCommandsQueue", "SlowCommandsDlqQueue", "BotSnapshotTable"} <= set(resources)
    assert "MainSqlSecretArn" in template["Parameters"]  # RDS credentials from Secrets Manager
    variables = resources["HttpFunction"]["Properties"]["Environment"]["Variables"]
    assert "STRATO_SQL_MAIN_SECRET" in variables and "STRATO_TABLE_BOT_SNAPSHOT" in variables
    if elasticache:
        assert resources["RedisCache"]["Type"] == "AWS::ElastiCache::ServerlessCache"
        assert "ELASTICACHE_ENDPOINT" in variables and "SessionsTable" not in resources
    else:
        assert "RedisCache" not in resources and {"SessionsTable", "BotTable"} <= set(resources)
    policy = json.dumps(resources["AppPolicy"])
    assert "cloudwatch:PutMetricData" in policy and "Wireframe/Bot" in policy
