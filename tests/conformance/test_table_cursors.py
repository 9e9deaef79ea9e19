"""Table cursors are opaque and signed, bound to the table, index and partition they came from, on
every provider: a cursor edited by hand, or moved to another query, is a ValidationError (as documented
in docs/primitives/table.md), never a page read from wherever it points."""

from __future__ import annotations

import base64
import json

import pytest

import strato

PROVIDERS = ["local", "aws"]


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


@pytest.fixture
def app(make_app, provider):
    return make_app(provider)


def _events(app, name="events"):
    table = app.table(name, key="user", sort="ts:number", indexes={"by_tag": ("tag", "ts:number")})
    for user in ("u1", "u2"):
        for ts in range(6):
            table.put({"user": user, "ts": ts, "tag": f"t{ts % 2}"})
    return table


def _refused(table, partition, cursor, **options):
    with pytest.raises(strato.ValidationError, match="cursor"):
        table.query(partition, limit=2, cursor=cursor, **options)


def test_a_cursor_made_by_hand_is_refused(app):
    """Cursors used to be base64 JSON of the last key: anyone could write one pointing anywhere."""
    events = _events(app)
    for position in (["", ["u1", "3"]], ["", ["u2", "0"]], ["", ["u1", "-1"]]):
        forged = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        _refused(events, "u1", forged)
    cursor = events.query("u1", limit=2).cursor
    assert cursor is not None
    for i in range(len(cursor)):  # any one character changed
        edited = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
        _refused(events, "u1", edited)
    for junk in ("", ".", "a.b", cursor + ".x", cursor.split(".")[0], "é" * 40, 42):
        if junk == "":
            continue  # an empty cursor is no cursor: the first page
        _refused(events, "u1", junk)


def test_a_cursor_from_another_partition_is_refused(app):
    events = _events(app)
    cursor = events.query("u1", limit=2).cursor
    assert [e["ts"] for e in events.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    _refused(events, "u2", cursor)
    tag_cursor = events.query("t0", index="by_tag", limit=1).cursor
    following = events.query("t0", index="by_tag", limit=2, cursor=tag_cursor).items
    assert following == events.query("t0", index="by_tag", limit=3).items[1:]
    _refused(events, "t1", tag_cursor, index="by_tag")


def test_a_cursor_from_another_index_or_table_is_refused(app):
    events = _events(app)
    twin = _events(app, "twin")  # the same schema and the same items
    cursor = events.query("u1", limit=2).cursor
    _refused(twin, "u1", cursor)
    _refused(events, "u1", cursor, index="by_tag")
    tag_cursor = events.query("t0", index="by_tag", limit=1).cursor
    _refused(events, "t0", tag_cursor)
    _refused(twin, "t0", tag_cursor, index="by_tag")


def test_a_cursor_from_another_app_is_refused(make_app, provider):
    first, second = make_app(provider), make_app(provider)
    cursor = _events(first).query("u1", limit=2).cursor
    _refused(_events(second), "u1", cursor)


def test_numbers_that_are_equal_keep_their_cursor(app):
    table = app.table("scores", key="level:number", sort="at:number")
    for at in range(4):
        table.put({"level": 1, "at": at})
    cursor = table.query(1, limit=2).cursor
    assert [i["at"] for i in table.query(1.0, limit=2, cursor=cursor).items] == [2, 3]


def test_local_cursors_outlive_the_process_and_their_key_is_private(tmp_path):
    """Local cursors are signed with a key kept beside the data (0600), so `strato dev` and
    `strato worker`, or a restarted dev server, accept each other's cursors."""
    app = strato.App("cursors", data_dir=tmp_path, provider="local")
    cursor = _events(app).query("u1", limit=2).cursor
    app.close()
    again = strato.App("cursors", data_dir=tmp_path, provider="local")
    events = again.table("events", key="user", sort="ts:number", indexes={"by_tag": ("tag", "ts:number")})
    assert [e["ts"] for e in events.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    assert (tmp_path / "cursor-signing.key").stat().st_mode & 0o777 == 0o600
    again.close()


def test_aws_cursors_are_signed_with_strato_cursor_key(make_app, monkeypatch):
    """On AWS the key is STRATO_CURSOR_KEY (set by the template): a cursor signed with another key is
    refused, one signed with the same key works in another instance of the app (another Lambda)."""
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k1" * 16)
    app = make_app("aws")
    cursor = _events(app).query("u1", limit=2).cursor
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k2" * 16)
    other_key = strato.App(app.name, provider="aws", data_dir=app.config.data_dir)
    table = other_key.table("events", key="user", sort="ts:number", indexes={"by_tag": ("tag", "ts:number")})
    _refused(table, "u1", cursor)
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k1" * 16)
    same_key = strato.App(app.name, provider="aws", data_dir=app.config.data_dir)
    table = same_key.table("events", key="user", sort="ts:number", indexes={"by_tag": ("tag", "ts:number")})
    assert [e["ts"] for e in table.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    other_key.close()
    same_key.close()
