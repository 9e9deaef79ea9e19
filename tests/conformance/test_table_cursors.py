"""Table cursors are opaque and signed, bound to the table, index and partition they came from, on
every provider: a cursor edited by hand, or moved to another query, is a ValidationError (as documented
in docs/primitives/table.md), never a page read from wherever it points."""

from __future__ import annotations

import base64
import json

import pytest

import strato
from tests.conformance.test_table import app, provider  # noqa: F401 - the fixtures, over every provider


def _declare(app, name="events"):  # noqa: F811
    return app.table(name, key="user", sort="ts:number", indexes={"by_tag": ("tag", "ts:number")})


def _events(app, name="events"):  # noqa: F811
    table = _declare(app, name)
    for user in ("u1", "u2"):
        for ts in range(6):
            table.put({"user": user, "ts": ts, "tag": f"t{ts % 2}"})
    return table


def _refused(table, partition, cursor, **options):
    with pytest.raises(strato.ValidationError, match="cursor"):
        table.query(partition, limit=2, cursor=cursor, **options)


def test_a_cursor_made_by_hand_is_refused(app):  # noqa: F811
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


def test_a_cursor_from_another_partition_is_refused(app):  # noqa: F811
    events = _events(app)
    cursor = events.query("u1", limit=2).cursor
    assert [e["ts"] for e in events.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    _refused(events, "u2", cursor)
    tag_cursor = events.query("t0", index="by_tag", limit=1).cursor
    following = events.query("t0", index="by_tag", limit=2, cursor=tag_cursor).items
    assert following == events.query("t0", index="by_tag", limit=3).items[1:]
    _refused(events, "t1", tag_cursor, index="by_tag")


def test_a_cursor_from_another_index_or_table_is_refused(app):  # noqa: F811
    events = _events(app)
    twin = _events(app, "twin")  # the same schema and the same items
    cursor = events.query("u1", limit=2).cursor
    _refused(twin, "u1", cursor)
    _refused(events, "u1", cursor, index="by_tag")
    tag_cursor = events.query("t0", index="by_tag", limit=1).cursor
    _refused(events, "t0", tag_cursor)
    _refused(twin, "t0", tag_cursor, index="by_tag")


def test_a_cursor_from_another_app_is_refused(make_app, provider):  # noqa: F811
    first, second = make_app(provider), make_app(provider)
    cursor = _events(first).query("u1", limit=2).cursor
    _refused(_events(second), "u1", cursor)


def test_numbers_that_are_equal_keep_their_cursor(app):  # noqa: F811
    table = app.table("scores", key="level:number", sort="at:number")
    for at in range(4):
        table.put({"level": 1, "at": at})
    cursor = table.query(1, limit=2).cursor
    assert [i["at"] for i in table.query(1.0, limit=2, cursor=cursor).items] == [2, 3]


def test_local_cursors_outlive_the_process_and_their_key_is_private(tmp_path):
    """Local cursors are signed with a key kept beside the data (0600), so `strato dev` and
    `strato worker`, or a restarted dev server, accept each other's cursors."""
    first = strato.App("cursors", data_dir=tmp_path, provider="local")
    cursor = _events(first).query("u1", limit=2).cursor
    first.close()
    again = strato.App("cursors", data_dir=tmp_path, provider="local")
    events = _declare(again)
    assert [e["ts"] for e in events.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    assert (tmp_path / "cursor-signing.key").stat().st_mode & 0o777 == 0o600
    again.close()


def test_aws_cursors_are_signed_with_strato_cursor_key(make_app, monkeypatch):
    """On AWS the key is STRATO_CURSOR_KEY (set by the template): a cursor signed with another key is
    refused, one signed with the same key works in another instance of the app (another Lambda)."""
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k1" * 16)
    signer = make_app("aws")
    cursor = _events(signer).query("u1", limit=2).cursor
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k2" * 16)
    other_key = strato.App(signer.name, provider="aws", data_dir=signer.config.data_dir)
    table = _declare(other_key)
    _refused(table, "u1", cursor)
    monkeypatch.setenv("STRATO_CURSOR_KEY", "k1" * 16)
    same_key = strato.App(signer.name, provider="aws", data_dir=signer.config.data_dir)
    table = _declare(same_key)
    assert [e["ts"] for e in table.query("u1", limit=2, cursor=cursor).items] == [2, 3]
    other_key.close()
    same_key.close()
