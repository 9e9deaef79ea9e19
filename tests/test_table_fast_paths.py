"""The table hot path's shortcuts give exactly what the general path gives: normalising common values
inline, decoding straight to floats on get, returning the caller's floats from put, counting usage
without a lock."""

from __future__ import annotations

import math
import threading
from decimal import Decimal

import pytest

import strato
from strato.core.errors import ValidationError
from strato.core.usage import Usage, read
from strato.table.docs import decode_doc, decode_floats, encode_doc
from strato.table.values import item_size, normalise, normalise_sized, present_item

TRICKY = [
    0.5,
    -0.5,
    0.1,
    1e-7,
    1.5e-7,
    123456.789,
    1.0000000000000002,
    2.0**53,
    2.0**53 + 2,
    1.5e16,
    -0.0,
    3.0,
    1e-130,
    1.1e-130,
    9e-131,
    9.9e125,
    1e126,
    5e-324,
    1.7976931348623157e308,
    float("nan"),
    float("inf"),
    -float("inf"),
    10**37,
    10**38,
    -(10**38) + 1,
    10**126,
    7,
    -7,
    0,
    Decimal("0.1000000000000000000001"),
    Decimal("1E+5"),
    ["a", "b", ""],
    ["a", 1, 0.25],
    [],
    ("t", 2.5),
    {"$n": 1},
    {"k": [0.5, {"x": 1e-7}]},
    "é€",
    "",
    True,
    None,
    b"\x00\xff",
]


def _general(value):
    """The general path: normalise() then item_size(), as before the shortcuts."""
    clean = {"v": normalise(value, "item.v")}
    return clean, item_size(clean)


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_inline_normalisation_matches_the_general_path(value):
    try:
        expected = _general(value)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as got:
            normalise_sized({"v": value})
        assert str(got.value) == str(exc)
        return
    clean, size = normalise_sized({"v": value})
    assert (repr(clean), size) == (repr(expected[0]), expected[1])


FINITE = [v for v in TRICKY if not isinstance(v, float) or math.isfinite(v)]


@pytest.mark.parametrize("value", FINITE, ids=repr)
def test_decoding_to_floats_is_presenting_decimals(value):
    try:
        clean, _ = normalise_sized({"v": value, "n": {"deep": [value]}})
    except ValidationError:
        return
    doc = encode_doc(clean)
    assert repr(decode_floats(doc)) == repr(present_item(decode_doc(doc), False))


def test_get_and_put_present_numbers_as_before(tmp_path):
    app = strato.App("fast", data_dir=tmp_path)
    plain = app.table("plain", key="id")
    exact = app.table("exact", key="id", decimals=True)
    item = {
        "id": "a",
        "f": 0.1,
        "big": Decimal("0.1000000000000000000001"),
        "i": 3.0,
        "l": [0.5, {"x": 1e-7}],
        "tag": {"$n": "not a number"},
        "b": b"\x00",
    }
    returned = plain.put(item)
    assert returned["f"] is item["f"]  # the caller's float, not a float made from a Decimal
    assert returned == {**item, "big": float(item["big"]), "i": 3} and type(returned["i"]) is int
    got = plain.get("a")
    assert repr(got) == repr(present_item(plain.backend.get({"id": "a"}, 0.0), False))
    assert got == returned
    stored = exact.put(item)
    assert stored["f"] == Decimal("0.1") and type(stored["l"][0]) is Decimal
    assert exact.get("a") == stored and type(exact.get("a")["big"]) is Decimal
    app.close()


def test_usage_counted_from_many_threads_loses_nothing(tmp_path):
    usage = Usage(tmp_path)

    def count() -> None:
        for _ in range(5000):
            usage.add("dynamodb", "read_units", 1)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    usage.flush()
    assert read(tmp_path) == {("dynamodb", "read_units"): 40_000}


def test_fractional_floats_become_the_decimal_of_their_repr():
    """Pinned from the general Decimal path (context plus + normalize) the float shortcut skips."""
    expected = {
        0.1: "Decimal('0.1')",
        1e-7: "Decimal('1E-7')",
        1.5e-7: "Decimal('1.5E-7')",
        123456.789: "Decimal('123456.789')",
        1.0000000000000002: "Decimal('1.0000000000000002')",
        1.1e-130: "Decimal('1.1E-130')",
        1.5e16: "15000000000000000",
    }
    assert {v: repr(normalise(v, "x")) for v in expected} == expected
    with pytest.raises(ValidationError, match="outside DynamoDB's number range"):
        normalise(5e-324, "x")


# DynamoDB's item size: "the sum of the lengths of its attribute names and values"; strings in UTF-8,
# a number "approximately (length of attribute name) + (1 byte per two significant digits) + (1 byte)",
# binary its bytes, null and Boolean 1 byte, a list or map 3 bytes + 1 byte per element
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
SIZED = [
    {"id": "a"},
    {"id": "a", "n": 0, "m": -5, "d": Decimal("1e125"), "f": 0.5, "big": 10**37},
    {"id": "é", "ü": "日本語" * 7, "emoji": "😀" * 50, "e": ""},
    {"id": "a", "t": True, "f": False, "z": None, "b": b"", "bb": b"\x00" * 7},
    {"id": "a", "l": [], "m": {}, "nest": {"x": [[], {}, [None, True, 0]], "$n": {"$b": 1}}},
    {"id": "a", "many": list(range(100)), "maps": [{"k": i} for i in range(30)]},
]


@pytest.mark.parametrize("item", SIZED, ids=range(len(SIZED)))
def test_dynamodb_size_is_at_most_four_bytes_per_stored_character(item):
    """What lets a read-modify-write skip the size walk for a short document (``check_stored_size``)."""
    clean = normalise(item, "item")
    assert item_size(clean) <= 4 * len(encode_doc(clean))


def test_modify_and_update_still_refuse_items_over_400_kib(tmp_path):
    app = strato.App("sized", data_dir=tmp_path)
    docs, counters = app.table("docs", key="id"), app.cache("c")
    docs.put({"id": "a", "text": "x" * 300_000})
    with pytest.raises(strato.ItemTooLarge, match="400 KB"):
        docs.update("a", set={"more": "é" * 60_000})  # 120,000 bytes in UTF-8: 420,000 in all
    assert "more" not in docs.get("a")
    docs.update("a", set={"more": "x" * 100_000})  # 400,000 bytes: kept
    counters.set("n", 1)
    assert counters.incr("n", 5) == 6
    app.close()


def test_keys_nulls_and_bools_bind_through_identity_adapters(tmp_path):
    """sqlite3 looks up an adapter for every parameter that is not an exact int, float or str (raising and
    clearing two AttributeErrors when there is none): the local providers register identity ones."""
    import sqlite3

    from strato.runtime.sqlite import Database

    for kind in (bytes, type(None), bool):
        assert (kind, sqlite3.PrepareProtocol) in sqlite3.adapters
    db = Database(tmp_path / "t.db")
    row = db.conn.execute("SELECT ?, typeof(?), ?, typeof(?), ?, ?", (b"\x00k", b"", None, None, True, False))
    assert row.fetchone() == (b"\x00k", "blob", None, "null", 1, 0)
    db.close()
