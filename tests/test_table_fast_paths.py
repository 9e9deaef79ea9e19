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
