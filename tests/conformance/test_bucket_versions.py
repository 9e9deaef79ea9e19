"""Bucket versioning and lifecycle transitions, run unchanged against local files + SQLite and S3 on
moto_server.

S3's semantics, from its documentation:
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html — every PUT of a key in a
  versioning-enabled bucket makes a new version with a unique version id; older versions stay readable.
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html — a DELETE without a version id
  inserts a delete marker, which becomes the current version: a GET of the key returns 404, a GET of the
  marker's version id returns 405 Method Not Allowed, and deleting the marker makes the previous version
  current again.
- https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html — a DELETE with a
  version id removes that version permanently (no delete marker is added).
- https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html — versions are listed by key,
  newest first within a key, IsLatest marking the current one, delete markers alongside.
"""

from __future__ import annotations

import os

import pytest

import strato
from strato.core.errors import ConfigurationError


@pytest.fixture(params=["local", "aws"])
def versioned(request, make_app):
    return make_app(request.param).bucket("docs", versioning=True)


def test_every_put_is_a_version_readable_by_id(versioned):
    first = versioned.put("report.txt", "v1", metadata={"rev": "1"})
    second = versioned.put("report.txt", "v2")
    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert versioned.get("report.txt") == b"v2"
    assert versioned.get("report.txt", version_id=first.version_id) == b"v1"
    assert versioned.head("report.txt", version_id=first.version_id).metadata == {"rev": "1"}
    assert versioned.head("report.txt").version_id == second.version_id
    assert versioned.get("report.txt", version_id=first.version_id, range=(1, 1)) == b"1"
    info, body = versioned.open("report.txt", version_id=second.version_id)
    assert info.version_id == second.version_id and b"".join(body) == b"v2"


def test_delete_adds_a_marker_and_older_versions_stay(versioned):
    first = versioned.put("a.txt", "one")
    deleted = versioned.delete("a.txt")
    assert deleted.delete_marker and deleted.version_id and deleted.version_id != first.version_id
    assert not versioned.exists("a.txt")
    with pytest.raises(strato.NotFound, match="NoSuchKey"):
        versioned.get("a.txt")
    assert versioned.get("a.txt", version_id=first.version_id) == b"one"
    assert [o.key for o in versioned.list()] == []  # ListObjectsV2 shows current, non-marker versions only
    page = versioned.list_versions()
    assert [(v.version_id, v.is_latest, v.delete_marker) for v in page] == [
        (deleted.version_id, True, True),
        (first.version_id, False, False),
    ]
    assert [m.version_id for m in page.delete_markers] == [deleted.version_id]
    assert [(v.size, v.etag) for v in page.versions] == [(3, first.etag)]
    # removing the marker makes the previous version current again
    removed = versioned.delete("a.txt", version_id=deleted.version_id)
    assert removed.version_id == deleted.version_id
    assert versioned.get("a.txt") == b"one" and versioned.head("a.txt").version_id == first.version_id


def test_deleting_a_marker_by_id_says_it_was_a_marker(versioned, request):
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html: x-amz-delete-marker "indicates
    whether the specified object version that was permanently deleted was (true) or was not (false) a
    delete marker before deletion"."""
    from tests.conftest import moto_gap

    moto_gap(request, versioned.provider, "DeleteObject of a marker's version id answers DeleteMarker false")
    versioned.put("m.txt", "one")
    marker = versioned.delete("m.txt")
    assert versioned.delete("m.txt", version_id=marker.version_id).delete_marker


def test_delete_by_version_id_is_permanent_and_adds_no_marker(versioned):
    first = versioned.put("b.txt", "one")
    second = versioned.put("b.txt", "two")
    gone = versioned.delete("b.txt", version_id=second.version_id)
    assert not gone.delete_marker and gone.version_id == second.version_id
    assert versioned.get("b.txt") == b"one"  # the version before it is current again
    with pytest.raises(strato.NotFound):
        versioned.get("b.txt", version_id=second.version_id)
    assert [(v.version_id, v.is_latest) for v in versioned.list_versions()] == [(first.version_id, True)]
    versioned.delete("b.txt", version_id=first.version_id)
    assert versioned.list_versions().entries == [] and not versioned.exists("b.txt")


def test_list_versions_order_prefix_and_pages(versioned):
    made = {}
    for key in ("x/2", "x/1", "y"):
        made[key] = [versioned.put(key, f"{key}-{n}").version_id for n in range(2)]
    everything, cursor = [], None
    while True:
        page = versioned.list_versions(limit=2, cursor=cursor)
        everything += [(v.key, v.version_id, v.is_latest) for v in page]
        if not page.cursor:
            break
        cursor = page.cursor
    expected = []
    for key in ("x/1", "x/2", "y"):
        newest, older = made[key][1], made[key][0]
        expected += [(key, newest, True), (key, older, False)]
    assert everything == expected
    assert [v.key for v in versioned.list_versions("x/")] == ["x/1", "x/1", "x/2", "x/2"]


def test_a_marker_asked_for_by_id_is_refused(versioned):
    versioned.put("c.txt", "x")
    marker = versioned.delete("c.txt")
    with pytest.raises(strato.NotFound, match="MethodNotAllowed"):
        versioned.head("c.txt", version_id=marker.version_id)


