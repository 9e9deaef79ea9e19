"""The bucket primitive: objects with S3 semantics, on local files + SQLite or on S3.

put (bytes, str, file-like or iterator, streamed), get / open (whole or a byte range), head, delete,
copy, exists, list (prefix, delimiter, pagination), presigned GET / PUT URLs, multipart uploads with
presigned parts, lifecycle expiry and transitions, versioning (``versioning=True``: versions, delete
markers, reads and deletes by version id; see versions.py), and object events (created / deleted with
prefix / suffix filters) delivered as S3 event records.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator

from ..core.context import Context
from ..core.errors import ConfigurationError, ValidationError, utf8
from ..core.hints import TYPE_CHECKING, Any, BinaryIO
from ..core.permissions import requires
from ..core.resource import Resource
from ..events.s3 import ObjectEvent
from .checks import MAX_PARTS as MAX_PARTS
from .checks import MAX_PRESIGN_S as MAX_PRESIGN_S
from .checks import _check_range_arg, _expiry, _part, _upload, check_metadata
from .spi import ACTIONS, CAPABILITIES, VERSIONED_ACTIONS, BucketBackend
from .versions import Deleted, ObjectVersion, VersionPage, check_days, check_transitions, check_version_id

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

__all__ = ["CAPABILITIES", "Bucket", "Deleted", "ListPage", "ObjectEvent", "ObjectInfo", "ObjectVersion", "VersionPage"]

MAX_KEY_BYTES = 1024
MAX_PUT_BYTES = 5 * 1024**3  # S3: 5 GiB in one PUT; larger objects need multipart
MIN_PART_BYTES = 5 * 1024**2  # S3: every part but the last is at least 5 MiB
CHUNK = 1024 * 1024


def check_key(key: Any) -> str:
    """A key as S3 accepts it: 1-1024 bytes of UTF-8 (NUL refused: S3's XML listings cannot carry it)."""
    if not isinstance(key, str):
        raise ValidationError(f"object keys are strings, got {type(key).__name__}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError("object key is not valid UTF-8 (it holds a lone surrogate)") from None
    if not 1 <= size <= MAX_KEY_BYTES:
        raise ValidationError(f"object keys are 1 to {MAX_KEY_BYTES} bytes of UTF-8, got {size}")
    if "\x00" in key:
        raise ValidationError("object keys cannot contain NUL")
    return key


def chunks(data: bytes | str | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """Any accepted body as a stream of byte chunks (never the whole of a file in memory)."""
    if isinstance(data, str):
        yield utf8(data, "object body")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
    elif hasattr(data, "read"):
        while True:
            chunk = data.read(CHUNK)
            if not chunk:
                return
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            yield chunk
    elif isinstance(data, Iterable) and not isinstance(data, (dict, set, frozenset)):
        for chunk in data:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise ValidationError(f"an iterator body must yield bytes, got {type(chunk).__name__}")
            yield bytes(chunk)
    else:
        raise ValidationError(f"cannot store a {type(data).__name__}: pass bytes, str, a file or an iterator")


def check_range(byte_range: tuple[int, int | None] | None, size: int) -> tuple[int, int] | None:
    """An inclusive (start, end) within the object, as an HTTP Range; S3's InvalidRange otherwise."""
    if byte_range is None:
        return None
    start, end = byte_range
    if start < 0:  # suffix: the last -start bytes
        if end is not None:
            raise ValidationError("a suffix range is (-n, None)")
        return (max(size + start, 0), size - 1) if size else None
    if start >= size or (end is not None and end < start):
        raise ValidationError(f"InvalidRange: bytes {start}-{end} are not within the object's {size} bytes")
    return start, size - 1 if end is None or end >= size else end


@dataclass
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    last_modified: float = 0.0
    version_id: str | None = None  # on a versioned bucket

    def as_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "content_type": self.content_type,
            "metadata": self.metadata,
            "last_modified": self.last_modified,
        }


@dataclass
class ListPage:
    objects: list[ObjectInfo]
    prefixes: list[str]
    cursor: str | None = None

    def __iter__(self) -> Iterator[ObjectInfo]:
        return iter(self.objects)


@dataclass
class Watcher:
    handler: Callable[..., Any]
    events: tuple[str, ...]
    prefix: str
    suffix: str

    def wants(self, kind: str, key: str) -> bool:
        return kind in self.events and key.startswith(self.prefix) and key.endswith(self.suffix)


class Bucket(Resource[BucketBackend]):
    """A bucket declared with ``app.bucket(name, expire_after_days=..., versioning=..., transition_after_days=...)``."""

    kind = "bucket"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        expire_after_days: int | None = None,
        provider: str | None = None,
        allow: Any = None,
        versioning: bool = False,
        transition_after_days: dict[int, str] | None = None,
        noncurrent_expire_after_days: int | None = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        if expire_after_days is not None and (
            isinstance(expire_after_days, bool) or not isinstance(expire_after_days, int) or expire_after_days < 1
        ):
            raise ConfigurationError("expire_after_days must be a positive whole number of days")
        if not isinstance(versioning, bool):
            raise ConfigurationError("versioning is True or False")
        self.expire_after_days = expire_after_days
        self.versioning = versioning
        if versioning:  # this bucket's grants reach versions too (an instance value over the class's)
            self.__dict__["ACTIONS"] = VERSIONED_ACTIONS
        self.transitions = check_transitions(transition_after_days, expire_after_days)
        self.noncurrent_expire_after_days = check_days(noncurrent_expire_after_days, "noncurrent_expire_after_days")
        if self.noncurrent_expire_after_days and not versioning:
            raise ConfigurationError(
                "noncurrent_expire_after_days needs versioning=True (only versions are noncurrent)"
            )
        self.watchers: list[Watcher] = []

    @property
    def physical_name(self) -> str:
        return self.config.physical_name("bucket", self.name).lower().replace("_", "-")

    # -- objects --------------------------------------------------------------------------------
    @requires("write")
    def put(
        self,
        key: str,
        data: bytes | str | BinaryIO | Iterable[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store an object, streaming files and iterators; at most 5 GiB (use multipart beyond)."""
        if content_type is None:
            content_type = "text/plain; charset=utf-8" if isinstance(data, str) else "application/octet-stream"
        return self.backend.put(check_key(key), chunks(data), content_type, check_metadata(metadata))

    @requires("read")
    def get(self, key: str, *, range: tuple[int, int | None] | None = None, version_id: str | None = None) -> bytes:
        """The object's bytes (or an inclusive byte range; or one version's). NotFound if there is none."""
        _, body = self.open(key, range=range, version_id=version_id)
        return b"".join(body)

    @requires("read")
    def open(
        self, key: str, *, range: tuple[int, int | None] | None = None, version_id: str | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        """(info, chunks): stream an object (or one version of it) without holding it in memory."""
        return self.backend.open(check_key(key), self._range(range), self._version(version_id))

    def _version(self, version_id: Any) -> str | None:
        if version_id is None:
            return None
        self._need("versioning")
        if not self.versioning:
            raise ValidationError(f"bucket {self.name!r} is not versioned: declare it with versioning=True")
        return check_version_id(version_id)

    def _range(self, byte_range: Any) -> tuple[int, int | None] | None:
        checked = _check_range_arg(byte_range)
        if checked is not None:
            self._need("ranges")
        return checked

    @requires("read")
    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        return self.backend.head(check_key(key), self._version(version_id))

    def exists(self, key: str) -> bool:
        from ..core.errors import NotFound

        try:
            self.head(key)
            return True
        except NotFound:
            return False

    @requires("delete")
    def delete(self, key: str, *, version_id: str | None = None) -> Deleted:
        """Remove an object (deleting a missing key is not an error, as in S3). On a versioned bucket this
        adds a delete marker; with ``version_id`` it removes that version (or marker) for good."""
        return self.backend.delete(check_key(key), self._version(version_id))

    @requires("list")
    def list_versions(self, prefix: str = "", *, limit: int = 1000, cursor: str | None = None) -> VersionPage:
        """Every version and delete marker under ``prefix``: keys in order, newest first within a key."""
        self._need("versioning")
        if not self.versioning:
            raise ValidationError(f"bucket {self.name!r} is not versioned: declare it with versioning=True")
        if not isinstance(prefix, str) or len(prefix.encode()) > MAX_KEY_BYTES:
            raise ValidationError("prefix must be a string of at most 1024 bytes")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("limit must be 1 to 1000")
        return self.backend.list_versions(prefix, limit, cursor)

    @requires("write")
    def copy(self, source: str, target: str) -> ObjectInfo:
        return self.backend.copy(check_key(source), check_key(target))

    @requires("list")
    def list(
        self, prefix: str = "", *, delimiter: str | None = None, limit: int = 1000, cursor: str | None = None
    ) -> ListPage:
        """Objects whose keys start with ``prefix`` in key order; with ``delimiter``, "folders" too."""
        if not isinstance(prefix, str) or len(prefix.encode()) > MAX_KEY_BYTES:
            raise ValidationError("prefix must be a string of at most 1024 bytes")
        if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
            raise ValidationError("delimiter must be a non-empty string")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("limit must be 1 to 1000")
        return self.backend.list(prefix, delimiter, limit, cursor)

    def iterate(self, prefix: str = "") -> Iterator[ObjectInfo]:
        cursor = None
        while True:
            page = self.list(prefix, cursor=cursor)
            yield from page.objects
            if not page.cursor:
                return
            cursor = page.cursor

    # -- presigned URLs -------------------------------------------------------------------------
    @requires("read")
    def presign_get(self, key: str, *, expires_in: int = 3600) -> str:
        """A URL any HTTP client can GET the object from until it expires."""
        self._need("presign")
        return self.backend.presign("GET", check_key(key), _expiry(expires_in), None)

    @requires("write")
    def presign_put(self, key: str, *, expires_in: int = 3600, content_type: str | None = None) -> str:
        """A URL any HTTP client can PUT the object to (with this Content-Type, if one is given)."""
        self._need("presign")
        return self.backend.presign("PUT", check_key(key), _expiry(expires_in), content_type)

    # -- multipart uploads ----------------------------------------------------------------------
    @requires("write")
    def start_multipart(
        self, key: str, *, content_type: str = "application/octet-stream", metadata: dict[str, str] | None = None
    ) -> str:
        self._need("multipart")
        return self.backend.start_multipart(check_key(key), content_type, check_metadata(metadata))

    @requires("write")
    def upload_part(self, key: str, upload_id: str, number: int, data: bytes | BinaryIO | Iterable[bytes]) -> str:
        """Upload part ``number`` (1-10,000); returns its ETag."""
        self._need("multipart")
        return self.backend.upload_part(check_key(key), _upload(upload_id), _part(number), chunks(data))

    @requires("write")
    def presign_part(self, key: str, upload_id: str, number: int, *, expires_in: int = 3600) -> str:
        """A URL a browser can PUT one part to directly."""
        self._need("presign")
        self._need("multipart")
        return self.backend.presign("PUT", check_key(key), _expiry(expires_in), None, _upload(upload_id), _part(number))

    @requires("write")
    def list_parts(self, key: str, upload_id: str) -> builtins.list[dict[str, Any]]:  # list: the method above
        self._need("multipart")
        return self.backend.list_parts(check_key(key), _upload(upload_id))

    @requires("write")
    def complete_multipart(
        self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]] | None = None
    ) -> ObjectInfo:
        """Assemble the parts in order (all uploaded parts when ``parts`` is None). S3's errors for a
        wrong order (InvalidPartOrder), an unknown part or ETag (InvalidPart) or a small part
        (EntityTooSmall) are ValidationErrors, and the upload stays open to fix."""
        self._need("multipart")
        if parts is None:
            parts = [(p["number"], p["etag"]) for p in self.list_parts(key, upload_id)]
        if not parts:
            raise ValidationError("a multipart upload needs at least one part")
        numbers = [n for n, _ in parts]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise ValidationError("InvalidPartOrder: parts must be listed in ascending order, each once")
        return self.backend.complete_multipart(check_key(key), _upload(upload_id), [(_part(n), e) for n, e in parts])

    @requires("write")
    def abort_multipart(self, key: str, upload_id: str) -> None:
        self._need("multipart")
        self.backend.abort_multipart(check_key(key), _upload(upload_id))

    # -- events ---------------------------------------------------------------------------------
    def on_change(
        self, *, events: Iterable[str] = ("created", "deleted"), prefix: str = "", suffix: str = ""
    ) -> Callable:
        """``handler(event: ObjectEvent)`` for objects created or deleted under ``prefix`` / with ``suffix``."""
        wanted = tuple(events)
        if not wanted or any(e not in ("created", "deleted") for e in wanted):
            raise ConfigurationError("events are 'created' and/or 'deleted'")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._need_once_open("events")  # else checked when the backend opens
            self.watchers.append(Watcher(fn, wanted, prefix, suffix))
            return fn

        return register

    def required_capabilities(self) -> set[str]:
        lifecycle = self.expire_after_days or self.transitions or self.noncurrent_expire_after_days
        return (
            ({"lifecycle"} if lifecycle else set())
            | ({"events"} if self.watchers else set())
            | ({"versioning"} if self.versioning else set())
        )

    def background_work(self) -> bool:  # S3 notifications, lifecycle expiry
        return bool(self.watchers or self.expire_after_days or self.noncurrent_expire_after_days)

    def ensure(self) -> None:
        self.backend.ensure()

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None
