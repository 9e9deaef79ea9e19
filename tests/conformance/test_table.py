"""The table contract, run unchanged against every provider (SQLite and DynamoDB on moto_server)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strato
from strato import Sort
from strato.table import CAPABILITIES, Table, Transaction
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.conftest import moto_gap

PROVIDERS = ["local", "aws"]


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


@pytest.fixture
def app(make_app, provider):
    return make_app(provider)


@pytest.fixture
def docs(app):
    return app.table("docs", key="id")


@pytest.fixture
def events(app):
    return app.table(
        "events",
        key="user",
        sort="ts:number",
        indexes={"by_kind": ("kind", "ts:number"), "by_tag": "tag"},
        ttl="expires",
    )


# -- values -----------------------------------------------------------------------------------------
VALUES = {
    "str": "héllo wörld ✓",
    "empty": "",
    "int": 42,
    "neg": -7,
    "big": 10**30,
    "float": 0.1,
    "pi": 3.14159,
    "bool": True,
    "false": False,
    "none": None,
    "bytes": b"\x00\xffraw",
    "list": [1, "two", [3.5, None]],
    "map": {"a": {"b": [True, {"c": b"x"}]}},
    "tagged": {"$n": "not a number"},
    "emoji": "😀",
}


def test_round_trip_of_every_value_type(docs):
    docs.put({"id": "a", **VALUES})
    assert docs.get("a") == {"id": "a", **VALUES}


def test_decimals_mode_returns_exact_decimals(app):
    table = app.table("money", key="id", decimals=True)
    table.put({"id": "x", "price": Decimal("19.99"), "qty": 3, "f": 0.5})
    got = table.get("x")
    assert got["price"] == Decimal("19.99") and isinstance(got["price"], Decimal)
    assert got["qty"] == 3 and isinstance(got["qty"], int)
    assert got["f"] == Decimal("0.5")


def test_integral_floats_come_back_as_int(docs):
    docs.put({"id": "a", "n": 2.0, "d": Decimal("5.000")})
    assert docs.get("a") == {"id": "a", "n": 2, "d": 5}


def test_missing_item_is_none_and_put_overwrites(docs):
    assert docs.get("nope") is None
    docs.put({"id": "a", "x": 1, "y": 2})
    docs.put({"id": "a", "x": 3})
    assert docs.get("a") == {"id": "a", "x": 3}


# -- conditions -------------------------------------------------------------------------------------
def test_put_if_absent(docs):
    docs.put({"id": "a", "v": 1}, if_absent=True)
    with pytest.raises(strato.ConditionFailed):
        docs.put({"id": "a", "v": 2}, if_absent=True)
    assert docs.get("a")["v"] == 1


def test_put_if_match_version(docs):
    docs.put({"id": "a", "version": 1, "body": "first"})
    docs.put({"id": "a", "version": 2, "body": "second"}, if_match={"version": 1})
    with pytest.raises(strato.ConditionFailed):
        docs.put({"id": "a", "version": 3, "body": "lost update"}, if_match={"version": 1})
    assert docs.get("a") == {"id": "a", "version": 2, "body": "second"}
    with pytest.raises(strato.ConditionFailed):
        docs.put({"id": "ghost", "version": 1}, if_match={"version": 0})
    assert docs.get("ghost") is None


def test_condition_distinguishes_true_from_one(docs, provider, request):
    moto_gap(request, provider, "compares BOOL true equal to N 1 in condition expressions; DynamoDB does not")
    docs.put({"id": "a", "flag": True})
    with pytest.raises(strato.ConditionFailed):
        docs.put({"id": "a", "flag": False}, if_match={"flag": 1})
    docs.put({"id": "a", "flag": False}, if_match={"flag": True})


def test_update_set_remove_add_and_upsert(docs):
    created = docs.update("a", set={"name": "n"}, add={"count": 2})
    assert created == {"id": "a", "name": "n", "count": 2}
    updated = docs.update("a", add={"count": 3, "score": 1.5}, remove=["name"])
    assert updated == {"id": "a", "count": 5, "score": 1.5}
    assert docs.get("a") == updated


def test_update_conditions_and_errors(docs):
    with pytest.raises(strato.ConditionFailed):
        docs.update("missing", set={"x": 1}, if_exists=True)
    assert docs.get("missing") is None
    docs.put({"id": "a", "status": "queued", "name": "text"})
    docs.update("a", set={"status": "running"}, if_match={"status": "queued"})
    with pytest.raises(strato.ConditionFailed):
        docs.update("a", set={"status": "running"}, if_match={"status": "queued"})
    with pytest.raises(strato.ValidationError):
        docs.update("a", add={"name": 1})
    with pytest.raises(strato.ValidationError):
        docs.update("a", set={"id": "b"})
    with pytest.raises(strato.ValidationError):
        docs.update("a", set={"x": 1}, remove=["x"])
    with pytest.raises(strato.ValidationError):
        docs.update("a")
    assert docs.get("a") == {"id": "a", "status": "running", "name": "text"}


def test_delete_returns_old_item_and_honours_conditions(docs):
    assert docs.delete("nothing") is None
    docs.put({"id": "a", "v": 1})
    with pytest.raises(strato.ConditionFailed):
        docs.delete("a", if_match={"v": 2})
    assert docs.get("a") == {"id": "a", "v": 1}
    assert docs.delete("a", if_match={"v": 1}) == {"id": "a", "v": 1}
    assert docs.get("a") is None
    with pytest.raises(strato.ConditionFailed):
        docs.delete("a", if_exists=True)


# -- queries ----------------------------------------------------------------------------------------
def _fill(events, n=10):
    for i in range(n):
        events.put({"user": "u1", "ts": i, "kind": "click" if i % 2 else "view", "tag": f"t{i % 3}"})
    events.put({"user": "u2", "ts": 1, "kind": "click"})


@pytest.mark.parametrize(
    "cond,expected",
    [
        (Sort.eq(3), [3]),
        (Sort.lt(3), [0, 1, 2]),
        (Sort.lte(3), [0, 1, 2, 3]),
        (Sort.gt(7), [8, 9]),
        (Sort.gte(7), [7, 8, 9]),
        (Sort.between(2, 4), [2, 3, 4]),
        (None, list(range(10))),
    ],
)
def test_query_sort_conditions(events, cond, expected):
    _fill(events)
    assert [i["ts"] for i in events.query("u1", sort=cond)] == expected


def test_query_newest_first_and_pagination(events):
    _fill(events)
    seen, cursor, pages = [], None, 0
    while True:
        page = events.query("u1", newest_first=True, limit=3, cursor=cursor)
        seen += [i["ts"] for i in page]
        pages += 1
        if not page.cursor:
            break
        cursor = page.cursor
    assert seen == list(range(9, -1, -1))
    assert pages == 4
    assert [i["ts"] for i in events.iterate("u1", page_size=3, sort=Sort.gte(2))] == list(range(2, 10))
    exact = events.query("u1", limit=10)
    assert len(exact) == 10 and exact.cursor is None


def test_begins_with_and_string_order_is_utf8_byte_order(app):
    table = app.table("names", key="p", sort="name")
    names = ["b", "a", "B", "ab", "é", "z", "😀", "a b", "A", "aa"]
    for name in names:
        table.put({"p": "x", "name": name})
    assert [i["name"] for i in table.query("x")] == sorted(names, key=lambda s: s.encode())
    assert [i["name"] for i in table.query("x", sort=Sort.begins_with("a"))] == ["a", "a b", "aa", "ab"]


@given(
    numbers=st.lists(
        st.one_of(
            st.integers(-(10**12), 10**12), st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False)
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda d: Decimal(d).normalize(),
    )
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_number_sort_keys_order_numerically(app, numbers):
    table = app.table(f"nums{uuid.uuid4().hex[:8]}", key="p", sort="n:number", decimals=True)
    for n in numbers:
        table.put({"p": "x", "n": n})
    assert [Decimal(i["n"]) for i in table.query("x")] == sorted(Decimal(n) for n in numbers)
    table.drop()


def test_index_query_is_sparse_and_paginates(events):
    _fill(events)
    events.put({"user": "u3", "ts": 5, "note": "no kind: not in index"})
    clicks = events.query("click", index="by_kind")
    assert [(i["user"], i["ts"]) for i in clicks] == [
        ("u1", 1),
        ("u2", 1),
        ("u1", 3),
        ("u1", 5),
        ("u1", 7),
        ("u1", 9),
    ] or sorted((i["ts"], i["user"]) for i in clicks) == [
        (1, "u1"),
        (1, "u2"),
        (3, "u1"),
        (5, "u1"),
        (7, "u1"),
        (9, "u1"),
    ]
    seen, cursor = [], None
    while True:
        page = events.query("t0", index="by_tag", limit=2, cursor=cursor)
        seen += [i["ts"] for i in page]
        if not page.cursor:
            break
        cursor = page.cursor
    assert sorted(seen) == [0, 3, 6, 9]
    assert [i["ts"] for i in events.query("click", index="by_kind", sort=Sort.gte(7), newest_first=True)] == [9, 7]


def test_index_reflects_updates_and_deletes(events):
    events.put({"user": "u1", "ts": 1, "kind": "view"})
    events.update(("u1", 1), set={"kind": "click"})
    assert [i["ts"] for i in events.query("view", index="by_kind")] == []
    assert [i["ts"] for i in events.query("click", index="by_kind")] == [1]
    events.delete(("u1", 1))
    assert events.query("click", index="by_kind").items == []


def test_bad_queries(events):
    with pytest.raises(strato.ValidationError):
        events.query("u1", index="nope")
    with pytest.raises(strato.ValidationError):
        events.query("u1", sort=Sort.begins_with("1"))  # number sort key
    with pytest.raises(strato.ValidationError):
        events.query("u1", limit=0)
    with pytest.raises(strato.ValidationError):
        events.query("u1", sort=Sort.between(5, 1))
    _fill(events, 4)
    cursor = events.query("u1", limit=1).cursor
    for bad in ("garbage!", cursor[:-3] + "AAA", "e30"):
        with pytest.raises(strato.ValidationError, match="cursor"):
            events.query("u1", limit=1, cursor=bad)
    with pytest.raises(strato.ValidationError, match="cursor"):
        events.query("click", index="by_kind", cursor=cursor)


# -- TTL --------------------------------------------------------------------------------------------
def test_expired_items_are_absent_everywhere(events):
    past, future = time.time() - 5, time.time() + 3600
    events.put({"user": "u1", "ts": 1, "kind": "click", "expires": past})
    events.put({"user": "u1", "ts": 2, "kind": "click", "expires": future})
    events.put({"user": "u1", "ts": 3, "kind": "click", "expires": "not a number: ignored"})
    assert events.get(("u1", 1)) is None
    assert [i["ts"] for i in events.query("u1")] == [2, 3]
    assert [i["ts"] for i in events.query("click", index="by_kind")] == [2, 3]
    assert events.batch_get([("u1", 1), ("u1", 2)])[0] is None
    assert events.delete(("u1", 1)) is None
    events.put({"user": "u1", "ts": 4, "kind": "old", "expires": past})
    events.put({"user": "u1", "ts": 4, "kind": "new"}, if_absent=True)
    assert events.get(("u1", 4))["kind"] == "new"
    events.put({"user": "u1", "ts": 5, "kind": "old", "stale": True, "expires": past})
    assert events.update(("u1", 5), set={"kind": "fresh"}) == {"user": "u1", "ts": 5, "kind": "fresh"}
    with pytest.raises(strato.ConditionFailed):
        events.put({"user": "u1", "ts": 6, "expires": past})
        events.update(("u1", 6), set={"x": 1}, if_exists=True)


def test_put_if_absent_on_a_table_without_indexes_sees_expired_items_as_absent(app):
    # the local provider writes this case in one statement (a relay's per-message put): same answers
    plain = app.table("plain", key="id", ttl="expires")
    plain.put({"id": "old", "v": 1, "expires": time.time() - 5})
    plain.put({"id": "old", "v": 2}, if_absent=True)
    assert plain.get("old") == {"id": "old", "v": 2}
    plain.put({"id": "live", "v": 1, "expires": time.time() + 3600})
    for taken in ("old", "live"):  # a live item without a TTL attribute, one with a TTL to come
        with pytest.raises(strato.ConditionFailed):
            plain.put({"id": taken, "v": 3}, if_absent=True)
    assert plain.get("live")["v"] == 1 and plain.get("old")["v"] == 2


def test_item_expires_while_stored(events):
    events.get(("u1", 0))  # open (on moto: create) the table first, or its creation can outlast the 0.6 s
    events.put({"user": "u1", "ts": 1, "expires": time.time() + 0.6})
    assert events.get(("u1", 1)) is not None
    time.sleep(1.0)
    assert events.get(("u1", 1)) is None


# -- batches and transactions -----------------------------------------------------------------------
def test_batch_put_and_get(docs):
    items = [{"id": f"k{i:03}", "n": i} for i in range(130)]
    assert docs.batch_put(items) == 130
    keys = ["k005", "missing", "k129", "k005"]
    got = docs.batch_get(keys)
    assert [g and g["n"] for g in got] == [5, None, 129, 5]
    assert len(docs.batch_get([f"k{i:03}" for i in range(130)])) == 130
    with pytest.raises(strato.ValidationError):
        docs.batch_put([{"id": "same"}, {"id": "same"}])


def test_transaction_commits_across_tables(app, docs):
    counters = app.table("counters", key="name")
    counters.put({"name": "jobs", "n": 1})
    counters.put({"name": "open", "flag": "yes"})
    with app.transaction() as tx:
        tx.put(docs, {"id": "job1", "status": "queued"}, if_absent=True)
        tx.update(counters, "jobs", add={"n": 1}, if_match={"n": 1})
        tx.check(counters, "open", if_match={"flag": "yes"})
    assert docs.get("job1")["status"] == "queued"
    assert counters.get("jobs")["n"] == 2


def test_transaction_is_all_or_nothing_with_reasons(app, docs):
    docs.put({"id": "taken", "v": 1})
    docs.put({"id": "gone", "v": 1})
    with pytest.raises(strato.TransactionCanceled) as info, app.transaction() as tx:
        tx.put(docs, {"id": "new", "v": 1})
        tx.put(docs, {"id": "taken", "v": 2}, if_absent=True)
        tx.delete(docs, "gone")
    assert info.value.reasons == [None, "ConditionalCheckFailed", None]
    assert docs.get("new") is None
    assert docs.get("taken") == {"id": "taken", "v": 1}
    assert docs.get("gone") == {"id": "gone", "v": 1}


def test_transaction_limits(app, docs):
    tx = app.transaction()
    tx.put(docs, {"id": "a"})
    with pytest.raises(strato.ValidationError, match="twice"):
        tx.delete(docs, "a")
    tx = app.transaction()
    for i in range(100):
        tx.put(docs, {"id": f"i{i}"})
    with pytest.raises(strato.ValidationError, match="100"):
        tx.put(docs, {"id": "one too many"})
    tx.commit()
    assert docs.get("i99") == {"id": "i99"}


# -- bad input --------------------------------------------------------------------------------------
def test_item_size_limit(docs):
    docs.put({"id": "big", "v": "ok"})
    with pytest.raises(strato.ItemTooLarge, match="400"):
        docs.put({"id": "big", "blob": b"x" * (400 * 1024)})
    docs.put({"id": "edge", "text": "x" * 390_000})
    assert docs.get("big") == {"id": "big", "v": "ok"}
    assert len(docs.get("edge")["text"]) == 390_000


def test_items_up_to_400_kib_are_stored(docs, provider, request):
    moto_gap(request, provider, "caps items at 400,000 bytes, not 400 KB (409,600), and sizes binary as base64")
    docs.put({"id": "edge", "text": "x" * (400 * 1024 - 20)})
    docs.put({"id": "blob", "blob": b"x" * (400 * 1024 - 20)})
    assert len(docs.get("blob")["blob"]) == 400 * 1024 - 20


@pytest.mark.parametrize(
    "item,match",
    [
        ({"id": ""}, "empty"),
        ({"id": "x" * 2049}, "2048"),
        ({"id": 5}, "string"),
        ({"nokey": 1}, "missing"),
        ({"id": "a", "v": object()}, "not storable"),
        ({"id": "a", "v": {1, 2}}, "sets"),
        ({"id": "a", "v": float("nan")}, "NaN"),
        ({"id": "a", "v": Decimal("1e200")}, "range"),
        ({"id": "a", "v": Decimal("1." + "1" * 40)}, "38"),
        ({"id": "a", "m": {"": 1}}, "non-empty"),
    ],
)
def test_invalid_items_are_rejected_and_store_nothing(docs, item, match):
    with pytest.raises(strato.ValidationError, match=match):
        docs.put(item)
    assert docs.get("a") is None


def test_sort_key_and_index_key_limits(app, events):
    with pytest.raises(strato.ValidationError, match="number"):
        events.put({"user": "u", "ts": "not-a-number"})
    with pytest.raises(strato.ValidationError, match="index"):
        events.put({"user": "u", "ts": 1, "kind": 5})
    table = app.table("strs", key="p", sort="s")
    with pytest.raises(strato.ValidationError, match="1024"):
        table.put({"p": "a", "s": "x" * 1025})
    with pytest.raises(strato.ValidationError):
        table.get("only-partition")


# -- capabilities -----------------------------------------------------------------------------------
def _in_a_transaction(table):
    with Transaction() as tx:
        tx.put(table, {"id": "tx"})


def _checked_in_a_transaction(table):
    with Transaction() as tx:
        tx.check(table, "a", if_exists=True)


def _watched(table):
    watched = Table(table.ctx, "watched", key="id", provider=table.provider_name)
    watched.on_change()(lambda record: None)
    return watched.get("a")  # a declaration: refused when the backend opens


#: one use of each capability, on a table keyed by "id" (declaration-time ones on a sibling table)
USES = {
    "conditions": lambda t: t.put({"id": "c"}, if_absent=True),
    "indexes": lambda t: t.query("x", index="by_x"),
    "ttl": lambda t: Table(t.ctx, "expiring", key="id", ttl="exp", provider=t.provider_name).get("a"),
    "batch": lambda t: t.batch_put([{"id": "b"}]),
    "transactions": _in_a_transaction,
    "change_stream": lambda t: t.on_change()(lambda record: None),
}
#: other places the same capabilities are used (declarations among them)
ALSO = [
    ("conditions", lambda t: t.update("c", set={"n": 1}, if_exists=True)),
    ("conditions", lambda t: t.delete("c", if_match={"n": 1})),
    ("conditions", _checked_in_a_transaction),
    ("batch", lambda t: t.batch_get(["b"])),
    ("indexes", lambda t: Table(t.ctx, "indexed", key="id", indexes={"by_x": "x"}, provider=t.provider_name).get("a")),
    ("change_stream", _watched),
]


def _state(table):
    return [table.get(key) for key in ("c", "b", "tx")]


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(docs):
    assert {"conditions", "indexes", "ttl", "batch", "transactions"} <= docs.capabilities  # exercised above
    assert_absent(docs, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "table", missing, CAPABILITIES)
    docs = make_app("local").table("docs", key="id")
    assert assert_absent(docs, USES, state=_state, also=ALSO) == lacks


def test_declared_capabilities_work_and_the_rest_raise_not_supported(docs):
    declared = docs.capabilities
    assert declared <= CAPABILITIES
    assert {"conditions", "indexes", "ttl", "batch", "transactions"} <= declared  # exercised above
    for capability in CAPABILITIES - declared:
        if capability == "change_stream":
            with pytest.raises(strato.NotSupported):
                docs.on_change(lambda records: None)
