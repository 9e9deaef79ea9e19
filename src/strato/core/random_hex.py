"""Random hex ids drawn a few thousand at a time: a request id or a span id costs a ``list.pop``.

``os.urandom`` per id was a system call per request, and one that lets go of the GIL: each let-go woke
any thread waiting for it (the span writer between its SQLite statements) only for the request thread
to take it straight back, a futex wake and a context switch per request. Ids are split from one draw in
C (``bytes.hex`` with a separator, ``str.split``). A forked child empties the pools so it never hands out
ids its parent will also use.
"""

from __future__ import annotations

import os

_POOL = 4096
_pools: dict[int, list[str]] = {8: [], 12: []}  # bytes per id -> ids not yet handed out


def _refill(size: int) -> str:
    pool = _pools[size]
    pool.extend(os.urandom(size * _POOL).hex(" ", size).split())
    return pool.pop()


def _forget() -> None:
    for pool in _pools.values():
        pool.clear()


os.register_at_fork(after_in_child=_forget)
_pop16 = _pools[8].pop
_pop24 = _pools[12].pop


def hex16() -> str:
    """16 random hex digits (64 bits): an X-Ray segment id, an API Gateway request id."""
    try:
        return _pop16()
    except IndexError:
        return _refill(8)


def hex24() -> str:
    """24 random hex digits (96 bits): the random part of an X-Ray trace id."""
    try:
        return _pop24()
    except IndexError:
        return _refill(12)
