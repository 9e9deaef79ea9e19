"""What only one provider does: the local store's ageing and rollups, EMF inside Lambda, PutMetricData batching."""

from __future__ import annotations

import json
import time

import pytest

import strato
from strato.metrics.aws import PUT_BATCH, emf_documents
from strato.metrics.stats import Aggregate, bucket, bucket_value


@pytest.fixture
def metrics(tmp_path):
    app = strato.App("ageing", data_dir=tmp_path)
    yield app.metrics("Age", retention_days=100)
    app.close()


def test_old_minutes_fold_into_five_minutes_then_hours_then_expire(metrics):
    start = (time.time() - 10 * 86_400) // 3600 * 3600  # ten days ago, on the hour
    metrics.put_many([{"name": "Req", "value": float(m % 7), "timestamp": start + m * 60 + 1} for m in range(120)])

    def sums(period, now):
        return [p["Sum"] for p in metrics.query("Req", statistics="Sum", period=period, start=start, end=start + 7200)]

    before = sums(3600, time.time())
    assert len(sums(60, time.time())) == 120
    metrics.compact(now=start + 20 * 86_400)  # past the 15 days minutes are kept: now 5-minute rows
    assert sums(60, time.time()) == []  # as CloudWatch: a 1-minute period finds nothing that old
    assert len(sums(300, time.time())) == 24 and sums(3600, time.time()) == before
    metrics.compact(now=start + 70 * 86_400)  # past 63 days: hourly
    assert sums(300, time.time()) == [] and sums(3600, time.time()) == before
    minmax = metrics.query(
        "Req", statistics=["Minimum", "Maximum", "SampleCount"], period=3600, start=start, end=start + 3600
    )[0]
    assert (minmax["Minimum"], minmax["Maximum"], minmax["SampleCount"]) == (0.0, 6.0, 60.0)
    metrics.compact(now=start + 101 * 86_400)  # past retention_days=100: gone
    assert sums(3600, time.time()) == []


def test_high_resolution_raw_points_last_three_hours_and_minutes_stay(metrics):
    at = time.time() // 60 * 60 - 120
    metrics.put_many([{"name": "Hz", "value": 1, "timestamp": at + s, "resolution": 1} for s in range(60)])
    assert len(metrics.query("Hz", statistics="Sum", period=10, start=at, end=at + 60)) == 6
    metrics.compact(now=at + 4 * 3600)
    assert metrics.query("Hz", statistics="Sum", period=10, start=at, end=at + 60) == []
    assert [p["Sum"] for p in metrics.query("Hz", statistics="Sum", period=60, start=at, end=at + 60)] == [60.0]


def test_percentiles_are_absent_when_a_value_is_negative_and_the_rest_still_answer(metrics):
    at = time.time() // 60 * 60 - 60
    metrics.put_many([{"name": "Delta", "value": v, "timestamp": at + 1} for v in (-5.0, 1.0, 2.0)])
    point = metrics.query("Delta", statistics=["p50", "Minimum", "Average"], start=at, end=at + 60)[0]
    assert point["p50"] is None and point["Minimum"] == -5.0 and point["Average"] == pytest.approx(-2 / 3)


def test_a_second_process_writing_the_same_minute_merges_not_overwrites(tmp_path):
    at = time.time() // 60 * 60 - 60
    one = strato.App("shared", data_dir=tmp_path).metrics("Shared")
    two = strato.App("shared", data_dir=tmp_path).metrics("Shared")
    one.put("N", 1, timestamp=at + 1)
    two.put("N", 2, timestamp=at + 2)
    one.put("N", 3, timestamp=at + 3)
    assert one.query("N", statistics=["Sum", "SampleCount"], start=at, end=at + 60)[0].values == {
        "Sum": 6.0,
        "SampleCount": 3.0,
    }


