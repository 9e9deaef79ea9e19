"""examples/analytics's pure parts: raw items stay under DynamoDB's 400 KB item limit, times parse as
ISO-8601 or epoch milliseconds, alarm definitions are checked with CloudWatch's rules."""

from __future__ import annotations

import json
import sys

import pytest

from strato import ValidationError
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "examples" / "analytics"))
import alarms
import raw
import validation


def test_a_batch_of_large_points_is_split_under_the_item_limit():
    dims = {f"d{i}": "x" * 1024 for i in range(10)}  # the largest dimensions the contract allows
    checked = [{"name": "m" * 255, "value": 1.0, "unit": "None", "dimensions": dims, "timestamp": 1.0}] * 1000
    items = raw.chunks(checked, 300 * 1024)
    assert sum(len(i) for i in items) == 1000 and len(items) > 1
    assert all(len(json.dumps(i)) < 400 * 1024 for i in items)  # DynamoDB's item size limit
    unrolled = raw.unrolled({"applicationId": "a", "points": items[0]})
    assert unrolled[0] == {
        "applicationId": "a",
        "metricName": "m" * 255,
        "value": 1.0,
        "unit": "None",
        "dimensions": dims,
        "timestamp": 1.0,
    }


def test_times_and_their_limits():
    assert validation.parse_time("2026-01-01T00:00:00Z") == validation.parse_time(1767225600000) == 1767225600.0
    assert validation.parse_time("2026-01-01T01:00:00+01:00") == 1767225600.0
    now = 1767225600.0
    assert validation.timestamp_of(None, now) == now
    for bad in (now * 1000 - 15 * 86400_000, now * 1000 + 3 * 3600_000, "soon", True, float("nan")):
        with pytest.raises(validation.Invalid):
            validation.timestamp_of(bad, now)


def test_alarm_definitions_follow_cloudwatch():
    good = {
        "name": "a",
        "applicationId": "x",
        "metricName": "m",
        "statistic": "p99",
        "period": 300,
        "threshold": 1,
        "comparison": ">",
        "evaluationPeriods": 3,
    }
    item = alarms.definition_of(good)
    assert item["comparison"] == "GreaterThanThreshold" and item["datapointsToAlarm"] == 3
    assert item["treatMissingData"] == "missing"
    for change in (
        {"period": 90},
        {"evaluationPeriods": 300},
        {"datapointsToAlarm": 4},
        {"statistic": "Mean"},
        {"treatMissingData": "zero"},
        {"name": "has space"},
        {"threshold": "1"},
    ):
        with pytest.raises(ValidationError):
            alarms.definition_of({**good, **change})
