"""Prefix ranges over byte-ordered keys: the one helper SQLite- and Redis-backed listings share."""

from __future__ import annotations


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix`` (None: no such bound,
    the prefix is empty or all 0xff), so ``prefix <= key < successor(prefix)`` selects the prefix."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1]) if stripped else None
