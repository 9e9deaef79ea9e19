"""bot: a Telegram chat-bot connector on strato.

A webhook on the HTTP API takes Telegram's updates, claims each update_id once in SQL, rate-limits
per chat through the cache, answers fast commands at once and queues slow ones (with a DLQ). Replies
go to the Bot API through a client that retries 429 / 5xx and honours ``retry_after``.
Run it:  BOT_TOKEN=... WEBHOOK_SECRET=... strato dev examples/bot/app.py
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import strato
from strato import HTTPError, Request, SqlConstraintError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from botapi import BotAPI, BotApiError

log = logging.getLogger("bot")
HERE = Path(__file__).resolve().parent
RATE_LIMIT = 20  # messages per chat per minute
UPLOAD_URL_S = 900
MP4_PARTS = 3
SLOW = ("/stats", "/files", "/upload", "/complete", "/cache")
HELP = (
    "Hello! I am a strato bot. Commands: /remember <key> <value>, /recall <key>, /forget <key>, "
    "/stats, /upload <name>, /complete <name>, /files, /cache persist|restore (admin chat)."
)


def use_elasticache() -> bool:
    """The seed's switch: kv and cache on ElastiCache (Redis) instead of DynamoDB / SQLite."""
    return os.environ.get("USE_ELASTICACHE", "").lower() in ("1", "true") or bool(
        os.environ.get("ELASTICACHE_ENDPOINT")
    )


def sql_provider() -> str | None:
    """PostgreSQL when DATABASE_URL or a Secrets Manager secret is given (always on AWS), else SQLite."""
    configured = os.environ.get("DATABASE_URL") or os.environ.get("STRATO_SQL_MAIN_SECRET")
    return "postgres" if configured else None


app = strato.App("bot")
redis = "redis" if use_elasticache() else None
sessions = app.kv("sessions", provider=redis)
cache = app.cache("bot", provider=redis)
db = app.sql("main", provider=sql_provider())
uploads = app.bucket("uploads")
slow_queue = app.queue("slow-commands", visibility_timeout=60, max_receive_count=3)
metrics = app.metrics("Wireframe/Bot")
api = app.http()
telegram = BotAPI.from_env()
_migrated = threading.Lock()
_schema_ready = False


def ensure_schema() -> None:
    """Apply migrations/ once per process, at the first update (not at import: `strato synth` imports
    the app without a database). Concurrent migrators are serialised by strato."""
    global _schema_ready
    if not _schema_ready:
        with _migrated:
            if not _schema_ready:
                db.migrate(str(HERE / "migrations"))
                _schema_ready = True


# -- the webhook -----------------------------------------------------------------------------------
def check_secret(req: Request) -> None:
    expected = os.environ.get("WEBHOOK_SECRET", "")
    given = req.headers.get("x-telegram-bot-api-secret-token", "")
    # constant time: the comparison takes as long whatever prefix of the secret a caller guessed
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPError(401, "missing or wrong X-Telegram-Bot-Api-Secret-Token")


def parse_update(req: Request) -> tuple[int, dict[str, Any] | None]:
    """(update_id, the message or None for update kinds the bot ignores); 400 for a malformed Update."""
    update = req.json()
    if not isinstance(update, dict):
        raise HTTPError(400, "an Update is a JSON object")
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        raise HTTPError(400, "update_id must be a non-negative integer")
    if "message" not in update:
        return update_id, None
    message = update["message"]
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or abs(chat_id) >= 2**53:
        raise HTTPError(400, "message.chat.id must be an integer")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise HTTPError(400, "message.text must be a string")
    return update_id, message


def command_of(text: str) -> tuple[str, list[str]]:
    """('/remember', ['k', 'v w']) for '/remember@my_bot k v w'; ('text', []) for plain text."""
    if not text.startswith("/"):
        return "text", []
    head, _, rest = text.strip().partition(" ")
    name = head.split("@", 1)[0].lower()
    if name == "/remember":
        key, _, value = rest.strip().partition(" ")
        return name, [a for a in (key, value.strip()) if a]
    return name, rest.split()


