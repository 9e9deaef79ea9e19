"""Multipart uploads of the local bucket provider: parts are files of their own until completion
stitches them into one object, with S3's rules (part numbers, sizes, ETags) and errors."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.errors import NotFound, ValidationError
from . import CHUNK, MIN_PART_BYTES, ObjectInfo

if TYPE_CHECKING:
    from .local import BucketStore


class LocalMultipart:
    """Mixed into ``LocalBucketBackend``, whose files, store and object records it uses."""

    if TYPE_CHECKING:
        name: str
        store: BucketStore

        def _request(self, kind: str) -> None: ...
        def _write(self, body: Iterator[bytes], limit: int | None = None) -> tuple[str, int, Any]: ...
        def _unlink(self, file_id: str | None) -> None: ...
        def _path(self, file_id: str) -> str: ...
        def _record(
            self, key: str, file_id: str, size: int, etag: str, content_type: str, metadata: dict, event: str
        ) -> ObjectInfo: ...

    def start_multipart(self, key: str, content_type: str, metadata: dict) -> str:
        upload_id = os.urandom(24).hex()
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT INTO b_uploads VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, self.name, key, content_type, json.dumps(metadata), clock.now()),
            )
        return upload_id

    def _upload(self, conn: Any, key: str, upload_id: str) -> tuple:
        row = conn.execute(
            "SELECT key, content_type, metadata FROM b_uploads WHERE upload_id = ? AND bucket = ?",
            (upload_id, self.name),
        ).fetchone()
        if row is None or row[0] != key:
            raise NotFound(f"NoSuchUpload: no multipart upload {upload_id[:16]}... for {key!r}")
        return row

    def upload_part(self, key: str, upload_id: str, number: int, body: Iterator[bytes]) -> str:
        self._request("class_a_requests")
        self._upload(self.store.db.conn, key, upload_id)
        file_id, size, md5 = self._write(body)
        etag = f'"{md5.hexdigest()}"'
        with self.store.db.write() as conn:
            self._upload(conn, key, upload_id)
            old = conn.execute(
                "SELECT file FROM b_parts WHERE upload_id = ? AND part = ?", (upload_id, number)
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO b_parts VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, number, size, etag, md5.digest(), file_id),
            )
        if old:
            self._unlink(old[0])
        return etag

    def list_parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        conn = self.store.db.conn
        self._upload(conn, key, upload_id)
        rows = conn.execute(
            "SELECT part, size, etag FROM b_parts WHERE upload_id = ? ORDER BY part", (upload_id,)
        ).fetchall()
        return [{"number": n, "size": s, "etag": e} for n, s, e in rows]

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> ObjectInfo:
        conn = self.store.db.conn
        _, content_type, metadata = self._upload(conn, key, upload_id)
        stored = {
            n: (s, e, m, f)
            for n, s, e, m, f in conn.execute(
                "SELECT part, size, etag, md5, file FROM b_parts WHERE upload_id = ?", (upload_id,)
            )
        }
        chosen = []
        for index, (number, etag) in enumerate(parts):
            if number not in stored or stored[number][1].strip('"') != etag.strip('"'):
                raise ValidationError(f"InvalidPart: part {number} was not uploaded with ETag {etag}")
            if index < len(parts) - 1 and stored[number][0] < MIN_PART_BYTES:
                raise ValidationError(
                    f"EntityTooSmall: part {number} is {stored[number][0]} bytes; every part but "
                    f"the last must be at least {MIN_PART_BYTES} (5 MiB)"
                )
            chosen.append(stored[number])

        def body() -> Iterator[bytes]:
            for _, _, _, file_id in chosen:
                with open(self._path(file_id), "rb") as handle:
                    while chunk := handle.read(CHUNK):
                        yield chunk

        file_id, size, _ = self._write(body(), limit=5 * 1024**4)
        etag = f'"{hashlib.md5(b"".join(c[2] for c in chosen), usedforsecurity=False).hexdigest()}-{len(chosen)}"'
        try:
            info = self._record(
                key, file_id, size, etag, content_type, json.loads(metadata), "ObjectCreated:CompleteMultipartUpload"
            )
        except BaseException:
            self._unlink(file_id)
            raise
        self.abort_multipart(key, upload_id, missing_ok=True)
        return info

    def abort_multipart(self, key: str, upload_id: str, missing_ok: bool = False) -> None:
        with self.store.db.write() as conn:
            if not missing_ok:
                self._upload(conn, key, upload_id)
            files = [r[0] for r in conn.execute("SELECT file FROM b_parts WHERE upload_id = ?", (upload_id,))]
            conn.execute("DELETE FROM b_parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM b_uploads WHERE upload_id = ?", (upload_id,))
        for file_id in files:
            self._unlink(file_id)

    # -- lifecycle and events -------------------------------------------------------------------
