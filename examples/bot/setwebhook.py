"""Register the bot's webhook with Telegram:  python -m examples.bot.setwebhook https://<api>/webhook/telegram

Calls setWebhook (https://core.telegram.org/bots/api#setwebhook) with BOT_TOKEN's bot, the URL and
WEBHOOK_SECRET as ``secret_token`` (Telegram then sends it in X-Telegram-Bot-Api-Secret-Token), at
TELEGRAM_API_BASE (default https://api.telegram.org)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from urllib.parse import urlsplit

from .botapi import BotAPI, BotApiError

SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # the characters and length Telegram allows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the public HTTPS URL of POST /webhook/telegram")
    parser.add_argument("--drop-pending", action="store_true", help="drop updates Telegram queued meanwhile")
    args = parser.parse_args(argv)
    token, secret = os.environ.get("BOT_TOKEN", ""), os.environ.get("WEBHOOK_SECRET", "")
    if not token:
        parser.error("set BOT_TOKEN")
    if not SECRET.fullmatch(secret):
        parser.error("set WEBHOOK_SECRET to 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
    if urlsplit(args.url).scheme != "https" or not urlsplit(args.url).hostname:
        parser.error(f"Telegram only calls HTTPS webhooks: {args.url!r}")
    payload = {
        "url": args.url,
        "secret_token": secret,
        "allowed_updates": ["message"],
        "drop_pending_updates": args.drop_pending,
    }
    try:
        BotAPI.from_env().call("setWebhook", payload)
    except BotApiError as exc:
        print(f"setWebhook failed: {exc}", file=sys.stderr)
        return 1
    print(f"webhook set: {args.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
