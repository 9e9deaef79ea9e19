"""Table cursors: opaque, signed, and bound to the query they came from.

A cursor is ``<payload>.<mac>`` (both URL-safe base64): the payload is the last key read (JSON), the
MAC an HMAC-SHA256 over the app, table, index, partition and payload, each length-prefixed so no two
scopes share a message. A cursor edited by hand, or taken from another table, index or partition, is
refused with ValidationError before anything reads it. The key comes from ``runtime.secrets``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

MAC_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, scope: tuple[bytes, ...], payload: bytes) -> bytes:
    message = b"".join(b"%d:%s" % (len(field), field) for field in (b"strato-cursor-1", *scope, payload))
    return hmac.new(key, message, hashlib.sha256).digest()


def seal(key: bytes, scope: tuple[bytes, ...], position: Any) -> str:
    payload = json.dumps(position, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, scope, payload))}"


def open_cursor(key: bytes, scope: tuple[bytes, ...], cursor: str) -> Any:
    """The position sealed in ``cursor``; ValueError if it was not sealed with this key and scope."""
    if not isinstance(cursor, str) or cursor.count(".") != 1 or not cursor.isascii():
        raise ValueError("not a cursor")
    payload_text, mac_text = cursor.split(".")
    payload, mac = _unb64(payload_text), _unb64(mac_text)
    if _b64(payload) != payload_text or _b64(mac) != mac_text:  # one cursor, one spelling: not malleable
        raise ValueError("not a cursor")
    if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, _mac(key, scope, payload)):
        raise ValueError("this cursor was not returned by this query (another table, index or partition?)")
    return json.loads(payload)
