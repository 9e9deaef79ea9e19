"""The kv contract, run unchanged against local (SQLite), aws (DynamoDB on moto_server) and Redis."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strato
from strato.kv import CAPABILITIES, MAX_VALUE_BYTES
from tests.conformance.absence import assert_absent, double_cases, lacking


@pytest.fixture(params=["local", "aws", "redis"])
def kv(request, make_app):
    provider = request.param
    app = make_app("aws" if provider == "aws" else "local")
    if provider == "redis":
        make_app("redis")  # sets REDIS_URL for this test
    kv = app.kv("sessions", provider=provider)
    kv.get("warm-up")  # open (on moto: create) the store now, so no test's short TTL runs out while it is made
    return kv


def test_set_get_delete(kv):
    assert kv.get("missing") is None
    kv.set("user:1", "alice")
    kv.set("blob", b"\x00\x01\xff")
    kv.set("empty", "")
    assert kv.get("user:1") == "alice"
    assert kv.get("blob") == b"\x00\x01\xff"
    assert kv.get("empty") == ""
    kv.set("user:1", "bob")
    assert kv.get("user:1") == "bob"
    assert kv.delete("user:1") is True
    assert kv.delete("user:1") is False
    assert kv.get("user:1") is None


def test_unicode_keys_and_values(kv):
    kv.set("ключ/😀", "välue ✓")
    assert kv.get("ключ/😀") == "välue ✓"
    assert kv.list("ключ").items == ["ключ/😀"]


def test_ttl_expiry(kv):
    kv.set("short", "x", ttl=0.5)
    kv.set("long", "y", ttl=3600)
    assert kv.get("short") == "x"
    time.sleep(1.0)
    assert kv.get("short") is None
    assert kv.get("long") == "y"
    assert kv.list().items == ["long"]
    kv.set("short", "again")
    assert kv.get("short") == "again"


def test_list_by_prefix_in_byte_order_with_pages(kv):
    keys = [f"job:{i:03}" for i in range(25)] + ["jobs", "job", "other:1", "a"]
    for key in keys:
        kv.set(key, "v")
    got, cursor, pages = [], None, 0
    while True:
        page = kv.list("job:", limit=10, cursor=cursor)
        got += page.items
        pages += 1
        if not page.cursor:
            break
        cursor = page.cursor
    assert got == [f"job:{i:03}" for i in range(25)]
    assert pages == 3
    assert kv.list("job", limit=100).items == sorted(k for k in keys if k.startswith("job"))
    assert kv.list().items == sorted(keys)


@given(
    keys=st.sets(st.text(alphabet="ab/é😀", min_size=1, max_size=6), min_size=1, max_size=15),
    prefix=st.text(alphabet="ab/", max_size=2),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_listing_matches_a_sorted_filter(kv, keys, prefix):
    for key in keys:
        kv.set(key, "v")
    got, cursor = [], None
    while True:
        page = kv.list(prefix, limit=4, cursor=cursor)
        got += page.items
        if not page.cursor:
            break
        cursor = page.cursor
    assert got == sorted((k for k in keys if k.startswith(prefix)), key=lambda k: k.encode())
    for key in keys:
        kv.delete(key)


@pytest.mark.parametrize("key", ["", "x" * 1025, "é" * 513, 5, None, "bad\ud800"])
def test_invalid_keys(kv, key):
    with pytest.raises(strato.ValidationError):
        kv.set(key, "v")
    with pytest.raises(strato.ValidationError):
        kv.get(key)


def test_invalid_values_and_options_store_nothing(kv):
    kv.set("k", "original")
    with pytest.raises(strato.ItemTooLarge):
        kv.set("k", "x" * (MAX_VALUE_BYTES + 1))
    with pytest.raises(strato.ValidationError):
        kv.set("k", {"not": "a string"})
    for ttl in (0, -1, "10", True):
        with pytest.raises(strato.ValidationError):
            kv.set("k", "v", ttl=ttl)
    with pytest.raises(strato.ValidationError):
        kv.list(limit=0)
    with pytest.raises(strato.ValidationError):
        kv.list("a", cursor="b")
    assert kv.get("k") == "original"
    kv.set("k", "x" * MAX_VALUE_BYTES)
    assert len(kv.get("k")) == MAX_VALUE_BYTES


#: one use of each capability
USES = {
    "ttl": lambda kv: kv.set("t", "v", ttl=60),
    "list": lambda kv: kv.list(),
    "bytes": lambda kv: kv.set("b", b"\x00raw"),
}


def _state(kv):
    return [kv.get("t"), kv.get("b")]


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(kv):
    assert {"ttl", "list", "bytes"} <= kv.capabilities  # each exercised above
    assert_absent(kv, USES, state=_state)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "kv", missing, CAPABILITIES)
    kv = make_app("local").kv("sessions")
    assert assert_absent(kv, USES, state=_state) == lacks


def test_capabilities(kv):
    assert kv.capabilities <= CAPABILITIES
    assert {"ttl", "list", "bytes"} <= kv.capabilities  # each exercised above
