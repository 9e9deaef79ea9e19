"""The leased retry outbox behind the local stand-ins for AWS's asynchronous invocations: topic
deliveries (handlers, webhooks) and bucket event notifications.

A row is added in the same transaction as the write that caused it (so it exists exactly when the
write does), leased while it is attempted (hidden from other workers for ``lease_s``), deleted when
the attempt succeeds, and otherwise retried with exponential back-off until the caller gives up,
when ``give_up`` runs in the same transaction as the delete (e.g. to dead-letter it).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core import clock

LEASE_S = 60.0


def backoff(attempts: int) -> float:
    """Seconds before retry ``attempts + 1``: 1, 2, 4, ... capped at a minute (``STRATO_DELIVERY_BACKOFF``
    scales the base, so tests can run retries fast)."""
    base = float(os.environ.get("STRATO_DELIVERY_BACKOFF", "1.0"))
    return min(base * 2 ** max(attempts - 1, 0), 60.0)


@dataclass(frozen=True)
class Outbox:
    """One outbox table: ``seq``, an owner column (the topic / bucket), a target column (the subscription /
    watcher), a payload column, ``attempts`` and ``next_at`` (and optionally an error column)."""

    db: Any  # runtime.sqlite.Database
    table: str
    owner: str
    target: str
    payload: str
    error: str | None = None
    lease_s: float = LEASE_S

    def add(self, conn: sqlite3.Connection, owner: str, target: Any, payload: str, at: float | None = None) -> None:
        """Queue one delivery inside the caller's open write transaction."""
        conn.execute(
            f"INSERT INTO {self.table} ({self.target}, {self.owner}, {self.payload}, next_at) VALUES (?, ?, ?, ?)",
            (target, owner, payload, clock.now() if at is None else at),
        )

    def add_many(self, conn: sqlite3.Connection, owner: str, rows: list[tuple[Any, str]], at: float) -> None:
        """Queue (target, payload) deliveries in one statement (a publish to many subscriptions)."""
        conn.executemany(
            f"INSERT INTO {self.table} ({self.target}, {self.owner}, {self.payload}, next_at) VALUES (?, ?, ?, ?)",
            [(target, owner, payload, at) for target, payload in rows],
        )

    def lease(self, owner: str, limit: int) -> list[tuple[int, Any, str, int]]:
        """Up to ``limit`` due deliveries as (seq, target, payload, attempts so far), leased to the caller."""
        now = clock.now()
        with self.db.write() as conn:
            rows = conn.execute(
                f"SELECT seq, {self.target}, {self.payload}, attempts FROM {self.table} "
                f"WHERE {self.owner} = ? AND next_at <= ? ORDER BY seq LIMIT ?",
                (owner, now, limit),
            ).fetchall()
            conn.executemany(
                f"UPDATE {self.table} SET next_at = ? WHERE seq = ?", [(now + self.lease_s, r[0]) for r in rows]
            )
        return rows

    def done(self, seq: int) -> None:
        with self.db.write() as conn:
            conn.execute(f"DELETE FROM {self.table} WHERE seq = ?", (seq,))

    def failed(
        self,
        seq: int,
        attempts: int,
        error: str,
        give_up: bool,
        on_give_up: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """Schedule the retry after ``backoff(attempts)``, or (``give_up``) delete it and run ``on_give_up``."""
        with self.db.write() as conn:
            if give_up:
                conn.execute(f"DELETE FROM {self.table} WHERE seq = ?", (seq,))
                if on_give_up is not None:
                    on_give_up(conn)
                return
            columns = "attempts = ?, next_at = ?"
            values: list[object] = [attempts, clock.now() + backoff(attempts)]
            if self.error:
                columns += f", {self.error} = ?"
                values.append(error[:1000])
            conn.execute(f"UPDATE {self.table} SET {columns} WHERE seq = ?", (*values, seq))

    def pending(self, owner: str) -> int:
        row = self.db.conn.execute(f"SELECT count(*) FROM {self.table} WHERE {self.owner} = ?", (owner,)).fetchone()
        return int(row[0])