@api.post("/webhook/telegram")
def webhook(req: Request):
    check_secret(req)
    update_id, message = parse_update(req)
    ensure_schema()
    if message is None or not isinstance(message.get("text"), str):
        return {"ok": True, "ignored": True}  # edited messages, photos, callbacks...: nothing to do
    chat_id, (command, args) = message["chat"]["id"], command_of(message["text"])
    known = command in ("/start", "/remember", "/recall", "/forget", "text", *SLOW)
    try:  # the claim: a redelivered update_id hits the primary key, however many arrive at once
        db.execute(
            "INSERT INTO messages (update_id, chat_id, command, status, created_at) VALUES (:u, :c, :cmd, :s, :t)",
            {
                "u": update_id,
                "c": chat_id,
                "cmd": command if known else "unknown",
                "s": "queued" if command in SLOW else "processed",
                "t": strato.now(),
            },
        )
    except SqlConstraintError:
        return {"ok": True, "duplicate": True}
    try:
        return handle(update_id, chat_id, command, args, command if known else "unknown")
    except Exception:  # not handled after all: release the claim so Telegram's retry (after our 500) runs it
        db.execute("DELETE FROM messages WHERE update_id = :u", {"u": update_id})
        raise


def handle(update_id: int, chat_id: int, command: str, args: list[str], label: str) -> dict[str, Any]:
    """Rate limit, then a fast command answered now or a slow one queued; ``label`` names the metric."""
    count = cache.incr(f"rate:{chat_id}:{int(strato.now() // 60)}", ttl=120)
    if count > RATE_LIMIT:
        mark(update_id, "limited")
        if count == RATE_LIMIT + 1:
            reply(chat_id, "Slow down: at most 20 messages a minute. I will ignore you for a moment.")
        return {"ok": True, "limited": True}
    if command in SLOW:
        slow_queue.send({"update_id": update_id, "chat_id": chat_id, "command": command, "args": args})
        return {"ok": True, "queued": True}
    reply(chat_id, run_fast(chat_id, command, args))
    metrics.put("MessageProcessed", 1, unit="Count", dimensions={"command": label})
    return {"ok": True}


def mark(update_id: int, status: str) -> None:
    db.execute("UPDATE messages SET status = :s WHERE update_id = :u", {"s": status, "u": update_id})


def processed(update_id: int, command: str) -> None:
    mark(update_id, "processed")
    metrics.put("MessageProcessed", 1, unit="Count", dimensions={"command": command})


def reply(chat_id: int, text: str) -> None:
    """One try at once (the webhook answers fast); a 429 / 5xx goes to the queue, due after retry_after."""
    try:
        telegram.call("sendMessage", {"chat_id": chat_id, "text": text}, attempts=1)
    except BotApiError as exc:
        if not exc.retryable:  # a 400 / 403 (chat gone, bot blocked): retrying cannot help
            log.warning("reply to chat %s dropped: %s", chat_id, exc)
            return
        delay = int(min(exc.retry_after if exc.retry_after is not None else 1, 900))
        slow_queue.send({"reply": {"chat_id": chat_id, "text": text}}, delay=delay)


# -- commands --------------------------------------------------------------------------------------
def run_fast(chat_id: int, command: str, args: list[str]) -> str:
    if command == "/start":
        return HELP
    if command == "text":
        return "Send /start to see what I can do."
    if command not in ("/remember", "/recall", "/forget"):
        return f"Unknown command {command}. Send /start for the list."
    if not args or len(args[0]) > 200:
        return f"Usage: {command} <key>" + (" <value>" if command == "/remember" else "") + " (keys up to 200 chars)"
    key = f"{chat_id}:{args[0]}"
    if command == "/remember":
        if len(args) < 2:
            return "Usage: /remember <key> <value>"
        sessions.set(key, args[1][:4000])
        return f"Remembered {args[0]}."
    if command == "/recall":
        value = sessions.get(key)
        return f"{args[0]} = {value}" if value is not None else f"I don't remember {args[0]}."
    return f"Forgot {args[0]}." if sessions.delete(key) else f"Nothing to forget for {args[0]}."


