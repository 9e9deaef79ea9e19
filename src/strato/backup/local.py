"""``strato backup`` / ``strato restore``: a consistent snapshot of a local data directory, taken while
``strato dev`` keeps running, and its return.

The snapshot's point in time is one instant for every database: the backup takes the write lock of each
SQLite file (BEGIN IMMEDIATE, all or none, retried), opens a read transaction on each while no writer can
commit anywhere, and lets the writers go; each database is then copied from its read transaction with
SQLite's online backup API (``sqlite3.Connection.backup``), which sees exactly the data as of that instant
however long the copy takes. Writers wait for the locks a few milliseconds at most. Object files are
copied afterwards, those the copied bucket metadata names, so every indexed object has its bytes: a file
freed after the instant is retired rather than deleted while the backup's pin exists (runtime/backup_guard.py).
Other files (signing keys, secrets) are copied as they are; SQLite's -wal / -shm files are not needed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ConfigurationError, StratoError
from ..runtime.backup_guard import PIN, RETIRED, RUNNING_LOCK, exclusive, pin

MANIFEST = "strato-backup.json"
SQLITE_HEADER = b"SQLite format 3\x00"
SKIP_SUFFIXES = ("-wal", "-shm", "-journal")
LOCK_WAIT_S = 0.2  # per database, before letting go of every lock and trying again
LOCK_ATTEMPTS = 200


@dataclass
class Snapshot:
    path: Path
    databases: list[str] = field(default_factory=list)
    objects: int = 0
    files: int = 0
    bytes: int = 0
    locked_ms: float = 0.0


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _walk(data_dir: Path) -> tuple[list[Path], list[Path]]:
    """(databases, plain files) under ``data_dir``, relative; bucket object folders are left to _copy_objects."""
    databases: list[Path] = []
    files: list[Path] = []
    for root, dirs, names in os.walk(data_dir):
        rel_root = Path(root).relative_to(data_dir)
        if rel_root.parts[:1] == ("buckets",):
            dirs[:] = []  # object bytes: copied by what the metadata names
            continue
        for name in names:
            rel = rel_root / name
            if name.endswith(SKIP_SUFFIXES) or name in (PIN, RUNNING_LOCK, MANIFEST):
                continue
            (databases if is_sqlite(data_dir / rel) else files).append(rel)
    return sorted(databases), sorted(files)


def _freeze(data_dir: Path, databases: list[Path]) -> tuple[list[sqlite3.Connection], float]:
    """A read transaction on every database, all started while no database could commit a write."""
    for attempt in range(LOCK_ATTEMPTS):
        locks: list[sqlite3.Connection] = []
        try:
            started = time.perf_counter()
            for rel in databases:  # a fixed order; a writer holding one lock never waits long for us
                conn = sqlite3.connect(data_dir / rel, isolation_level=None, timeout=LOCK_WAIT_S)
                locks.append(conn)
                conn.execute("BEGIN IMMEDIATE")
            readers = []
            for rel in databases:
                reader = sqlite3.connect(data_dir / rel, isolation_level=None, check_same_thread=False)
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
                readers.append(reader)
            return readers, (time.perf_counter() - started) * 1000
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            for conn in locks:
                conn.close()  # rolls back BEGIN IMMEDIATE: the writers go on
        time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 10))
    raise StratoError(f"could not lock every database of {data_dir} at once: a writer holds one for too long")


def backup(data_dir: Path, target: Path) -> Snapshot:
    """Snapshot ``data_dir`` (in use or not) into ``target``, a new or empty directory."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigurationError(f"no data directory at {data_dir}: run `strato dev` first or pass --data")
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ConfigurationError(f"{target} is not empty: back up into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    snap = Snapshot(target)
    with pin(data_dir):
        databases, files = _walk(data_dir)
        readers, snap.locked_ms = _freeze(data_dir, databases)
        try:
            for rel, reader in zip(databases, readers, strict=True):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                out = sqlite3.connect(target / rel)
                try:
                    reader.backup(out)  # one step: the whole file as of the reader's snapshot
                finally:
                    out.close()
                snap.databases.append(str(rel))
        finally:
            for reader in readers:
                reader.close()
        for rel in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(data_dir / rel, target / rel)
            except FileNotFoundError:
                continue  # a file removed meanwhile (a temp file)
            snap.files += 1
        snap.objects = _copy_objects(data_dir, target)
    snap.bytes = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    manifest = {
        "created": time.time(),
        "source": str(data_dir.resolve()),
        "databases": snap.databases,
        "files": snap.files,
        "objects": snap.objects,
        "bytes": snap.bytes,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _purge_retired(data_dir)
    return snap


def _copy_objects(data_dir: Path, target: Path) -> int:
    """The files the snapshot's bucket metadata names (current objects, versions, upload parts)."""
    meta = target / "buckets.db"
    if not meta.exists():
        return 0
    conn = sqlite3.connect(meta)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = set(conn.execute("SELECT bucket, file FROM b_objects").fetchall())
        if "b_versions" in tables:
            rows |= set(conn.execute("SELECT bucket, file FROM b_versions WHERE file IS NOT NULL").fetchall())
        if "b_parts" in tables:
            rows |= set(
                conn.execute("SELECT u.bucket, p.file FROM b_parts p JOIN b_uploads u USING (upload_id)").fetchall()
            )
    finally:
        conn.close()
    copied = 0
    for bucket, file_id in sorted(rows):
        relative = Path("buckets") / bucket / "objects" / file_id[:2] / file_id
        sources = [data_dir / relative, data_dir / "buckets" / bucket / RETIRED / file_id]
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        for source in sources:
            try:
                shutil.copy2(source, target / relative)
                copied += 1
                break
            except FileNotFoundError:
                continue  # replaced meanwhile: retired, look there
        else:
            raise StratoError(f"object file {relative} named by the snapshot is missing from {data_dir}")
    return copied


def _purge_retired(data_dir: Path) -> None:
    for retired in (data_dir / "buckets").glob(f"*/{RETIRED}"):
        shutil.rmtree(retired, ignore_errors=True)


def restore(source: Path, data_dir: Path) -> Path:
    """Replace ``data_dir`` by the backup in ``source``; the replaced folder is kept as ``<data>.before-restore``
    (its path is returned). Refused while ``strato dev`` or ``strato worker`` runs on ``data_dir``."""
    source, data_dir = Path(source), Path(data_dir)
    if not (source / MANIFEST).exists():
        raise ConfigurationError(f"{source} is not a strato backup (no {MANIFEST}): pass a folder `strato backup` made")
    staging = data_dir.with_name(f"{data_dir.name}.restoring")
    previous = data_dir.with_name(f"{data_dir.name}.before-restore")
    with exclusive(data_dir):  # a dev server starting meanwhile waits for the swap
        shutil.rmtree(staging, ignore_errors=True)
        try:
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns(MANIFEST))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(previous, ignore_errors=True)
        data_dir.rename(previous)
        staging.rename(data_dir)
    return previous
