"""The local bucket: presigned URLs verified by strato dev, key safety, object events, lifecycle."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strato
from strato.local.worker import Worker
from tests.test_worker import wait_until


@pytest.fixture
def served(dev_server, make_app, monkeypatch):
    """(bucket, server): an app whose presigned URLs point at a running strato dev."""
    server = dev_server("tests/apps/bucket_app.py")
    monkeypatch.setenv("STRATO_DEV_URL", server.url)
    data = Path(httpx.get(f"{server.url}/_strato/health").json()["data_dir"])
    app = strato.App("buckettest", data_dir=data, provider="local")
    yield app.bucket("files"), server
    app.close()


def test_tampered_expired_and_misused_urls_are_refused(served):
    bucket, _ = served
    bucket.put("report.pdf", b"%PDF-1.7 secret")
    url = bucket.presign_get("report.pdf", expires_in=60)
    assert httpx.get(url).content == b"%PDF-1.7 secret"
    for forged in (
        url.replace("report.pdf", "other.pdf"),
        url[:-4] + "abcd",
        url.replace("X-Amz-Expires=", "X-Amz-Expires=9"),
    ):
        response = httpx.get(forged)
        assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert httpx.put(url, content=b"overwrite").status_code == 403  # a GET URL cannot PUT
    assert bucket.get("report.pdf") == b"%PDF-1.7 secret"
    short = bucket.presign_get("report.pdf", expires_in=1)
    time.sleep(2.1)
    expired = httpx.get(short)
    assert expired.status_code == 403 and "Request has expired" in expired.text
    assert httpx.get(url.split("?")[0]).status_code == 403  # no signature at all


def test_presigned_put_checks_its_content_type_and_streams(served):
    bucket, _ = served
    url = bucket.presign_put("photo.png", expires_in=60, content_type="image/png")
    assert httpx.put(url, content=b"x", headers={"content-type": "text/html"}).status_code == 403
    body = b"\x89PNG" + bytes(3 * 1024 * 1024)

    def stream():
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = httpx.put(url, content=stream(), headers={"content-type": "image/png"})
    assert response.status_code == 200 and response.headers["etag"] == bucket.head("photo.png").etag
    assert bucket.get("photo.png") == body


def test_range_requests_and_a_plain_urllib_client(served):
    bucket, _ = served
    bucket.put("data.bin", bytes(range(100)))
    url = bucket.presign_get("data.bin")
    partial = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.content == bytes(range(10, 20))
    assert partial.headers["content-range"] == "bytes 10-19/100"
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == bytes(range(95, 100))
    assert httpx.get(url, headers={"Range": "bytes=500-"}).status_code == 416
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == bytes(range(100))


def test_browser_style_multipart_through_presigned_part_urls(served):
    bucket, _ = served
    upload = bucket.start_multipart("movie.mp4", content_type="video/mp4")
    parts = [b"1" * (5 * 1024 * 1024), b"2" * 1024]
    etags = []
    for number, data in enumerate(parts, start=1):
        response = httpx.put(bucket.presign_part("movie.mp4", upload, number), content=data)
        assert response.status_code == 200
        etags.append(response.headers["etag"])
    tampered = bucket.presign_part("movie.mp4", upload, 1).replace("partNumber=1", "partNumber=3")
    assert httpx.put(tampered, content=b"x").status_code == 403
    info = bucket.complete_multipart("movie.mp4", upload, list(zip([1, 2], etags, strict=True)))
    assert info.size == len(parts[0]) + 1024 and info.etag.endswith('-2"')


KEYS = st.lists(
    st.sampled_from(["a", "/", ".", "..", "\\", "é", " ", "%", "~", "\n", "C:", "\u202e", "../"]),
    min_size=1,
    max_size=12,
).map("".join)


@given(keys=st.lists(KEYS, min_size=1, max_size=8, unique=True))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_key_escapes_the_bucket_directory(make_app, tmp_path_factory, keys):
    data = tmp_path_factory.mktemp("keys")
    app = strato.App("keysafety", data_dir=data, provider="local")
    bucket = app.bucket("b")
    for key in [*keys, "../../../etc/passwd", "/etc/shadow", "..\\..\\windows", "a/../../b"]:
        bucket.put(key, key)
        assert bucket.get(key) == key.encode()
    stored = {o.key for o in bucket.iterate()}
    assert stored == set(keys) | {"../../../etc/passwd", "/etc/shadow", "..\\..\\windows", "a/../../b"}
    root = (data / "buckets" / "b").resolve()
    for path in data.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".key", ".db-wal", ".db-shm") and "buckets" in path.parts:
            assert path.resolve().is_relative_to(root)
    app.close()


def test_object_events_reach_handlers_through_the_worker(make_app):
    app = make_app("local")
    uploads = app.bucket("uploads")
    seen = []
    uploads.on_change(events=["created"], prefix="images/", suffix=".png")(lambda e: seen.append((e.name, e.key)))
    uploads.on_change(events=["deleted"])(lambda e: seen.append((e.name, e.key)))
    uploads.put("images/cat one.png", b"png")
    uploads.put("images/notes.txt", b"txt")
    uploads.put("docs/x.png", b"png")
    uploads.copy("images/cat one.png", "images/copy.png")
    uploads.delete("docs/x.png")
    worker = Worker(app, poll_wait=0.1).start()
    try:
        assert wait_until(lambda: len(seen) == 3, 10)
    finally:
        worker.stop(5)
    assert sorted(seen) == [
        ("ObjectCreated:Copy", "images/copy.png"),
        ("ObjectCreated:Put", "images/cat one.png"),
        ("ObjectRemoved:Delete", "docs/x.png"),
    ]


def test_s3_event_from_lambda_runs_matching_handlers(make_app):
    app = make_app("local")
    uploads = app.bucket("uploads")
    seen = []
    uploads.on_change(events=["created"], suffix=".csv")(lambda e: seen.append((e.key, e.size, e.etag)))
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T20:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": uploads.physical_name},
            "object": {"key": "reports/q3+2026.csv", "size": 42, "eTag": "abc"},
        },
    }
    app.lambda_handler({"Records": [record]}, None)
    app.lambda_handler({"Records": [{**record, "s3": {**record["s3"], "object": {"key": "x.txt"}}}]}, None)
    assert seen == [("reports/q3 2026.csv", 42, "abc")]


def test_lifecycle_expiry(make_app):
    app = make_app("local")
    temp = app.bucket("temp", expire_after_days=1)
    gone = []
    temp.on_change(events=["deleted"])(lambda e: gone.append(e.name))
    temp.put("old.txt", "old")
    temp.put("new.txt", "new")
    with temp.backend.store.db.write() as conn:
        conn.execute("UPDATE b_objects SET last_modified = ? WHERE key = 'old.txt'", (time.time() - 2 * 86400,))
    assert temp.backend.sweep(time.time()) == 1
    assert not temp.exists("old.txt") and temp.exists("new.txt")
    assert (
        json.loads(temp.backend.store.db.conn.execute("SELECT record FROM b_events").fetchone()[0])["eventName"]
        == "LifecycleExpiration:Delete"
    )
    with pytest.raises(strato.ConfigurationError):
        app.bucket("bad", expire_after_days=0)


def test_a_listing_page_deep_in_the_bucket_costs_what_the_first_page_costs(make_app):
    """The cursor's marker is the only lower bound SQLite seeks to: with the prefix as a second one,
    a page's cost grew with its position (a whole listing was quadratic). Counted in SQLite VM steps."""
    bucket = make_app("local").bucket("deep")
    for i in range(3000):
        bucket.put(f"k/{i:05d}", b"x")
    cursors = [None]
    while (cursor := bucket.list("k/", limit=100, cursor=cursors[-1]).cursor) is not None:
        cursors.append(cursor)
    assert len(cursors) == 30
    conn = bucket.backend.store.db.conn

    def count(cursor) -> int:
        ticks = [0]

        def tick() -> int:
            ticks[0] += 1
            return 0

        conn.set_progress_handler(tick, 100)
        try:
            page = bucket.list("k/", limit=100, cursor=cursor)
        finally:
            conn.set_progress_handler(None, 0)
        assert len(page.objects) == 100
        return ticks[0]

    steps = [count(cursors[1]), count(cursors[-1])]
    assert steps[1] < steps[0] * 1.5, steps
    assert bucket.list("k/", limit=100, cursor=cursors[-1]).objects[0].key == "k/02900"
