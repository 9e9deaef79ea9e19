"""The embedded metrics provider: one SQLite file of series, high-resolution raw points and rollups.

Standard-resolution points go straight into minute rollups (count, sum, min, max and a mergeable
histogram), so a day of a busy metric is 1,440 rows however many points it had; 1-second points
are also kept raw for sub-minute periods. Old data is downsampled as CloudWatch ages it: raw for
3 hours, minutes for 15 days, 5 minutes for 63 days, hours until the retention ends.
"""

from __future__ import annotations

import builtins
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.context import ProviderServices
from ..runtime.sqlite import Database
from ..runtime.work import Loop
from .history import PER_ALARM, RETENTION, AlarmHistoryItem
from .stats import Aggregate, decode_histogram, encode_histogram, exact, round_start

if TYPE_CHECKING:
    from . import Metrics
    from .alarm import Alarm

TIERS = ((60, 15 * 86_400), (300, 63 * 86_400), (3600, None))  # rollup width, kept for
MERGE_CHUNK = 400  # slots per SELECT of _merge (two variables each, well under SQLite's limit)


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps with options builds one per call


def dims_key(dimensions: dict[str, str]) -> str:
    return _COMPACT(sorted(dimensions.items()))


class LocalMetricsStore:
    def __init__(self, data_dir: str | Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "metrics.db", durability)
        with self.db.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, ns TEXT NOT NULL, "
                "name TEXT NOT NULL, dims TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE (ns, name, dims))"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS raw (series INTEGER NOT NULL, ts REAL NOT NULL, value REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS raw_by_time ON raw (series, ts)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rollup (series INTEGER NOT NULL, tier INTEGER NOT NULL, "
                "start INTEGER NOT NULL, n REAL NOT NULL, total REAL NOT NULL, low REAL NOT NULL, "
                "high REAL NOT NULL, hist BLOB NOT NULL, PRIMARY KEY (series, tier, start)) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS alarms (ns TEXT NOT NULL, name TEXT NOT NULL, "
                "state TEXT NOT NULL, reason TEXT NOT NULL, changed REAL NOT NULL, "
                "PRIMARY KEY (ns, name))"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS alarm_history (ns TEXT NOT NULL, name TEXT NOT NULL, ts REAL NOT NULL, "
                "type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS alarm_history_by_time ON alarm_history (ns, name, ts)")
        self._ids: dict[tuple[str, str, str], int] = {}

    def close(self) -> None:
        self.db.close()


class LocalMetricsBackend:
    capabilities = frozenset({"percentiles", "high_resolution", "alarms", "alarm_evaluation"})

    def __init__(self, store: LocalMetricsStore, namespace: str, retention_days: int, raw_hours: float = 3) -> None:
        self.store = store
        self.ns = namespace
        self.retention = retention_days * 86_400
        self.raw_keep = raw_hours * 3600

    # -- writing --------------------------------------------------------------------------------
    def _series(self, conn: Any, name: str, dims: str, unit: str) -> int:
        key = (self.ns, name, dims)
        found = self.store._ids.get(key)
        if found is None:
            conn.execute(
                "INSERT OR IGNORE INTO series (ns, name, dims, unit) VALUES (?, ?, ?, ?)", (self.ns, name, dims, unit)
            )
            found = conn.execute("SELECT id FROM series WHERE ns = ? AND name = ? AND dims = ?", key).fetchone()[0]
            self.store._ids[key] = found
        return found

    def put(self, points: list[dict[str, Any]]) -> None:
        """``points``: validated dicts of name, value, unit, dimensions, timestamp, resolution."""

        def write(conn: Any) -> None:
            minutes: dict[tuple[int, int], Aggregate] = defaultdict(Aggregate)
            raw = []
            for p in points:
                sid = self._series(conn, p["name"], dims_key(p["dimensions"]), p["unit"])
                minutes[sid, int(p["timestamp"] // 60 * 60)].add(p["value"])
                if p["resolution"] == 1:
                    raw.append((sid, p["timestamp"], p["value"]))
            if raw:
                conn.executemany("INSERT INTO raw (series, ts, value) VALUES (?, ?, ?)", raw)
            self._merge(conn, 60, minutes)

        self.store.db.together(write)  # committed with the puts other threads make meanwhile

    @staticmethod
    def _merge(conn: Any, tier: int, aggregates: dict[tuple[int, int], Aggregate]) -> None:
        """Fold ``aggregates`` into the stored rollups: the existing rows in one SELECT per ``MERGE_CHUNK``
        slots, not one per slot (inside the write lock every statement gives the GIL away, and under load
        getting it back costs up to a switch interval: a put's transaction grew with its statements)."""
        keys = list(aggregates)
        for at in range(0, len(keys), MERGE_CHUNK):
            chunk = keys[at : at + MERGE_CHUNK]
            pairs = ", ".join("(?, ?)" for _ in chunk)
            found = conn.execute(  # a join on the primary key (a row-value IN over VALUES scans the table)
                f"WITH k(series, start) AS (VALUES {pairs}) SELECT r.series, r.start, r.n, r.total, r.low, "
                "r.high, r.hist FROM k CROSS JOIN rollup r ON r.series = k.series AND r.tier = ? AND r.start = k.start",
                (*(v for key in chunk for v in key), tier),
            ).fetchall()
            for sid, start, n, total, low, high, hist in found:
                stored = Aggregate(n, total, low, high, decode_histogram(hist))
                stored.merge(aggregates[sid, start])  # the few new buckets into the many stored, not the reverse
                aggregates[sid, start] = stored
        rows = [
            (sid, tier, start, agg.count, agg.total, agg.low, agg.high, encode_histogram(agg.histogram))
            for (sid, start), agg in aggregates.items()
        ]
        conn.executemany("INSERT OR REPLACE INTO rollup VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # -- reading --------------------------------------------------------------------------------
    def query(
        self, name: str, dimensions: dict[str, str], stats: list[str], start: float, end: float, period: int, now: float
    ) -> tuple[list[tuple[float, dict[str, float | None]]], str | None]:
        found, unit = self.aggregates(
            name, dimensions, start, end, period, now, need_histograms=any(s.startswith("p") for s in stats)
        )
        return [(t, {s: agg.statistic(s) for s in stats}) for t, agg in found], unit

    def aggregates(
        self,
        name: str,
        dimensions: dict[str, str],
        start: float,
        end: float,
        period: int,
        now: float,
        need_histograms: bool = True,
    ) -> tuple[list[tuple[int, Aggregate]], str | None]:
        conn = self.store.db.conn
        row = conn.execute(
            "SELECT id, unit FROM series WHERE ns = ? AND name = ? AND dims = ?", (self.ns, name, dims_key(dimensions))
        ).fetchone()
        if row is None:
            return [], None
        sid, unit = row
        first = round_start(start, period, now)
        buckets: dict[int, Aggregate] = {}
        if period < 60:
            grouped: dict[int, list[float]] = defaultdict(list)
            for ts, value in conn.execute(
                "SELECT ts, value FROM raw WHERE series = ? AND ts >= ? AND ts < ?", (sid, first, end)
            ):
                grouped[first + int((ts - first) // period) * period].append(value)
            return sorted((t, exact(vs)) for t, vs in grouped.items()), unit
        tiers = [t for t, _ in TIERS if period % t == 0]
        marks = ",".join("?" * len(tiers))
        for slot, n, total, low, high, hist in conn.execute(
            f"SELECT start, n, total, low, high, hist FROM rollup WHERE series = ? AND tier IN ({marks}) "
            "AND start >= ? AND start < ? ORDER BY start",
            (sid, *tiers, first, end),
        ):
            key = first + (slot - first) // period * period
            part = Aggregate(n, total, low, high, decode_histogram(hist) if need_histograms else {})
            if key in buckets:
                buckets[key].merge(part)
            else:
                buckets[key] = part
        return sorted(buckets.items()), unit

    def list(self, name: str | None) -> list[tuple[str, dict[str, str]]]:
        sql, args = "SELECT name, dims FROM series WHERE ns = ?", [self.ns]
        if name is not None:
            sql, args = sql + " AND name = ?", [*args, name]
        return [(n, dict(json.loads(d))) for n, d in self.store.db.conn.execute(sql + " ORDER BY name, dims", args)]

    # -- ageing ---------------------------------------------------------------------------------
    def background(self, metrics: Metrics) -> builtins.list[Loop]:  # list: the method above
        """CloudWatch's own jobs locally: alarms every second (only complete periods count, so this is
        as often as it can matter); downsampling and retention hourly."""
        next_compact = [0.0]

        def step() -> int:
            if time.monotonic() >= next_compact[0]:
                next_compact[0] = time.monotonic() + 3600
                metrics.compact()
            if metrics.alarms:
                metrics.evaluate_alarms()
            return 0

        return [Loop(f"metrics:{metrics.name}", step, idle=1.0)]

    def compact(self, now: float | None = None) -> int:
        """Drop expired raw points, fold old rollups into the next tier, drop what retention ends."""
        now = clock.now() if now is None else now
        changed = 0
        with self.store.db.write() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM series WHERE ns = ?", (self.ns,))]
            marks = ",".join("?" * len(ids)) or "NULL"
            changed += conn.execute(
                f"DELETE FROM raw WHERE series IN ({marks}) AND ts < ?", (*ids, now - self.raw_keep)
            ).rowcount
            for (tier, keep), (coarser, _) in itertools.pairwise(TIERS):
                if keep is None:  # only the last tier keeps its data until retention ends
                    break
                folded: dict[tuple[int, int], Aggregate] = defaultdict(Aggregate)
                cutoff = now - keep
                for sid, start, n, total, low, high, hist in conn.execute(
                    f"SELECT series, start, n, total, low, high, hist FROM rollup WHERE series IN ({marks}) "
                    "AND tier = ? AND start < ?",
                    (*ids, tier, cutoff),
                ).fetchall():
                    folded[sid, start // coarser * coarser].merge(
                        Aggregate(n, total, low, high, decode_histogram(hist))
                    )
                if folded:
                    changed += conn.execute(
                        f"DELETE FROM rollup WHERE series IN ({marks}) AND tier = ? AND start < ?", (*ids, tier, cutoff)
                    ).rowcount
                    self._merge(conn, coarser, folded)
            changed += conn.execute(
                f"DELETE FROM rollup WHERE series IN ({marks}) AND start < ?", (*ids, now - self.retention)
            ).rowcount
            changed += conn.execute(
                "DELETE FROM alarm_history WHERE ns = ? AND ts < ?", (self.ns, now - RETENTION)
            ).rowcount
        return changed

    # -- alarm state ----------------------------------------------------------------------------
    def alarm_state(self, name: str, alarm: Alarm | None = None) -> tuple[str, str, float] | None:
        row = self.store.db.conn.execute(
            "SELECT state, reason, changed FROM alarms WHERE ns = ? AND name = ?", (self.ns, name)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def set_alarm_state(
        self, name: str, state: str, reason: str, now: float, history: Sequence[AlarmHistoryItem] = ()
    ) -> None:
        """The new state and its history items in one transaction; history past two weeks or past
        ``PER_ALARM`` items of this alarm goes as the new items arrive."""
        with self.store.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO alarms VALUES (?, ?, ?, ?, ?)", (self.ns, name, state, reason, now))
            self._append(conn, name, history, now)

    def record_alarm_history(self, name: str, history: Sequence[AlarmHistoryItem], now: float) -> None:
        """History with no state change (the actions a change ran)."""
        with self.store.db.write() as conn:
            self._append(conn, name, history, now)

    def _append(self, conn: Any, name: str, history: Sequence[AlarmHistoryItem], now: float) -> None:
        if not history:
            return
        conn.executemany(
            "INSERT INTO alarm_history VALUES (?, ?, ?, ?, ?, ?)",
            [(self.ns, name, h.timestamp, h.type, h.summary, json.dumps(h.data)) for h in history],
        )
        conn.execute(
            "DELETE FROM alarm_history WHERE ns = ? AND name = ? AND (ts < ? OR rowid NOT IN (SELECT rowid "
            "FROM alarm_history WHERE ns = ? AND name = ? ORDER BY ts DESC, rowid DESC LIMIT ?))",
            (self.ns, name, now - RETENTION, self.ns, name, PER_ALARM),
        )

    def alarm_history(
        self, alarm: Alarm, kind: str | None, start: float | None, end: float | None, limit: int
    ) -> builtins.list[AlarmHistoryItem]:
        """Newest first, as DescribeAlarmHistory's default ScanBy (TimestampDescending)."""
        sql = "SELECT ts, type, summary, data FROM alarm_history WHERE ns = ? AND name = ? AND ts >= ?"
        args: builtins.list[Any] = [self.ns, alarm.name, clock.now() - RETENTION]
        for clause, value in (("type = ?", kind), ("ts >= ?", start), ("ts <= ?", end)):
            if value is not None:
                sql, args = f"{sql} AND {clause}", [*args, value]
        rows = self.store.db.conn.execute(f"{sql} ORDER BY ts DESC, rowid DESC LIMIT ?", (*args, limit))
        return [AlarmHistoryItem(alarm.name, ts, t, summary, json.loads(data)) for ts, t, summary, data in rows]

    def drop(self) -> None:
        with self.store.db.write() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM series WHERE ns = ?", (self.ns,))]
            for sid in ids:
                conn.execute("DELETE FROM raw WHERE series = ?", (sid,))
                conn.execute("DELETE FROM rollup WHERE series = ?", (sid,))
            conn.execute("DELETE FROM series WHERE ns = ?", (self.ns,))
            conn.execute("DELETE FROM alarms WHERE ns = ?", (self.ns,))
            conn.execute("DELETE FROM alarm_history WHERE ns = ?", (self.ns,))
        self.store._ids = {k: v for k, v in self.store._ids.items() if k[0] != self.ns}


def open_backend(metrics: Metrics, services: ProviderServices) -> LocalMetricsBackend:
    """The registry's factory: every namespace of an app in one SQLite file of minute rollups."""
    store = services.local_store(LocalMetricsStore)
    return LocalMetricsBackend(store, metrics.namespace, metrics.retention_days)
