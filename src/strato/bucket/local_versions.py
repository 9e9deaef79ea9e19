"""Versioning for the local bucket provider: every version a row of ``b_versions`` (delete markers too),
newest the highest ``seq`` of its key. ``b_objects`` keeps holding each key's current version that is not
a marker, so plain get / list / copy work unchanged; a replaced file is kept while a version names it.

S3's rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html, .../DeleteMarker.html,
.../DeletingObjectVersions.html): a DELETE without a version id adds a delete marker (even for a key with
no object); a GET of a key whose current version is a marker is NoSuchKey; a GET of a marker by its id is
405 MethodNotAllowed; a DELETE with a version id removes that version for good, and removing the current
marker makes the version before it current again. Objects stored before versioning get version id "null".
"""

from __future__ import annotations

import base64
import json
import os
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.errors import NotFound, ValidationError
from ..runtime.keyrange import successor
from . import ObjectInfo
from .versions import NULL_VERSION, Deleted, ObjectVersion, VersionPage

if TYPE_CHECKING:
    from . import Bucket
    from .local import BucketStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS b_versions (
    bucket TEXT NOT NULL, kb BLOB NOT NULL, seq INTEGER NOT NULL, version_id TEXT NOT NULL, key TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, content_type TEXT NOT NULL, metadata TEXT NOT NULL,
    last_modified REAL NOT NULL, file TEXT, marker INTEGER NOT NULL, noncurrent_since REAL,
    PRIMARY KEY (bucket, kb, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS b_versions_id ON b_versions (bucket, kb, version_id)
"""
_COLUMNS = "key, size, etag, content_type, metadata, last_modified, file, version_id, marker, seq"


def new_version_id() -> str:
    """32 URL-safe characters, opaque like S3's."""
    return base64.urlsafe_b64encode(os.urandom(24)).decode()


class LocalVersions:
    """Mixed into ``LocalBucketBackend``, whose store, files and events it uses."""

    if TYPE_CHECKING:
        name: str
        store: BucketStore
        bucket: Bucket

        def _request(self, kind: str) -> None: ...
        def _unlink(self, file_id: str | None) -> None: ...
        def _events(self, conn: Any, kind: str, name: str, key: str, size: int, etag: str) -> None: ...

    _adopted = False

    def _adopt(self, conn: Any) -> None:
        """Objects stored before the bucket was versioned become version "null" (once per process)."""
        if self._adopted:
            return
        conn.execute(
            "INSERT OR IGNORE INTO b_versions SELECT bucket, kb, 0, ?, key, size, etag, content_type, metadata, "
            "last_modified, file, 0, NULL FROM b_objects o WHERE bucket = ? AND NOT EXISTS "
            "(SELECT 1 FROM b_versions v WHERE v.bucket = o.bucket AND v.kb = o.kb)",
            (NULL_VERSION, self.name),
        )
        self._adopted = True

    def _latest(self, conn: Any, kb: bytes) -> tuple | None:
        return conn.execute(
            f"SELECT {_COLUMNS} FROM b_versions WHERE bucket = ? AND kb = ? ORDER BY seq DESC LIMIT 1",
            (self.name, kb),
        ).fetchone()

    def _add_version(self, conn: Any, key: str, row: tuple, marker: bool, now: float) -> tuple[str, int]:
        """Append a version (``row``: size, etag, content_type, metadata json, file) as the key's newest."""
        self._adopt(conn)
        kb = key.encode()
        latest = self._latest(conn, kb)
        seq = latest[9] + 1 if latest else 1
        if latest:
            conn.execute(
                "UPDATE b_versions SET noncurrent_since = ? WHERE bucket = ? AND kb = ? AND seq = ?",
                (now, self.name, kb, latest[9]),
            )
        version_id = new_version_id()
        conn.execute(
            "INSERT INTO b_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (self.name, kb, seq, version_id, key, *row[:4], now, row[4], int(marker)),
        )
        return version_id, seq

    def _record_version(
        self, key: str, file_id: str, size: int, etag: str, content_type: str, metadata: dict, event: str
    ) -> ObjectInfo:
        now = clock.now()
        meta = json.dumps(metadata)
        with self.store.db.write() as conn:
            version_id, _ = self._add_version(conn, key, (size, etag, content_type, meta, file_id), False, now)
            conn.execute(
                "INSERT OR REPLACE INTO b_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.name, key.encode(), key, size, etag, content_type, meta, now, file_id),
            )
            self._events(conn, "created", event, key, size, etag)
        return ObjectInfo(key, size, etag, content_type, metadata, now, version_id)

    def _version_row(self, key: str, version_id: str | None) -> tuple:
        """The row of one version (the current one when ``version_id`` is None); S3's errors otherwise."""
        self._request("class_b_requests")
        conn = self.store.db.conn
        kb = key.encode()
        if version_id is None:
            row = self._latest(conn, kb)
            if row is None:  # stored before versioning and not yet adopted
                row = conn.execute(
                    "SELECT key, size, etag, content_type, metadata, last_modified, file, ?, 0, 0 FROM b_objects "
                    "WHERE bucket = ? AND kb = ?",
                    (NULL_VERSION, self.name, kb),
                ).fetchone()
            if row is None or row[8]:
                marker = " (its current version is a delete marker)" if row else ""
                raise NotFound(f"NoSuchKey: bucket {self.name!r} has no object {key!r}{marker}")
            return row
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM b_versions WHERE bucket = ? AND kb = ? AND version_id = ?",
            (self.name, kb, version_id),
        ).fetchone()
        if row is None and version_id == NULL_VERSION:
            return self._version_row(key, None)
        if row is None:
            raise NotFound(f"NoSuchVersion: object {key!r} of bucket {self.name!r} has no version {version_id!r}")
        if row[8]:
            raise NotFound(f"MethodNotAllowed: version {version_id!r} of {key!r} is a delete marker, not an object")
        return row

    @staticmethod
    def _version_info(row: tuple) -> ObjectInfo:
        return ObjectInfo(row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] != "{}" else {}, row[5], row[7])

    def _delete_version(self, key: str, version_id: str | None) -> Deleted:
        kb = key.encode()
        now = clock.now()
        with self.store.db.write() as conn:
            self._adopt(conn)
            if version_id is None:  # a delete marker becomes the current version
                marker_id, _ = self._add_version(conn, key, (0, "", "", "{}", None), True, now)
                conn.execute("DELETE FROM b_objects WHERE bucket = ? AND kb = ?", (self.name, kb))
                self._events(conn, "deleted", "ObjectRemoved:DeleteMarkerCreated", key, 0, "")
                return Deleted(key, marker_id, True)
            row = conn.execute(
                "SELECT seq, file, marker FROM b_versions WHERE bucket = ? AND kb = ? AND version_id = ?",
                (self.name, kb, version_id),
            ).fetchone()
            if row is None:
                return Deleted(key, version_id, False)
            conn.execute("DELETE FROM b_versions WHERE bucket = ? AND kb = ? AND seq = ?", (self.name, kb, row[0]))
            self._make_current(conn, kb)
            self._events(conn, "deleted", "ObjectRemoved:Delete", key, 0, "")
        self._unlink(row[1])
        return Deleted(key, version_id, bool(row[2]))

    def _make_current(self, conn: Any, kb: bytes) -> None:
        """After a version is removed: ``b_objects`` shows the key's newest version, unless it is a marker."""
        latest = self._latest(conn, kb)
        if latest is None or latest[8]:
            conn.execute("DELETE FROM b_objects WHERE bucket = ? AND kb = ?", (self.name, kb))
            return
        conn.execute(
            "UPDATE b_versions SET noncurrent_since = NULL WHERE bucket = ? AND kb = ? AND seq = ?",
            (self.name, kb, latest[9]),
        )
        conn.execute(
            "INSERT OR REPLACE INTO b_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.name, kb, *latest[:7]),
        )

    def list_versions(self, prefix: str, limit: int, cursor: str | None) -> VersionPage:
        """S3 ListObjectVersions: keys in byte order, newest version first within a key."""
        self._request("class_a_requests")
        with self.store.db.write() as conn:
            self._adopt(conn)
        raw = prefix.encode()
        sql = (
            f"SELECT {_COLUMNS}, (SELECT max(seq) FROM b_versions l WHERE l.bucket = v.bucket AND l.kb = v.kb), kb "
            "FROM b_versions v WHERE bucket = ? AND kb >= ?"
        )
        args: list[Any] = [self.name, raw]
        upper = successor(raw) if raw else None
        if upper is not None:
            sql += " AND kb < ?"
            args.append(upper)
        if cursor:
            try:
                kb_b64, seq = json.loads(base64.urlsafe_b64decode(cursor.encode()))
                after = base64.b64decode(kb_b64)
            except (ValueError, TypeError):
                raise ValidationError("invalid version cursor: pass back the cursor list_versions returned") from None
            sql += " AND (kb > ? OR (kb = ? AND seq < ?))"
            args += [after, after, int(seq)]
        rows = self.store.db.conn.execute(f"{sql} ORDER BY kb, seq DESC LIMIT {limit + 1}", args).fetchall()
        entries = [ObjectVersion(r[0], r[7], r[9] == r[10], bool(r[8]), r[1], r[2], r[5]) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            position = [base64.b64encode(last[11]).decode(), last[9]]
            next_cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
        return VersionPage(entries, next_cursor)

    def sweep_versions(self, now: float) -> int:
        """Lifecycle on a versioned bucket: expiry adds a delete marker over a current version older than
        ``expire_after_days``; noncurrent versions go for good ``noncurrent_expire_after_days`` after they
        stopped being current."""
        expired, removed = 0, []
        with self.store.db.write() as conn:
            self._adopt(conn)
            if self.bucket.expire_after_days:
                cutoff = now - self.bucket.expire_after_days * 86_400
                old = conn.execute(
                    "SELECT key FROM b_objects WHERE bucket = ? AND last_modified < ?", (self.name, cutoff)
                ).fetchall()
                for (key,) in old:
                    self._add_version(conn, key, (0, "", "", "{}", None), True, now)
                    conn.execute("DELETE FROM b_objects WHERE bucket = ? AND kb = ?", (self.name, key.encode()))
                    self._events(conn, "deleted", "LifecycleExpiration:DeleteMarkerCreated", key, 0, "")
                expired = len(old)
            if self.bucket.noncurrent_expire_after_days:
                cutoff = now - self.bucket.noncurrent_expire_after_days * 86_400
                removed = conn.execute(
                    "DELETE FROM b_versions WHERE bucket = ? AND noncurrent_since < ? RETURNING file",
                    (self.name, cutoff),
                ).fetchall()
        for (file_id,) in removed:
            self._unlink(file_id)
        return expired + len(removed)