def test_a_marker_fetched_by_id_is_refused(versioned, request):
    from tests.conftest import moto_gap

    moto_gap(request, versioned.provider, "GetObject of a delete marker's version id answers NoSuchVersion, not 405")
    versioned.put("c.txt", "x")
    marker = versioned.delete("c.txt")
    with pytest.raises(strato.NotFound, match="MethodNotAllowed"):
        versioned.get("c.txt", version_id=marker.version_id)


def test_copy_and_multipart_make_versions(versioned):
    from strato.bucket import MIN_PART_BYTES

    source = versioned.put("src.txt", "source")
    copied = versioned.copy("src.txt", "dst.txt")
    assert copied.version_id and copied.version_id != source.version_id
    upload = versioned.start_multipart("big.bin")
    etag = versioned.upload_part("big.bin", upload, 1, b"p" * MIN_PART_BYTES)
    assembled = versioned.complete_multipart("big.bin", upload, [(1, etag)])
    assert assembled.version_id and versioned.head("big.bin").version_id == assembled.version_id


def test_version_ids_on_an_unversioned_bucket_are_refused(make_app):
    plain = make_app("local").bucket("plain")
    plain.put("k", "x")
    assert plain.head("k").version_id is None and plain.delete("k").version_id is None
    with pytest.raises(strato.ValidationError, match="versioning=True"):
        plain.get("k", version_id="abc")
    with pytest.raises(strato.ValidationError, match="versioning=True"):
        plain.list_versions()


def test_objects_from_before_versioning_are_version_null(make_app):
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersioningEnabledBuckets.html:
    objects stored before versioning was enabled have the version id null."""
    app = make_app("local")
    app.bucket("later").put("old.txt", "before")
    app.close()
    again = strato.App(app.name, provider="local", data_dir=app.config.data_dir)
    try:
        bucket = again.bucket("later", versioning=True)
        new = bucket.put("old.txt", "after")
        assert bucket.get("old.txt", version_id="null") == b"before"
        assert [v.version_id for v in bucket.list_versions()] == [new.version_id, "null"]
    finally:
        again.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transition_after_days": {10: "STANDARD_IA"}}, "30 days"),
        ({"transition_after_days": {30: "COLD"}}, "unknown storage class"),
        ({"transition_after_days": [30]}, "days"),
        ({"transition_after_days": {-1: "GLACIER"}}, "days"),
        ({"transition_after_days": {30: "GLACIER"}, "expire_after_days": 20}, "after the last"),
        ({"noncurrent_expire_after_days": 5}, "versioning=True"),
        ({"versioning": "yes"}, "True or False"),
    ],
)
def test_bad_lifecycle_settings_are_configuration_errors(make_app, kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app("local").bucket("bad", **kwargs)


def test_lifecycle_on_a_versioned_bucket(make_app):
    """Expiry on a versioned bucket adds a delete marker; noncurrent versions go after their days
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html)."""
    from strato.core import clock

    app = make_app("local")
    bucket = app.bucket("aging", versioning=True, expire_after_days=10, noncurrent_expire_after_days=3)
    first = bucket.put("k", "1")
    bucket.put("k", "2")
    backend = bucket.backend
    assert backend.sweep(clock.now() + 4 * 86_400) == 1  # the noncurrent version, 4 days after it was replaced
    with pytest.raises(strato.NotFound):
        bucket.get("k", version_id=first.version_id)
    assert backend.sweep(clock.now() + 11 * 86_400) == 1  # the current one expires: a marker on top
    assert not bucket.exists("k") and bucket.list_versions().entries[0].delete_marker


def test_s3_gets_versioning_and_the_lifecycle_rule(make_app):
    """On S3 (auto-created against moto) the bucket's versioning and lifecycle are S3's own settings."""
    import boto3

    app = make_app("aws")
    bucket = app.bucket(
        "tiers",
        versioning=True,
        transition_after_days={30: "STANDARD_IA", 90: "GLACIER"},
        noncurrent_expire_after_days=7,
    )
    bucket.put("k", "x")
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    assert s3.get_bucket_versioning(Bucket=bucket.physical_name)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket.physical_name)["Rules"]
    assert [(t["Days"], t["StorageClass"]) for t in rule["Transitions"]] == [(30, "STANDARD_IA"), (90, "GLACIER")]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7


def test_a_backup_keeps_every_version_and_marker(make_app, tmp_path):
    from strato.backup.local import backup, restore

    app = make_app("local")
    bucket = app.bucket("kept", versioning=True)
    first = bucket.put("k", "one")
    second = bucket.put("k", "two")
    marker = bucket.delete("k")
    data = app.config.data_dir
    backup(data, tmp_path / "snap")
    bucket.delete("k", version_id=first.version_id)  # after the backup: gone for good here
    app.close()
    restore(tmp_path / "snap", data)
    again = strato.App(app.name, provider="local", data_dir=data)
    try:
        kept = again.bucket("kept", versioning=True)
        assert kept.get("k", version_id=first.version_id) == b"one"
        assert [v.version_id for v in kept.list_versions()] == [marker.version_id, second.version_id, first.version_id]
    finally:
        again.close()
