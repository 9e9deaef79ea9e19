"""The S3 bucket provider (boto3, imported on first use)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import ItemTooLarge, NotFound, StratoError, ValidationError
from ..runtime.aws import error_code
from . import CHUNK, Bucket, ListPage, ObjectInfo, check_range
from .versions import Deleted, ObjectVersion, VersionPage

if TYPE_CHECKING:
    from .spi import BucketBackend


def _translate(exc: BaseException, what: str) -> StratoError:
    code = error_code(exc)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    if code in ("405", "MethodNotAllowed"):  # a delete marker asked for by its version id
        return NotFound(f"MethodNotAllowed: {what} (that version is a delete marker)")
    if code in ("NoSuchKey", "404", "NotFound", "NoSuchUpload", "NoSuchBucket", "NoSuchVersion"):
        return NotFound(f"{code}: {what} ({message})")
    if code in (
        "EntityTooSmall",
        "InvalidPart",
        "InvalidPartOrder",
        "InvalidRange",
        "InvalidArgument",
        "InvalidRequest",
        "KeyTooLongError",
    ):
        return ValidationError(f"{code}: {what}: {message}")
    if code == "EntityTooLarge":
        return ItemTooLarge(f"{code}: {what}: {message}")
    return StratoError(f"S3 error {code or type(exc).__name__} on {what}: {message}")


class _Counted:
    """A file-like view of a chunk stream for boto3 uploads, refusing more than ``limit`` bytes."""

    def __init__(self, body: Iterator[bytes], limit: int) -> None:
        self.body = body
        self.limit = limit
        self.size = 0
        self.buffer = b""
        self.error: StratoError | None = None  # boto3 wraps what read() raises; put() re-raises this

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            try:
                chunk = next(self.body, None)
            except StratoError as exc:
                self.error = exc
                raise
            if chunk is None:
                break
            self.size += len(chunk)
            if self.size > self.limit:
                self.error = ItemTooLarge(f"object is over {self.limit} bytes, S3's limit for one PUT (5 GiB)")
                raise self.error
            self.buffer += chunk
        if n < 0:
            out, self.buffer = self.buffer, b""
        else:
            out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class S3BucketBackend:
    capabilities = frozenset({"presign", "multipart", "lifecycle", "events", "ranges", "versioning"})

    def __init__(self, session: AwsClients, bucket: Bucket, auto_create: bool) -> None:
        self.session = session
        self.bucket = bucket
        self.physical = bucket.physical_name
        self._ready = not auto_create

    @property
    def client(self) -> Any:
        client = self.session.client("s3")
        if not self._ready:
            self._ready = True
            self.ensure()
        return client

    def ensure(self) -> None:
        client = self.session.client("s3")
        try:
            client.head_bucket(Bucket=self.physical)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise _translate(exc, f"bucket {self.physical}") from exc
            client.create_bucket(Bucket=self.physical)
            client.put_public_access_block(
                Bucket=self.physical,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        if self.bucket.versioning:
            client.put_bucket_versioning(Bucket=self.physical, VersioningConfiguration={"Status": "Enabled"})
        bucket = self.bucket
        if bucket.expire_after_days or bucket.transitions or bucket.noncurrent_expire_after_days:
            rule: dict[str, Any] = {
                "ID": "strato-lifecycle",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
            if bucket.expire_after_days:
                rule["Expiration"] = {"Days": bucket.expire_after_days}
            if bucket.transitions:
                rule["Transitions"] = [{"Days": d, "StorageClass": c} for d, c in bucket.transitions.items()]
            if bucket.noncurrent_expire_after_days:
                rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": bucket.noncurrent_expire_after_days}
            client.put_bucket_lifecycle_configuration(Bucket=self.physical, LifecycleConfiguration={"Rules": [rule]})

    def drop(self) -> None:
        client = self.session.client("s3")
        try:
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.physical):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=self.physical, Delete={"Objects": keys})
            for page in client.get_paginator("list_object_versions").paginate(Bucket=self.physical):
                versions = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if versions:
                    client.delete_objects(Bucket=self.physical, Delete={"Objects": versions})
            for upload in client.list_multipart_uploads(Bucket=self.physical).get("Uploads", []):
                client.abort_multipart_upload(Bucket=self.physical, Key=upload["Key"], UploadId=upload["UploadId"])
            client.delete_bucket(Bucket=self.physical)
        except Exception as exc:
            if error_code(exc) not in ("NoSuchBucket", "404"):
                raise _translate(exc, f"bucket {self.physical}") from exc

    def put(self, key: str, body: Iterator[bytes], content_type: str, metadata: dict) -> ObjectInfo:
        from . import MAX_PUT_BYTES

        stream = _Counted(body, MAX_PUT_BYTES)
        if self.bucket.versioning:
            return self._put_version(key, stream, content_type, metadata)
        try:
            self.client.upload_fileobj(
                stream, self.physical, key, ExtraArgs={"ContentType": content_type, "Metadata": metadata}
            )
        except Exception as exc:
            if stream.error is not None:
                raise stream.error from None
            raise _translate(exc, f"put {key!r}") from exc
        return self.head(key)

    def _put_version(self, key: str, stream: _Counted, content_type: str, metadata: dict) -> ObjectInfo:
        """One PutObject (spooled to disk past 8 MiB): its response names the version this put made,
        which a HEAD afterwards could not (another put may come between)."""
        import tempfile

        with tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as spool:
            try:
                while chunk := stream.read(CHUNK):
                    spool.write(chunk)
            except StratoError:
                raise stream.error or StratoError("the object body failed") from None
            spool.seek(0)
            try:
                out = self.client.put_object(
                    Bucket=self.physical, Key=key, Body=spool, ContentType=content_type, Metadata=metadata
                )
            except Exception as exc:
                raise _translate(exc, f"put {key!r}") from exc
        return self.head(key, self._made(out))

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        params = {"Bucket": self.physical, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            out = self.client.head_object(**params)
        except Exception as exc:
            raise _translate(exc, f"bucket {self.bucket.name!r} has no object {key!r}") from exc
        return ObjectInfo(
            key,
            out["ContentLength"],
            out["ETag"],
            out.get("ContentType", "application/octet-stream"),
            out.get("Metadata", {}),
            out["LastModified"].timestamp(),
            out.get("VersionId") if self.bucket.versioning else None,
        )

    def open(
        self, key: str, byte_range: tuple[int, int | None] | None, version_id: str | None = None
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        params: dict[str, Any] = {"Bucket": self.physical, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if byte_range is not None:
            size = self.head(key, version_id).size
            span = check_range(byte_range, size)
            if span is None:
                return self.head(key, version_id), iter(())
            params["Range"] = f"bytes={span[0]}-{span[1]}"
        try:
            out = self.client.get_object(**params)
        except Exception as exc:
            raise _translate(exc, f"bucket {self.bucket.name!r} has no object {key!r}") from exc
        info = ObjectInfo(
            key,
            int(out["ContentRange"].rsplit("/", 1)[1]) if "ContentRange" in out else out["ContentLength"],
            out["ETag"],
            out.get("ContentType", "application/octet-stream"),
            out.get("Metadata", {}),
            out["LastModified"].timestamp(),
            out.get("VersionId") if self.bucket.versioning else None,
        )
        return info, out["Body"].iter_chunks(CHUNK)

    def delete(self, key: str, version_id: str | None = None) -> Deleted:
        params = {"Bucket": self.physical, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            out = self.client.delete_object(**params)
        except Exception as exc:
            raise _translate(exc, f"delete {key!r}") from exc
        if not self.bucket.versioning:
            return Deleted(key)
        return Deleted(key, out.get("VersionId"), bool(out.get("DeleteMarker")))

    def list_versions(self, prefix: str, limit: int, cursor: str | None) -> VersionPage:
        """ListObjectVersions; its Versions and DeleteMarkers merged back into S3's own order."""
        params: dict[str, Any] = {"Bucket": self.physical, "Prefix": prefix, "MaxKeys": limit}
        if cursor:
            key_marker, _, version_marker = cursor.partition("\n")
            params.update(KeyMarker=key_marker, VersionIdMarker=version_marker)
        try:
            out = self.client.list_object_versions(**params)
        except Exception as exc:
            raise _translate(exc, f"list versions {prefix!r}") from exc
        entries = [
            ObjectVersion(
                v["Key"], v["VersionId"], v["IsLatest"], False, v["Size"], v["ETag"], v["LastModified"].timestamp()
            )
            for v in out.get("Versions", [])
        ] + [
            ObjectVersion(m["Key"], m["VersionId"], m["IsLatest"], True, 0, "", m["LastModified"].timestamp())
            for m in out.get("DeleteMarkers", [])
        ]
        # S3 lists a key's versions and markers newest first; the response splits them into two lists
        entries.sort(key=lambda e: (e.key.encode(), -e.last_modified, not e.is_latest))
        next_cursor = None
        if out.get("IsTruncated"):
            next_cursor = f"{out['NextKeyMarker']}\n{out.get('NextVersionIdMarker', '')}"
        return VersionPage(entries, next_cursor)

    def copy(self, source: str, target: str) -> ObjectInfo:
        try:
            out = self.client.copy_object(
                Bucket=self.physical, Key=target, CopySource={"Bucket": self.physical, "Key": source}
            )
        except Exception as exc:
            raise _translate(exc, f"copy {source!r}") from exc
        return self.head(target, self._made(out))

    def _made(self, response: dict[str, Any]) -> str | None:
        """The version a write made (a HEAD of the key could see a later one)."""
        return response.get("VersionId") if self.bucket.versioning else None

    def list(self, prefix: str, delimiter: str | None, limit: int, cursor: str | None) -> ListPage:
        params: dict[str, Any] = {"Bucket": self.physical, "Prefix": prefix, "MaxKeys": limit}
        if delimiter:
            params["Delimiter"] = delimiter
        if cursor:
            params["ContinuationToken"] = cursor
        try:
            out = self.client.list_objects_v2(**params)
        except Exception as exc:
            if error_code(exc) == "InvalidArgument":
                raise ValidationError("invalid list cursor: pass back the cursor a listing returned") from exc
            raise _translate(exc, f"list {prefix!r}") from exc
        objects = [
            ObjectInfo(o["Key"], o["Size"], o["ETag"], "", {}, o["LastModified"].timestamp())
            for o in out.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in out.get("CommonPrefixes", [])]
        return ListPage(objects, prefixes, out.get("NextContinuationToken") if out.get("IsTruncated") else None)

    def presign(
        self,
        method: str,
        key: str,
        expires_in: int,
        content_type: str | None,
        upload_id: str | None = None,
        part: int | None = None,
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.physical, "Key": key}
        if upload_id:
            operation = "upload_part"
            params.update(UploadId=upload_id, PartNumber=part)
        elif method == "GET":
            operation = "get_object"
        else:
            operation = "put_object"
            if content_type:
                params["ContentType"] = content_type
        return self.client.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)

    def start_multipart(self, key: str, content_type: str, metadata: dict) -> str:
        try:
            return self.client.create_multipart_upload(
                Bucket=self.physical, Key=key, ContentType=content_type, Metadata=metadata
            )["UploadId"]
        except Exception as exc:
            raise _translate(exc, f"multipart {key!r}") from exc

    def upload_part(self, key: str, upload_id: str, number: int, body: Iterator[bytes]) -> str:
        from . import MAX_PUT_BYTES

        data = b"".join(body)
        if len(data) > MAX_PUT_BYTES:
            raise ItemTooLarge("a part is at most 5 GiB")
        try:
            return self.client.upload_part(
                Bucket=self.physical, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )["ETag"]
        except Exception as exc:
            raise _translate(exc, f"part {number} of {key!r}") from exc

    def list_parts(self, key: str, upload_id: str) -> builtins.list[dict[str, Any]]:  # list: the method above
        try:
            out = self.client.list_parts(Bucket=self.physical, Key=key, UploadId=upload_id)
        except Exception as exc:
            raise _translate(exc, f"multipart upload of {key!r}") from exc
        return [{"number": p["PartNumber"], "size": p["Size"], "etag": p["ETag"]} for p in out.get("Parts", [])]

    def complete_multipart(self, key: str, upload_id: str, parts: builtins.list[tuple[int, str]]) -> ObjectInfo:
        etags = {n: e for n, e in parts}
        try:
            out = self.client.complete_multipart_upload(
                Bucket=self.physical,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n, _ in parts]},
            )
        except Exception as exc:
            raise _translate(exc, f"completing {key!r}") from exc
        return self.head(key, self._made(out))

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.physical, Key=key, UploadId=upload_id)
        except Exception as exc:
            raise _translate(exc, f"multipart upload of {key!r}") from exc


def open_backend(bucket: Bucket, services: ProviderServices) -> S3BucketBackend:
    """The registry's factory: the S3 bucket named by the template (or auto-created against moto)."""
    return S3BucketBackend(services.aws(), bucket, services.config.auto_create)


if TYPE_CHECKING:  # mypy checks the backend against the primitive's provider interface

    def _conforms(backend: S3BucketBackend) -> BucketBackend:
        return backend
