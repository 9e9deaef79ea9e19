"""What the local data would occupy on AWS for ``strato cost``: bucket bytes by storage class (each object
version in the class its lifecycle transitions give it at its age), and the AWS Backup storage a plan keeps.

Storage classes, us-east-1 list prices per GB-month (https://aws.amazon.com/s3/pricing/): Intelligent-Tiering
is priced at its Frequent Access tier, an upper bound (objects unread for 30 / 90 days move to cheaper
tiers, which local usage cannot foresee), plus its monitoring fee per object of 128 KB or more.

Backup storage (https://aws.amazon.com/backup/pricing/, warm storage): DynamoDB backups are full copies
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/backup-restore-billing.html bills each
backup by its size), so a plan holds table size x the recovery points it keeps; S3 backups are incremental
after the first full one, so a plan holds about the bucket's size (every version) plus what changes, which
local data cannot foretell.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

#: storage class -> cost.PRICES unit
CLASS_UNITS = {
    "STANDARD": "storage_gb_month",
    "INTELLIGENT_TIERING": "storage_gb_month_intelligent_tiering",
    "STANDARD_IA": "storage_gb_month_standard_ia",
    "ONEZONE_IA": "storage_gb_month_onezone_ia",
    "GLACIER_IR": "storage_gb_month_glacier_ir",
    "GLACIER": "storage_gb_month_glacier",
    "DEEP_ARCHIVE": "storage_gb_month_deep_archive",
}
PRICES: dict[tuple[str, str], tuple[float, str]] = {
    ("s3", "storage_gb_month_intelligent_tiering"): (
        0.023,
        "GB-month of S3 Intelligent-Tiering (Frequent Access tier)",
    ),
    ("s3", "it_monitored_objects"): (0.0025 / 1000, "Intelligent-Tiering monitoring, per object of 128 KB or more"),
    ("s3", "storage_gb_month_standard_ia"): (0.0125, "GB-month of S3 Standard-IA"),
    ("s3", "storage_gb_month_onezone_ia"): (0.01, "GB-month of S3 One Zone-IA"),
    ("s3", "storage_gb_month_glacier_ir"): (0.004, "GB-month of S3 Glacier Instant Retrieval"),
    ("s3", "storage_gb_month_glacier"): (0.0036, "GB-month of S3 Glacier Flexible Retrieval"),
    ("s3", "storage_gb_month_deep_archive"): (0.00099, "GB-month of S3 Glacier Deep Archive"),
    ("backup", "dynamodb_gb_month"): (0.10, "GB-month of AWS Backup storage, DynamoDB (warm)"),
    ("backup", "s3_gb_month"): (0.05, "GB-month of AWS Backup storage, S3 (warm)"),
}
IT_MONITORED_MIN_BYTES = 128 * 1024
GB = 1024**3


def _rows(conn: sqlite3.Connection) -> list[tuple[str, int, float]]:
    """(bucket, size, last_modified) of every stored object version (current objects of unversioned buckets)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "b_versions" not in tables:
        return conn.execute("SELECT bucket, size, last_modified FROM b_objects").fetchall()
    return conn.execute(
        "SELECT bucket, size, last_modified FROM b_versions WHERE marker = 0 UNION ALL "
        "SELECT bucket, size, last_modified FROM b_objects WHERE bucket NOT IN (SELECT DISTINCT bucket FROM b_versions)"
    ).fetchall()


def bucket_storage(
    data_dir: Path, transitions: dict[str, dict[int, str]] | None, now: float
) -> tuple[dict[tuple[str, str], float], dict[str, int]]:
    """({("s3", unit): GB}, {bucket: bytes}) for what the local buckets hold now."""
    path = Path(data_dir) / "buckets.db"
    out: dict[tuple[str, str], float] = {}
    per_bucket: dict[str, int] = {}
    if not path.exists():
        return out, per_bucket
    conn = sqlite3.connect(path)
    try:
        rows = _rows(conn)
    except sqlite3.Error:
        return out, per_bucket
    finally:
        conn.close()
    out[("s3", "storage_gb_month")] = 0.0
    for bucket, size, modified in rows:
        age_days = max(0.0, now - modified) / 86_400
        storage_class = "STANDARD"
        for days, named in sorted((transitions or {}).get(bucket, {}).items()):
            if age_days >= days:
                storage_class = named
        key = ("s3", CLASS_UNITS[storage_class])
        out[key] = out.get(key, 0.0) + size / GB
        if storage_class == "INTELLIGENT_TIERING" and size >= IT_MONITORED_MIN_BYTES:
            out[("s3", "it_monitored_objects")] = out.get(("s3", "it_monitored_objects"), 0.0) + 1
        per_bucket[bucket] = per_bucket.get(bucket, 0) + size
    return out, per_bucket


def table_bytes(data_dir: Path) -> dict[str, int]:
    """Bytes of items per local table (its SQLite table ``t_<stored_as>_<name>``)."""
    path = Path(data_dir) / "tables.db"
    if not path.exists():
        return {}
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't_%'")]
        return {n: conn.execute(f'SELECT coalesce(sum(length(doc)), 0) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def backup_storage(
    tables: dict[str, int], buckets: dict[str, int], plan: Any, covered_tables: list[str], covered_buckets: list[str]
) -> dict[tuple[str, str], float]:
    """GB-months of AWS Backup storage ``plan`` keeps in its steady state for the covered tables / buckets."""
    if plan is None:
        return {}
    table_gb = sum(tables.get(name, 0) for name in covered_tables) / GB
    bucket_gb = sum(buckets.get(name, 0) for name in covered_buckets) / GB
    return {
        ("backup", "dynamodb_gb_month"): table_gb * plan.retained(),
        ("backup", "s3_gb_month"): bucket_gb,
    }
