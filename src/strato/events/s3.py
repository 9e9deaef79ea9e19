"""S3 event notifications: the record builder of the local bucket provider and ``ObjectEvent``, the view
``@bucket.on_change`` handlers get."""

from __future__ import annotations

import os
import time

from ..core import clock
from ..core.hints import Any


def s3_record(name: str, bucket: str, key: str, size: int, etag: str, region: str) -> dict[str, Any]:
    """One record of an S3 event notification, as S3 sends it to Lambda (keys URL-encoded)."""
    from urllib.parse import quote  # urllib.parse is kept out of the cold start of an app with a bucket

    now = clock.now()
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "eventName": name,
        "userIdentity": {"principalId": "AWS:STRATOLOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": os.urandom(8).hex().upper(), "x-amz-id-2": os.urandom(16).hex()},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "strato",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "STRATOLOCAL"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote(key, safe="/").replace("%20", "+"),
                "size": size,
                "eTag": etag.strip('"'),
                "sequencer": f"{int(now * 1e6):016X}",
            },
        },
    }


def kind_of_event(name: str) -> str | None:
    """S3's event name as a watcher's kind: ObjectCreated:* is "created"; ObjectRemoved:* and
    LifecycleExpiration:* (the object is gone) are "deleted". Every other type S3 sends (ObjectRestore:*,
    ObjectTagging:*, ObjectAcl:Put, LifecycleTransition, IntelligentTiering, Replication:*,
    ReducedRedundancyLostObject) is neither: None, and no watcher runs for it."""
    category = name.removeprefix("s3:").split(":", 1)[0]
    if category == "ObjectCreated":
        return "created"
    if category in ("ObjectRemoved", "LifecycleExpiration"):
        return "deleted"
    return None


class ObjectEvent:
    """One S3 event record: ``kind`` is created / deleted (None for S3's other event types),
    ``name`` S3's (ObjectCreated:Put, ...)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.name: str = record["eventName"]
        self.kind = kind_of_event(self.name)
        s3 = record["s3"]
        self.bucket: str = s3["bucket"]["name"]
        from urllib.parse import unquote_plus

        self.key: str = unquote_plus(s3["object"]["key"])
        self.size: int = s3["object"].get("size", 0)
        self.etag: str = s3["object"].get("eTag", "")

    def __repr__(self) -> str:
        return f"<ObjectEvent {self.name} {self.key}>"
