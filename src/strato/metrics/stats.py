"""CloudWatch's arithmetic: units, statistics, periods and how a query's range is bucketed.

Percentiles come from log-bucket histograms (each bucket 2 % wide, so an estimate is within 1 % of
the true value) that merge exactly, which is what lets minute rollups answer any period's pNN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ..core.errors import ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
BASIC = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100)$")
VALUE_LIMIT = 2.0**360  # PutMetricData rejects values outside +-2^360, and NaN / infinities
MAX_DATAPOINTS = 100_800  # GetMetricData's cap on the points one request returns
GROWTH = 1.02
_LOG_GROWTH = math.log(GROWTH)


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValidationError(f"unit {unit!r} is not a CloudWatch unit; use one of {sorted(UNITS)}")
    return unit


def check_value(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"metric {name!r}: value must be a number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or math.isinf(value) or not -VALUE_LIMIT <= value <= VALUE_LIMIT:
        raise ValidationError(f"metric {name!r}: CloudWatch accepts finite values within ±2^360, got {value}")
    return value


def check_statistic(stat: str) -> str:
    if stat in BASIC or _PERCENTILE.match(stat):
        return stat
    raise ValidationError(f"statistic {stat!r}: use {', '.join(BASIC)} or a percentile such as p50, p99, p99.9")


def check_period(period: int) -> int:
    """1, 5, 10, 20, 30 seconds (high resolution) or any multiple of 60, up to a day for a datapoint."""
    if (
        not isinstance(period, int)
        or isinstance(period, bool)
        or not (period in (1, 5, 10, 20, 30) or (period >= 60 and period % 60 == 0))
    ):
        raise ValidationError(f"period {period!r}: use 1, 5, 10, 20, 30 or a multiple of 60 seconds")
    return period


def round_start(start: float, period: int, now: float) -> int:
    """CloudWatch's rounding of a query's start time, by the period and by how old the start is."""
    if period < 60:
        return int(start // period * period)
    age = now - start
    step = 60 if age < 15 * 86_400 else 300 if age < 63 * 86_400 else 3600
    return int(start // step * step)


def bucket(value: float) -> int:
    """The histogram bucket of a value: 0 for zero, ±(1 + log base 1.02 of |value| shifted) otherwise."""
    if value == 0:
        return 0
    index = math.floor(math.log(abs(value)) / _LOG_GROWTH) + 1_000_000  # keeps indexes of tiny values positive
    return index if value > 0 else -index


def bucket_value(index: int) -> float:
    """A bucket's representative value: the geometric middle of its bounds (within 1 % of any member)."""
    if index == 0:
        return 0.0
    magnitude = GROWTH ** (abs(index) - 1_000_000 + 0.5)
    return magnitude if index > 0 else -magnitude


@dataclass
class Aggregate:
    """Everything a period needs to answer every statistic; merges exactly."""

    count: float = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    histogram: dict[int, float] = field(default_factory=dict)

    def add(self, value: float, count: float = 1) -> None:
        self.count += count
        self.total += value * count
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        key = bucket(value)
        self.histogram[key] = self.histogram.get(key, 0) + count

    def merge(self, other: Aggregate) -> None:
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        for key, n in other.histogram.items():
            self.histogram[key] = self.histogram.get(key, 0) + n

    def statistic(self, stat: str) -> float | None:
        if stat == "SampleCount":
            return float(self.count)
        if stat == "Sum":
            return self.total
        if stat == "Average":
            return self.total / self.count
        if stat == "Minimum":
            return self.low
        if stat == "Maximum":
            return self.high
        if self.low < 0:
            return None  # CloudWatch gives no percentiles for metrics with negative values
        return self.percentile(float(stat[1:]))

    def percentile(self, p: float) -> float:
        if p <= 0:
            return self.low
        if p >= 100:
            return self.high
        rank = p / 100 * self.count
        seen = 0.0
        for key in sorted(self.histogram):  # bucket order is value order
            seen += self.histogram[key]
            if seen >= rank:
                return min(max(bucket_value(key), self.low), self.high)
        return self.high


def exact(values: Iterable[float]) -> Aggregate:
    agg = Aggregate()
    for v in values:
        agg.add(v)
    return agg


_array: Any = None  # ``array.array`` once a histogram is encoded or decoded (not to declare metrics)


def _arrays() -> Any:
    """``array.array``, imported once: an import statement in the function would cost every put a module
    lookup with its ``__spec__`` checks (a few microseconds, more than the encoding itself)."""
    global _array
    if _array is None:
        from array import array

        _array = array
    return _array


def encode_histogram(histogram: dict[int, float]) -> bytes:
    """Bucket indexes then counts as packed machine arrays: decoding 1,440 of them takes milliseconds."""
    array = _array or _arrays()
    keys = array("q", histogram.keys())
    return len(keys).to_bytes(4, "little") + keys.tobytes() + array("d", histogram.values()).tobytes()


def decode_histogram(blob: bytes) -> dict[int, float]:
    if not blob:
        return {}
    n = int.from_bytes(blob[:4], "little")
    array = _array or _arrays()
    keys, counts = array("q"), array("d")
    keys.frombytes(blob[4 : 4 + 8 * n])
    counts.frombytes(blob[4 + 8 * n :])
    return dict(zip(keys, counts, strict=True))
