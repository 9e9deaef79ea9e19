"""Identifiers that sort by creation time (ULID layout: 48-bit ms time + 80 random bits)."""

from __future__ import annotations

import os

from . import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_id() -> str:
    """A 26-character id; ids made later sort after ids made earlier (to the millisecond)."""
    value = (int(clock.now() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_uuid() -> str:
    """A random UUID in its 8-4-4-4-12 text form (SQS and SNS message ids look like this)."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
