"""Identifiers that sort by creation time (ULID layout: 48-bit ms time + 80 random bits)."""

from __future__ import annotations

import os
from _thread import allocate_lock  # threading's lock without importing threading (Lambda cold start)

from . import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


# the clock in force, the millisecond and the random part of the id made last in this process
_last_clock: object = None
_last_ms = 0
_last_rand = 0
_lock = allocate_lock()
_RANDOM_MAX = (1 << 80) - 1


def new_id() -> str:
    """A 26-character id; ids made later sort after ids made earlier: across processes to the millisecond,
    within one strictly (ULID's monotonic rule: in the same millisecond, or while a test's clock stands
    still, the random part of the last id plus one). A test that installs a clock set in the past starts
    a new sequence there."""
    global _last_clock, _last_ms, _last_rand
    source = clock.installed()
    ms = int(clock.now() * 1000)
    with _lock:
        if source is _last_clock and ms <= _last_ms:
            ms, rand = _last_ms, _last_rand + 1
            if rand > _RANDOM_MAX:
                ms, rand = ms + 1, int.from_bytes(os.urandom(10), "big")
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_clock, _last_ms, _last_rand = source, ms, rand
    value = (ms << 80) | rand
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_uuid() -> str:
    """A random UUID in its 8-4-4-4-12 text form (SQS and SNS message ids look like this)."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