def test_a_put_reads_the_minutes_it_merges_into_in_one_statement_per_chunk_and_merges_them_all(metrics):
    """Inside the write lock every statement hands the GIL away (and, under load, waits up to a switch
    interval to get it back), so a put over many minutes reads their stored rollups in a SELECT per
    MERGE_CHUNK slots, not one per slot; merging still adds to what was stored."""
    from strato.metrics.local import MERGE_CHUNK

    start = (time.time() - 86_400) // 60 * 60
    slots = MERGE_CHUNK + 50  # two chunks
    points = [{"name": "Req", "value": 1.0, "timestamp": start + m * 60 + 1} for m in range(slots)]
    metrics.put_many(points)
    conn = metrics.backend.store.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        metrics.put_many(points)  # every minute now has a stored row to merge into
    finally:
        conn.set_trace_callback(None)
    assert sum("SELECT" in s and "rollup" in s for s in statements) == 2
    found = metrics.query("Req", statistics="SampleCount", period=60, start=start, end=start + slots * 60)
    assert len(found) == slots and {p["SampleCount"] for p in found} == {2.0}


def test_histogram_buckets_keep_every_value_within_one_percent():
    for value in (1e-9, 0.001, 0.5, 1.0, 3.14159, 1234.5, 9.9e12):
        assert bucket_value(bucket(value)) == pytest.approx(value, rel=0.0101)
    agg = Aggregate()
    for v in range(1, 101):
        agg.add(float(v))
    assert agg.percentile(50) == pytest.approx(50, rel=0.01) and agg.percentile(100) == 100.0


def test_emf_documents_have_the_embedded_metric_format_shape():
    points = [
        {
            "name": "Latency",
            "value": 12.5,
            "unit": "Milliseconds",
            "dimensions": {"route": "/a"},
            "timestamp": 1_700_000_000.25,
            "resolution": 60,
        },
        {
            "name": "Latency",
            "value": 14.0,
            "unit": "Milliseconds",
            "dimensions": {"route": "/a"},
            "timestamp": 1_700_000_000.25,
            "resolution": 60,
        },
        {
            "name": "Hits",
            "value": 1,
            "unit": "Count",
            "dimensions": {"route": "/a"},
            "timestamp": 1_700_000_000.25,
            "resolution": 1,
        },
    ]
    (doc,) = emf_documents("Shop", points)
    assert doc == {
        "_aws": {
            "Timestamp": 1_700_000_000_250,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Shop",
                    "Dimensions": [["route"]],
                    "Metrics": [
                        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 60},
                        {"Name": "Hits", "Unit": "Count", "StorageResolution": 1},
                    ],
                }
            ],
        },
        "Latency": [12.5, 14.0],
        "Hits": 1,
        "route": "/a",
    }


def test_inside_lambda_the_aws_provider_writes_emf_to_stdout_instead_of_calling_the_api(make_app, monkeypatch, capfd):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any API call would fail loudly
    app = strato.App("emf", provider="aws")
    app.metrics("Shop").put("Orders", 3, unit="Count", dimensions={"shop": "eu"})
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert lines[0]["Orders"] == 3 and lines[0]["shop"] == "eu"
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop"


def test_put_many_goes_to_cloudwatch_in_api_sized_batches(make_app):
    app = make_app("aws")
    metrics = app.metrics("Bulk")
    backend = metrics.backend
    sent: list[int] = []
    original = backend._send
    backend._send = lambda batch: (sent.append(len(batch)), original(batch))
    now = time.time()
    assert metrics.put_many([{"name": "N", "value": 1, "timestamp": now - i % 60} for i in range(2500)]) == 2500
    assert sent == [PUT_BATCH, PUT_BATCH, 500]
    total = metrics.query("N", statistics="SampleCount", period=60, start=now - 180, end=now + 60)
    assert sum(p["SampleCount"] for p in total) == 2500


def test_one_timer_times_nested_and_concurrent_blocks(metrics):
    import threading

    timer = metrics.timer("Step")
    with timer:
        with timer:
            time.sleep(0.01)
        workers = [threading.Thread(target=lambda: timer(time.sleep)(0.01)) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    now = time.time()
    points = metrics.query("Step", statistics=["SampleCount", "Minimum"], period=60, start=now - 120, end=now + 60)
    assert sum(p["SampleCount"] for p in points) == 6 and min(p["Minimum"] for p in points) >= 9