def stats(chat_id: int) -> str:
    rows = db.query(
        "SELECT command, count(*) AS n FROM messages WHERE chat_id = :c AND status = 'processed' "
        "GROUP BY command ORDER BY command",
        {"c": chat_id},
    )
    mine = sum(int(r["n"]) for r in rows)
    chats = db.query_one(
        "SELECT count(DISTINCT chat_id) AS chats, count(*) AS n FROM messages WHERE status = 'processed'", {}
    )
    per_command = ", ".join(f"{r['command']}: {r['n']}" for r in rows) or "none yet"
    return (
        f"This chat: {mine} messages ({per_command}). "
        f"All chats: {int(chats['n'])} messages in {int(chats['chats'])} chats."
    )


def object_name(args: list[str]) -> str | None:
    name = args[0] if args else ""
    ok = 0 < len(name) <= 200 and "/" not in name and name not in (".", "..") and name.isprintable()
    return name if ok else None


def upload(chat_id: int, args: list[str]) -> str:
    name = object_name(args)
    if name is None:
        return "Usage: /upload <name> (1-200 printable characters, no '/')"
    key = f"{chat_id}/{name}"
    lines = [f"PUT {name} to this URL within 15 minutes:", uploads.presign_put(key, expires_in=UPLOAD_URL_S)]
    if name.lower().endswith(".mp4"):
        upload_id = uploads.start_multipart(key, content_type="video/mp4")
        sessions.set(f"upload:{chat_id}:{name}", upload_id, ttl=7 * 86400)
        lines.append(f"Or multipart upload {upload_id} (parts of at least 5 MiB but the last), PUT part N to:")
        lines += [
            f"part {n}: {uploads.presign_part(key, upload_id, n, expires_in=UPLOAD_URL_S)}"
            for n in range(1, MP4_PARTS + 1)
        ]
        lines.append(f"then send /complete {name}")
    return "\n".join(lines)


def complete(chat_id: int, args: list[str]) -> str:
    name = object_name(args)
    upload_id = sessions.get(f"upload:{chat_id}:{name}") if name else None
    if name is None or not isinstance(upload_id, str):
        return "No multipart upload of that name: send /upload <name>.mp4 first."
    try:
        info = uploads.complete_multipart(f"{chat_id}/{name}", upload_id)
    except strato.ValidationError as exc:
        return f"Cannot complete {name} yet: {exc}"
    sessions.delete(f"upload:{chat_id}:{name}")
    return f"Stored {name} ({info.size} bytes)."


def files(chat_id: int) -> str:
    page = uploads.list(f"{chat_id}/", limit=20)
    if not page.objects:
        return "No files yet: send /upload <name>."
    lines = [
        f"{o.key.split('/', 1)[1]} ({o.size} bytes): {uploads.presign_get(o.key, expires_in=UPLOAD_URL_S)}"
        for o in page.objects
    ]
    return "\n".join(lines)


def cache_admin(chat_id: int, args: list[str]) -> str:
    if str(chat_id) != os.environ.get("BOT_ADMIN_CHAT_ID", ""):
        return "Only the admin chat may use /cache."
    if args == ["persist"]:
        return f"Persisted {cache.persist()} cache entries to the snapshot table."
    if args == ["restore"]:
        return f"Restored {cache.restore()} cache entries from the snapshot table."
    return "Usage: /cache persist|restore"


@slow_queue.consumer(batch_size=5, max_concurrency=2)
def run_slow(msg: strato.queue.Message) -> None:
    """Slow commands and replies that met a 429 / 5xx; raising retries, 3 receives then the DLQ."""
    job = msg.json()
    ensure_schema()
    if "reply" in job:
        telegram.send_message(job["reply"]["chat_id"], job["reply"]["text"])
        return
    chat_id, command, args = job["chat_id"], job["command"], job["args"]
    if command == "/stats":
        mark(job["update_id"], "processed")  # this /stats counts itself
        text = stats(chat_id)
    elif command == "/files":
        text = files(chat_id)
    elif command == "/upload":
        text = upload(chat_id, args)
    elif command == "/complete":
        text = complete(chat_id, args)
    else:
        text = cache_admin(chat_id, args)
    telegram.send_message(chat_id, text)
    processed(job["update_id"], command)


@api.get("/healthz")
def healthz(req: Request):
    return {"ok": True, "service": "bot"}


handler = app.lambda_handler
