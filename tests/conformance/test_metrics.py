"""The metrics contract, run unchanged against the SQLite store and CloudWatch on moto_server."""

from __future__ import annotations

import math
import time
import uuid

import pytest

from strato.core.errors import AccessDenied, ValidationError
from strato.metrics import CAPABILITIES, Metrics
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.conftest import moto_gap


@pytest.fixture(params=["local", "aws"])
def provider(request):
    return request.param


@pytest.fixture
def metrics(provider, make_app):
    app = make_app(provider)
    return app.metrics(f"Test/{uuid.uuid4().hex[:8]}")


def minute(offset: int) -> float:
    """A whole minute ``offset`` minutes before the current one."""
    return (time.time() // 60 - offset) * 60


def test_each_basic_statistic_per_minute(metrics):
    start = minute(10)
    values = {0: [1.0, 2.0, 3.0, 10.0], 2: [5.0], 3: [0.5, 0.25]}
    metrics.put_many(
        [
            {"name": "Latency", "value": v, "unit": "Milliseconds", "timestamp": start + m * 60 + 7 + i}
            for m, vs in values.items()
            for i, v in enumerate(vs)
        ]
    )
    points = metrics.query(
        "Latency",
        statistics=["Average", "Sum", "Minimum", "Maximum", "SampleCount"],
        period=60,
        start=start,
        end=start + 300,
    )
    assert [p.timestamp for p in points] == [start, start + 120, start + 180]  # only periods with data
    first = points[0]
    assert (first["Average"], first["Sum"], first["Minimum"], first["Maximum"], first["SampleCount"]) == (
        4.0,
        16.0,
        1.0,
        10.0,
        4.0,
    )
    assert points[2]["Sum"] == 0.75 and points[2]["SampleCount"] == 2


def test_longer_periods_merge_minutes_and_the_start_is_rounded_down_to_the_minute(metrics, provider, request):
    moto_gap(request, provider, "GetMetricData does not round StartTime down to the minute")
    start = minute(20)
    metrics.put_many(
        [{"name": "Orders", "value": 1, "unit": "Count", "timestamp": start + s} for s in range(0, 20 * 60, 30)]
    )  # 2 per minute for 20 minutes
    points = metrics.query("Orders", statistics="Sum", period=300, start=start + 34, end=start + 20 * 60)
    assert [p.timestamp for p in points] == [start + k * 300 for k in range(4)]
    assert [p["Sum"] for p in points] == [10.0, 10.0, 10.0, 10.0]
    half = metrics.query("Orders", statistics="SampleCount", period=60, start=start, end=start + 120)
    assert [p["SampleCount"] for p in half] == [2.0, 2.0]  # the end is exclusive


def test_dimensions_are_separate_series_and_are_listed(metrics):
    at = minute(3)
    for route, n in (("/a", 3), ("/b", 5)):
        for _ in range(n):
            metrics.put("Hits", 1, unit="Count", dimensions={"route": route, "method": "GET"}, timestamp=at + 1)
    metrics.put("Errors", 1, unit="Count", timestamp=at + 1)
    sums = {
        route: metrics.query(
            "Hits", statistics="Sum", period=60, start=at, end=at + 60, dimensions={"route": route, "method": "GET"}
        )[0]["Sum"]
        for route in ("/a", "/b")
    }
    assert sums == {"/a": 3.0, "/b": 5.0}
    listed = metrics.list()
    assert ("Errors", {}) in listed
    assert ("Hits", {"route": "/a", "method": "GET"}) in listed and len(listed) == 3
    assert metrics.list("Hits", dimensions={"route": "/b"}) == [("Hits", {"route": "/b", "method": "GET"})]
    assert metrics.dimension_values("Hits", "route") == ["/a", "/b"]


def test_a_query_without_dimensions_is_its_own_series(metrics, provider, request):
    moto_gap(request, provider, "GetMetricData without dimensions sums every series of the name")
    at = minute(3)
    metrics.put("Hits", 1, unit="Count", dimensions={"route": "/a"}, timestamp=at + 1)
    metrics.put("Hits", 2, unit="Count", timestamp=at + 2)
    assert [p["Sum"] for p in metrics.query("Hits", statistics="Sum", start=at, end=at + 60)] == [2.0]


def test_percentiles_are_within_one_percent(metrics, provider, request):
    moto_gap(request, provider, "GetMetricData fails (HTTP 500) on percentile statistics such as p50")
    at = minute(4)
    values = [float(v) for v in range(1, 1001)]
    metrics.put_many([{"name": "Size", "value": v, "unit": "Bytes", "timestamp": at + 5} for v in values])
    point = metrics.query("Size", statistics=["p50", "p90", "p99", "p99.9"], period=60, start=at, end=at + 60)[0]
    for stat, exact in (("p50", 500), ("p90", 900), ("p99", 990), ("p99.9", 999)):
        assert point[stat] == pytest.approx(exact, rel=0.01)


def test_high_resolution_points_answer_ten_second_periods(metrics, provider, request):
    moto_gap(request, provider, "GetMetricData does not round StartTime down to a sub-minute period")
    at = minute(2)
    metrics.put_many(
        [{"name": "Rps", "value": s, "unit": "Count/Second", "timestamp": at + s, "resolution": 1} for s in range(60)]
    )
    points = metrics.query("Rps", statistics=["Sum", "SampleCount"], period=10, start=at + 3, end=at + 60)
    assert [p.timestamp for p in points] == [at + k * 10 for k in range(6)]
    assert [p["Sum"] for p in points] == [sum(range(k * 10, k * 10 + 10)) for k in range(6)]


def test_counters_and_timers(metrics):
    hits = metrics.counter("Hits", dimensions={"page": "home"})
    hits.inc()
    hits.inc(4)
    latency = metrics.timer("Work")

    with latency:
        time.sleep(0.02)

    @metrics.timer("Decorated")
    def work():
        time.sleep(0.01)
        return 42

    assert work() == 42
    now = time.time()
    total = metrics.query(
        "Hits", statistics="Sum", period=60, start=now - 120, end=now + 60, dimensions={"page": "home"}
    )
    assert sum(p["Sum"] for p in total) == 5.0
    timed = metrics.query("Work", statistics="Maximum", period=60, start=now - 120, end=now + 60)
    assert 15 <= timed[-1]["Maximum"] < 2000


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.put("X", 1, unit="Parsecs"), "not a CloudWatch unit"),
        (lambda m: m.put("X", math.nan), "finite"),
        (lambda m: m.put("X", float("inf")), "finite"),
        (lambda m: m.put("X", "12"), "must be a number"),
        (lambda m: m.put("X", 2.0**361), r"2\^360"),
        (lambda m: m.put("X", 1, dimensions={f"d{i}": "v" for i in range(31)}), "at most 30 dimensions"),
        (lambda m: m.put("X", 1, dimensions={"d": ""}), "dimension"),
        (lambda m: m.put("X", 1, resolution=5), "resolution"),
        (lambda m: m.put("X", 1, timestamp=time.time() - 15 * 86_400), "2 weeks"),
        (lambda m: m.put("X", 1, timestamp=time.time() + 3 * 3600), "2 hours"),
        (lambda m: m.put("", 1), "1-255"),
        (lambda m: m.query("X", period=45), "period"),
        (lambda m: m.query("X", statistics="Median"), "statistic"),
        (lambda m: m.query("X", period=1, start=time.time() - 2 * 86_400), "100,800"),
        (lambda m: m.put_many([{"name": "X", "value": 1}, {"name": "X", "value": "bad"}]), "must be a number"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(metrics, call, message):
    with pytest.raises(ValidationError, match=message):
        call(metrics)
    now = time.time()
    assert metrics.query("X", statistics="SampleCount", start=now - 600, end=now + 60) == []


def test_namespace_rules_and_declared_actions(make_app):
    app = make_app("local")
    with pytest.raises(ValidationError, match="AWS/"):
        app.metrics("AWS/Lambda")
    with pytest.raises(ValidationError, match="namespace"):
        app.metrics("bad|name")
    write_only = app.metrics("Ingest/Only", allow=("put",))
    write_only.put("X", 1)
    with pytest.raises(AccessDenied, match="read"):
        write_only.query("X")


# -- capabilities -----------------------------------------------------------------------------------
def _alarmed(metrics, statistic="Average", period=60):
    alarmed = Metrics(metrics.ctx, f"{metrics.namespace}/alarmed", provider=metrics.provider_name)
    _alarm(alarmed, statistic, period)
    return alarmed.list()  # a declaration: refused when the backend opens


def _alarm(metrics, statistic="Average", period=60):
    metrics.alarm("Slow", metric="Latency", statistic=statistic, period=period, threshold=100, comparison=">")


#: one use of each capability (alarms on a sibling namespace: they come with the declaration)
USES = {
    "percentiles": lambda m: m.query("Latency", statistics=["p99"]),
    "high_resolution": lambda m: m.put("Latency", 1.0, resolution=1),
    "alarms": _alarmed,
    "alarm_evaluation": lambda m: m.evaluate_alarms(),
}
#: other places the same capabilities are used
ALSO = [
    ("high_resolution", lambda m: m.put_many([{"name": "Latency", "value": 1.0, "resolution": 1}])),
    ("high_resolution", lambda m: m.query("Latency", period=10)),
    ("alarms", _alarm),
    ("percentiles", lambda m: _alarmed(m, "p99")),
    ("percentiles", lambda m: _alarm(m, "p99")),
    ("high_resolution", lambda m: _alarmed(m, period=10)),
    ("high_resolution", lambda m: _alarm(m, period=10)),
    ("alarms", lambda m: m.alarm_state("Slow")),
    ("alarms", lambda m: m.evaluate_alarms()),
]


def _state(metrics):
    return metrics.list(), sorted(metrics.alarms)


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(metrics):
    assert {"percentiles", "high_resolution"} <= metrics.capabilities  # exercised above
    assert_absent(metrics, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "metrics", missing, CAPABILITIES)
    metrics = make_app("local").metrics("Shop")
    metrics.put("Latency", 5.0)
    assert assert_absent(metrics, USES, state=_state, also=ALSO) == lacks
