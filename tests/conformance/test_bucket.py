"""The bucket contract, run unchanged against local files + SQLite and S3 on moto_server."""

from __future__ import annotations

import hashlib
import io

import httpx
import pytest

import strato
import strato.bucket
from strato.bucket import CAPABILITIES, MIN_PART_BYTES, Bucket
from tests.conformance.absence import assert_absent, double_cases, lacking


@pytest.fixture(params=["local", "aws"])
def bucket(request, make_app, monkeypatch):
    app = make_app(request.param)
    if request.param == "local":
        server = request.getfixturevalue("dev_server")("tests/apps/bucket_app.py")
        monkeypatch.setenv("STRATO_DEV_URL", server.url)
        app.config.data_dir = server_data(server)
    return app.bucket("files")


def server_data(server):
    import json

    return __import__("pathlib").Path(json.loads(httpx.get(f"{server.url}/_strato/health").text)["data_dir"])


def test_put_get_head_every_body_kind(bucket):
    assert bucket.put("bytes.bin", b"\x00\x01").size == 2
    bucket.put("text.txt", "héllo")
    bucket.put("file.bin", io.BytesIO(b"from a file"), content_type="application/x-test", metadata={"Owner": "ana"})
    bucket.put("iter.bin", (bytes([i]) * 1000 for i in range(5)))
    assert bucket.get("bytes.bin") == b"\x00\x01"
    assert bucket.get("text.txt") == "héllo".encode()
    assert bucket.get("iter.bin") == b"".join(bytes([i]) * 1000 for i in range(5))
    info = bucket.head("file.bin")
    assert info.size == 11 and info.content_type == "application/x-test" and info.metadata == {"owner": "ana"}
    assert info.etag == f'"{hashlib.md5(b"from a file").hexdigest()}"'
    assert bucket.head("text.txt").content_type.startswith("text/plain")
    bucket.put("text.txt", "replaced")
    assert bucket.get("text.txt") == b"replaced"


def test_ranges_and_streaming(bucket):
    data = bytes(range(256)) * 12_000  # ~3 MiB
    bucket.put("big.bin", data)
    assert bucket.get("big.bin", range=(0, 4)) == data[:5]
    assert bucket.get("big.bin", range=(1000, None)) == data[1000:]
    assert bucket.get("big.bin", range=(-3, None)) == data[-3:]
    assert bucket.get("big.bin", range=(10, 10**9)) == data[10:]
    with pytest.raises(strato.ValidationError, match="InvalidRange"):
        bucket.get("big.bin", range=(len(data), None))
    info, body = bucket.open("big.bin")
    pieces = list(body)
    assert info.size == len(data) and b"".join(pieces) == data and len(pieces) >= 3


def test_missing_delete_exists_copy(bucket):
    with pytest.raises(strato.NotFound):
        bucket.get("missing")
    with pytest.raises(strato.NotFound):
        bucket.head("missing")
    bucket.delete("missing")  # not an error, as in S3
    bucket.put("a.txt", "A", metadata={"k": "v"})
    assert bucket.exists("a.txt") and not bucket.exists("b.txt")
    copied = bucket.copy("a.txt", "b.txt")
    assert bucket.get("b.txt") == b"A" and copied.etag == bucket.head("a.txt").etag
    bucket.delete("a.txt")
    assert not bucket.exists("a.txt") and bucket.get("b.txt") == b"A"


def test_list_with_prefix_delimiter_and_pages(bucket):
    keys = ["a/1.txt", "a/2.txt", "a/sub/3.txt", "a/sub/4.txt", "a/z.txt", "b/5.txt", "c.txt", "é.txt", "a/sub2/x"]
    for key in keys:
        bucket.put(key, key)
    everything, cursor = [], None
    while True:
        page = bucket.list(limit=2, cursor=cursor)
        everything += [o.key for o in page]
        if not page.cursor:
            break
        cursor = page.cursor
    assert everything == sorted(keys, key=lambda k: k.encode())
    page = bucket.list("a/", delimiter="/")
    assert [o.key for o in page] == ["a/1.txt", "a/2.txt", "a/z.txt"] and page.prefixes == ["a/sub/", "a/sub2/"]
    seen_objects, seen_prefixes, cursor = [], [], None
    while True:
        page = bucket.list("", delimiter="/", limit=1, cursor=cursor)
        seen_objects += [o.key for o in page]
        seen_prefixes += page.prefixes
        if not page.cursor:
            break
        cursor = page.cursor
    assert seen_prefixes == ["a/", "b/"] and seen_objects == ["c.txt", "é.txt"]
    assert bucket.list("nothing/").objects == []


def test_presigned_get_and_put_work_with_a_plain_http_client(bucket):
    bucket.put("shared.txt", "secret report")
    response = httpx.get(bucket.presign_get("shared.txt", expires_in=60))
    assert response.status_code == 200 and response.content == b"secret report"
    url = bucket.presign_put("upload.json", expires_in=60, content_type="application/json")
    assert httpx.put(url, content=b'{"ok": true}', headers={"content-type": "application/json"}).status_code == 200
    assert bucket.get("upload.json") == b'{"ok": true}'
    assert bucket.head("upload.json").content_type == "application/json"


