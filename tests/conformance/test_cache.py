"""The cache contract, run unchanged against SQLite, DynamoDB on moto_server and the real Redis."""

from __future__ import annotations

import threading
import time

import pytest

import strato
from strato.cache import CAPABILITIES, MAX_VALUE_BYTES
from tests.conformance.absence import assert_absent, double_cases, lacking


@pytest.fixture(params=["local", "aws", "redis"])
def provider(request):
    return request.param


@pytest.fixture
def cache(provider, make_app):
    app = make_app("aws" if provider == "aws" else "local")
    if provider == "redis":
        make_app("redis")  # sets REDIS_URL
    cache = app.cache("api", provider=provider)
    cache.get("warm-up")  # open (on moto: create) the store now, so no test's short TTL runs out while it is made
    return cache


@pytest.mark.parametrize(
    "value",
    ["text ✓", "", b"\x00raw\xff", 42, -7, 10**18, 1.5, True, False, [1, "a"], {"nested": {"x": [None, 2]}}, "5", b"5"],
)
def test_values_round_trip_with_their_type(cache, value):
    cache.set("k", value)
    got = cache.get("k")
    assert got == value and type(got) is type(value)


def test_missing_delete_and_overwrite(cache):
    assert cache.get("nope") is None
    cache.set("k", "a")
    cache.set("k", {"b": 1})
    assert cache.get("k") == {"b": 1}
    assert cache.delete("k") is True and cache.delete("k") is False


def test_ttl(cache):
    cache.set("short", "x", ttl=0.5)
    cache.set("long", "y", ttl=60)
    time.sleep(1.0)
    assert cache.get("short") is None and cache.get("long") == "y"
    assert cache.get_many(["short", "long"]) == {"long": "y"}


def test_incr(cache):
    assert cache.incr("hits") == 1
    assert cache.incr("hits", 5) == 6
    assert cache.incr("hits", -2) == 4
    cache.set("n", 10)
    assert cache.incr("n") == 11 and cache.get("n") == 11
    cache.set("s", "ten")
    with pytest.raises(strato.ValidationError, match="integer"):
        cache.incr("s")
    assert cache.get("s") == "ten"
    assert cache.incr("fresh", ttl=0.5) == 1
    time.sleep(1.0)
    assert cache.get("fresh") is None


def test_concurrent_incr_loses_nothing(cache):
    # moto applies DynamoDB writes without a lock (1 increment in 100 lost, one run in ten): the tests'
    # moto_server serialises DynamoDB calls, as DynamoDB makes each item write atomic (tests/moto_atomic.py)
    def bump() -> None:
        for _ in range(25):
            cache.incr("counter")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("counter") == 100


def test_many_and_get_or_set(cache):
    cache.set_many({"a": 1, "b": "two", "c": [3]}, ttl=60)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "b": "two", "c": [3]}
    calls = []
    assert cache.get_or_set("computed", lambda: calls.append(1) or {"v": 1}, ttl=60) == {"v": 1}
    assert cache.get_or_set("computed", lambda: calls.append(1) or {"v": 2}) == {"v": 1}
    assert calls == [1]


def test_persist_and_restore(cache):
    cache.snapshot_table.ensure()  # made before the short TTL starts (creating it on moto takes a while)
    cache.set_many({"a": 1, "b": "text"})
    # the short entry must outlive persist() (several moto calls, slow on a loaded machine), then expire
    short_ttl = 2.0
    expires = time.monotonic() + short_ttl
    cache.set("short", "gone soon", ttl=short_ttl)
    cache.set("long", b"bytes", ttl=120)
    assert cache.persist() == 4
    for key in ("a", "b", "short", "long"):
        cache.delete(key)
    time.sleep(max(0.0, expires - time.monotonic()) + 0.3)
    assert cache.restore() == 3  # the expired entry is not brought back
    assert cache.get_many(["a", "b", "short", "long"]) == {"a": 1, "b": "text", "long": b"bytes"}
    cache.snapshot_table.drop()


@pytest.mark.parametrize("key", ["", "x" * 1025, 5, None])
def test_bad_keys(cache, key):
    with pytest.raises(strato.ValidationError):
        cache.set(key, "v")


def test_bad_values_and_options_store_nothing(cache):
    cache.set("k", "original")
    with pytest.raises(strato.ValidationError):
        cache.set("k", {"not": object()})
    with pytest.raises(strato.ValidationError):
        cache.set("k", float("nan"))
    with pytest.raises(strato.ValidationError):
        cache.set("k", None)
    with pytest.raises(strato.ItemTooLarge):
        cache.set("k", b"x" * MAX_VALUE_BYTES)
    for ttl in (0, -1, "10"):
        with pytest.raises(strato.ValidationError):
            cache.set("k", "v", ttl=ttl)
    with pytest.raises(strato.ValidationError):
        cache.incr("n", 1.5)
    assert cache.get("k") == "original"


#: one use of each capability
USES = {
    "ttl": lambda c: c.set("t", "v", ttl=60),
    "incr": lambda c: c.incr("n"),
    "persist": lambda c: c.persist(),
}
#: other places the same capabilities are used
ALSO = [
    ("ttl", lambda c: c.set_many({"t": "v"}, ttl=60)),
    ("ttl", lambda c: c.incr("n", ttl=60)),
    ("ttl", lambda c: c.get_or_set("t", lambda: "v", ttl=60)),
    ("persist", lambda c: c.restore()),
]


def _state(cache):
    return [cache.get("t"), cache.get("n")]


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(cache):
    assert cache.capabilities == CAPABILITIES
    assert_absent(cache, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "cache", missing, CAPABILITIES)
    cache = make_app("local").cache("api")
    assert assert_absent(cache, USES, state=_state, also=ALSO) == lacks


def test_capabilities(cache):
    assert cache.capabilities == CAPABILITIES
