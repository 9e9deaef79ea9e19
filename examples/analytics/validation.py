"""The ingest contract: every item of a batch is checked before any is stored (PutMetricData's rules).

Errors are collected per item, so a client learns everything wrong with its batch in one 400."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from typing import Any

from strato.metrics.stats import UNITS

MAX_BATCH = 1000
MAX_DIMENSIONS = 10  # ApplicationId is added as an 11th: CloudWatch allows 30
PAST_S = 14 * 86400  # CloudWatch accepts datapoints up to two weeks old...
FUTURE_S = 2 * 3600  # ...and two hours ahead
LIMIT = 2.0**360  # PutMetricData's value range
APP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
RESERVED = "ApplicationId"


class Invalid(Exception):
    """One bad field of one item (the message names it)."""


def check_app_id(value: Any) -> str:
    if not isinstance(value, str) or not APP_ID.fullmatch(value):
        raise Invalid("applicationId must be 1-64 characters of letters, digits, '_' or '-'")
    return value


def parse_time(value: Any) -> float:
    """Epoch seconds from ISO-8601 text (UTC unless it says otherwise) or epoch milliseconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid("timestamp must be ISO-8601 text or epoch milliseconds")
    if not isinstance(value, str):
        if not math.isfinite(value):
            raise Invalid("timestamp must be finite")
        return float(value) / 1000.0
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise Invalid(f"timestamp {value[:40]!r} is not ISO-8601") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def timestamp_of(value: Any, now: float) -> float:
    """A datapoint's time: absent means now; at most 14 days old and 2 hours ahead (PutMetricData)."""
    at = now if value is None else parse_time(value)
    if at < now - PAST_S:
        raise Invalid("timestamp is more than 14 days old")
    if at > now + FUTURE_S:
        raise Invalid("timestamp is more than 2 hours ahead")
    return at


def dimensions_of(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("dimensions must be an object of strings")
    if len(value) > MAX_DIMENSIONS:
        raise Invalid(f"at most {MAX_DIMENSIONS} dimensions, got {len(value)}")
    for k, v in value.items():
        if k == RESERVED:
            raise Invalid(f"dimension {RESERVED!r} is set from the API key")
        if not 1 <= len(k) <= 255 or not isinstance(v, str) or not 1 <= len(v) <= 1024:
            raise Invalid(f"dimension {k[:40]!r}: a 1-255 character name and a 1-1024 character string value")
    return dict(value)


def metric_of(item: Any, application_id: str, now: float) -> dict[str, Any]:
    """One checked metric: name, value, unit, dimensions, timestamp (epoch seconds)."""
    if not isinstance(item, dict):
        raise Invalid("a metric is a JSON object")
    if item.get("applicationId") != application_id:
        raise Invalid("applicationId must be the API key's application")
    name = item.get("metricName")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise Invalid("metricName must be 1-255 characters")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid("value must be a finite number")
    if abs(value) > LIMIT:
        raise Invalid("value is outside CloudWatch's range (-2^360 to 2^360)")
    unit = item.get("unit", "None")
    if unit not in UNITS:
        raise Invalid(f"unit {str(unit)[:40]!r} is not a CloudWatch unit")
    return {
        "name": name,
        "value": float(value),
        "unit": unit,
        "dimensions": dimensions_of(item.get("dimensions")),
        "timestamp": timestamp_of(item.get("timestamp"), now),
    }


def batch_of(body: Any, application_id: str, now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(metrics, errors): errors as ``{"index", "message"}``; a single metric is index 0."""
    if isinstance(body, dict) and "metrics" in body:
        items = body["metrics"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            return [], [{"index": None, "message": f"metrics must be a list of 1 to {MAX_BATCH} metrics"}]
    else:
        items = [body]
    checked, errors = [], []
    for index, item in enumerate(items):
        try:
            checked.append(metric_of(item, application_id, now))
        except Invalid as bad:
            errors.append({"index": index, "message": str(bad)})
    return checked, errors


def key_hash(key: str) -> str:
    """What the applications table keeps of an API key (the key itself is shown once)."""
    return hashlib.sha256(key.encode()).hexdigest()