def test_multipart_upload(bucket):
    upload = bucket.start_multipart("video.bin", content_type="video/mp4")
    first, second = b"a" * MIN_PART_BYTES, b"b" * 1000
    etags = [bucket.upload_part("video.bin", upload, 1, first), bucket.upload_part("video.bin", upload, 2, second)]
    assert [p["number"] for p in bucket.list_parts("video.bin", upload)] == [1, 2]
    info = bucket.complete_multipart("video.bin", upload, [(1, etags[0]), (2, etags[1])])
    digest = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(second).digest()).hexdigest()
    assert info.etag == f'"{digest}-2"' and info.size == MIN_PART_BYTES + 1000
    assert bucket.get("video.bin", range=(MIN_PART_BYTES - 1, MIN_PART_BYTES)) == b"ab"
    assert bucket.head("video.bin").content_type == "video/mp4"


def test_multipart_errors_leave_the_upload_open(bucket):
    upload = bucket.start_multipart("x.bin")
    e1 = bucket.upload_part("x.bin", upload, 1, b"small")
    e2 = bucket.upload_part("x.bin", upload, 2, b"last")
    with pytest.raises(strato.ValidationError, match="EntityTooSmall"):
        bucket.complete_multipart("x.bin", upload, [(1, e1), (2, e2)])
    with pytest.raises(strato.ValidationError, match="InvalidPartOrder"):
        bucket.complete_multipart("x.bin", upload, [(2, e2), (1, e1)])
    with pytest.raises(strato.ValidationError, match="InvalidPart"):
        bucket.complete_multipart("x.bin", upload, [(1, '"0000"')])
    assert len(bucket.list_parts("x.bin", upload)) == 2
    bucket.abort_multipart("x.bin", upload)
    with pytest.raises(strato.NotFound):
        bucket.list_parts("x.bin", upload)
    assert not bucket.exists("x.bin")


@pytest.mark.parametrize("key", ["", "k" * 1025, "é" * 513, "nul\x00byte", 5, "bad\ud800"])
def test_invalid_keys(bucket, key):
    with pytest.raises(strato.ValidationError):
        bucket.put(key, "x")


def test_invalid_inputs_store_nothing(bucket, monkeypatch):
    with pytest.raises(strato.ValidationError):
        bucket.put("k", {"a dict": "is not a body"})
    with pytest.raises(strato.ValidationError):
        bucket.put("k", "x", metadata={"bad name!": "v"})
    with pytest.raises(strato.ValidationError):
        bucket.presign_get("k", expires_in=8 * 86_400)
    with pytest.raises(strato.ValidationError):
        bucket.list(limit=1001)
    monkeypatch.setattr(strato.bucket, "MAX_PUT_BYTES", 10_000)  # stands in for S3's 5 GiB
    with pytest.raises(strato.ItemTooLarge):
        bucket.put("k", (b"x" * 4096 for _ in range(3)))
    assert not bucket.exists("k")


def _watched(bucket):
    watched = Bucket(bucket.ctx, "watched", provider=bucket.provider_name)
    watched.on_change()(lambda event: None)
    return watched.exists("k")  # a declaration: refused when the backend opens


#: one use of each capability (declaration-time ones on a sibling bucket)
USES = {
    "presign": lambda b: b.presign_get("k"),
    "multipart": lambda b: b.start_multipart("m"),
    "lifecycle": lambda b: Bucket(b.ctx, "expiring", expire_after_days=1, provider=b.provider_name).exists("k"),
    "events": _watched,
    "ranges": lambda b: b.get("k", range=(0, 1)),
    "versioning": lambda b: Bucket(b.ctx, "versioned", versioning=True, provider=b.provider_name).exists("k"),
}
#: other places the same capabilities are used
ALSO = [
    ("presign", lambda b: b.presign_put("k")),
    ("presign", lambda b: b.presign_part("m", "upload-1", 1)),
    ("multipart", lambda b: b.presign_part("m", "upload-1", 1)),
    ("multipart", lambda b: b.upload_part("m", "upload-1", 1, b"part")),
    ("multipart", lambda b: b.list_parts("m", "upload-1")),
    ("multipart", lambda b: b.complete_multipart("m", "upload-1", [(1, "etag")])),
    ("multipart", lambda b: b.abort_multipart("m", "upload-1")),
    ("events", lambda b: b.on_change()(lambda event: None)),
    ("ranges", lambda b: b.open("k", range=(-1, None))),
    ("versioning", lambda b: b.list_versions()),
    ("versioning", lambda b: b.get("k", version_id="v1")),
    ("versioning", lambda b: b.delete("k", version_id="v1")),
]


def _state(bucket):
    return [(o.key, o.etag) for o in bucket.list()]


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(bucket):
    assert bucket.capabilities == CAPABILITIES  # each exercised above
    assert_absent(bucket, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "bucket", missing, CAPABILITIES)
    files = make_app("local").bucket("files")
    files.put("k", "stored before")
    assert assert_absent(files, USES, state=_state, also=ALSO) == lacks
    assert files.get("k") == b"stored before" and files.watchers == []


def test_capabilities(bucket):
    assert bucket.capabilities == CAPABILITIES
