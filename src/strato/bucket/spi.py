"""The bucket provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

import builtins

from ..core.hints import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import ListPage, ObjectInfo
    from .versions import Deleted, VersionPage

CAPABILITIES = frozenset({"presign", "multipart", "lifecycle", "events", "ranges", "versioning"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:GetObject",),
    "list": ("s3:ListBucket",),
    "write": ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"),
    "delete": ("s3:DeleteObject",),
}
#: a versioned bucket's actions also reach versions by id
VERSIONED_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:GetObject", "s3:GetObjectVersion"),
    "list": ("s3:ListBucket", "s3:ListBucketVersions"),
    "write": ACTIONS["write"],
    "delete": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}


class BucketBackend(Protocol):
    capabilities: frozenset[str]

    def put(self, key: str, body: Iterator[bytes], content_type: str, metadata: dict[str, str]) -> ObjectInfo: ...
    def open(
        self, key: str, byte_range: tuple[int, int | None] | None, version_id: str | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]: ...
    def head(self, key: str, version_id: str | None = None) -> ObjectInfo: ...
    def delete(self, key: str, version_id: str | None = None) -> Deleted: ...
    def list_versions(self, prefix: str, limit: int, cursor: str | None) -> VersionPage: ...
    def copy(self, source: str, target: str) -> ObjectInfo: ...
    def list(self, prefix: str, delimiter: str | None, limit: int, cursor: str | None) -> ListPage: ...
    def presign(
        self,
        method: str,
        key: str,
        expires_in: int,
        content_type: str | None,
        upload_id: str | None = None,
        part: int | None = None,
    ) -> str: ...
    def start_multipart(self, key: str, content_type: str, metadata: dict[str, str]) -> str: ...
    def upload_part(self, key: str, upload_id: str, number: int, body: Iterator[bytes]) -> str: ...
    def list_parts(self, key: str, upload_id: str) -> builtins.list[dict[str, Any]]: ...
    def complete_multipart(self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]]) -> ObjectInfo: ...
    def abort_multipart(self, key: str, upload_id: str) -> None: ...
    def ensure(self) -> None: ...
    def drop(self) -> None: ...
