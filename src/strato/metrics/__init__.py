"""Metrics (CloudWatch): ``app.metrics("Shop")`` then ``put`` / ``counter`` / ``timer``, ``query`` with any
statistic at any period, ``list``, and ``alarm`` with CloudWatch's evaluation and SNS messages."""

from __future__ import annotations

import builtins
import re
import threading
import time
from collections.abc import Iterable
from contextlib import ContextDecorator

from ..core import clock, outbox
from ..core.context import Context
from ..core.errors import NotSupported, ValidationError
from ..core.hints import TYPE_CHECKING, Any, cast
from ..core.permissions import requires
from ..core.resource import Resource
from . import history
from .alarm import ALARM, INSUFFICIENT, OK, Alarm, alarm_message, evaluate
from .history import AlarmHistoryItem
from .spi import ACTIONS, CAPABILITIES, AlarmEvaluator, MetricsBackend
from .stats import MAX_DATAPOINTS, check_period, check_statistic, check_unit, check_value

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

MAX_DIMENSIONS = 30
PAST_LIMIT = 14 * 86_400  # PutMetricData accepts timestamps up to two weeks old
FUTURE_LIMIT = 2 * 3600  # and two hours ahead
_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:\- ]{1,255}$")


@dataclass
class Datapoint:
    timestamp: float
    values: dict[str, float | None]
    unit: str | None = None

    def __getitem__(self, stat: str) -> float | None:
        return self.values[stat]


class Counter:
    """``hits = metrics.counter("Hits", dimensions={...}); hits.inc()`` -- unit Count."""

    def __init__(self, metrics: Metrics, name: str, dimensions: dict[str, str] | None) -> None:
        self.metrics, self.name, self.dimensions = metrics, name, dimensions

    def inc(self, amount: float = 1) -> None:
        self.metrics.put(self.name, amount, unit="Count", dimensions=self.dimensions)


class Timer(ContextDecorator):
    """``with metrics.timer("Latency"):`` or ``@metrics.timer("Latency")`` -- unit Milliseconds.

    One Timer may time many blocks at once, nested or on several threads."""

    def __init__(self, metrics: Metrics, name: str, dimensions: dict[str, str] | None) -> None:
        self.metrics, self.name, self.dimensions = metrics, name, dimensions
        self._local = threading.local()

    def __enter__(self) -> None:
        self._local.__dict__.setdefault("starts", []).append(time.perf_counter())

    def __exit__(self, *exc: Any) -> None:
        started = self._local.starts.pop()
        self.metrics.put(
            self.name, (time.perf_counter() - started) * 1000, unit="Milliseconds", dimensions=self.dimensions
        )


class Metrics(Resource[MetricsBackend]):
    kind = "metrics"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self, ctx: Context, namespace: str, *, retention_days: int = 455, provider: str | None = None, allow: Any = None
    ) -> None:
        if not _NAMESPACE.match(namespace or "") or namespace.startswith("AWS/"):
            raise ValidationError(
                f"namespace {namespace!r}: 1-255 letters, digits or . - _ / # : and spaces, not starting with AWS/"
            )
        if not 1 <= retention_days <= 455:
            raise ValidationError("retention_days must be 1 to 455 (CloudWatch keeps hourly data 455 days)")
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", namespace).strip("-")[:63]
        super().__init__(ctx, slug if slug[:1].isalpha() else f"m-{slug}"[:63], provider, allow)
        self.namespace = namespace
        self.retention_days = retention_days
        self.alarms: dict[str, Alarm] = {}

    # -- writing --------------------------------------------------------------------------------
    def _point(
        self,
        name: str,
        value: Any,
        unit: str,
        dimensions: dict[str, str] | None,
        timestamp: float | None,
        resolution: int,
        now: float,
    ) -> dict[str, Any]:
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise ValidationError(f"metric name {name!r}: 1-255 characters")
        dims = dict(dimensions or {})
        if len(dims) > MAX_DIMENSIONS:
            raise ValidationError(f"metric {name!r}: at most {MAX_DIMENSIONS} dimensions, got {len(dims)}")
        for k, v in dims.items():
            if not isinstance(k, str) or not isinstance(v, str) or not 1 <= len(k) <= 255 or not 1 <= len(v) <= 1024:
                raise ValidationError(
                    f"metric {name!r}: dimension {k!r}={v!r} needs a 1-255 character name and "
                    "a 1-1024 character string value"
                )
        if resolution not in (1, 60):
            raise ValidationError(f"metric {name!r}: resolution is 1 (high) or 60 (standard) seconds")
        if resolution == 1:
            self._need("high_resolution")
        at = now if timestamp is None else float(getattr(timestamp, "timestamp", lambda: timestamp)())
        if not now - PAST_LIMIT <= at <= now + FUTURE_LIMIT:
            raise ValidationError(f"metric {name!r}: timestamps may be up to 2 weeks old and 2 hours ahead")
        return {
            "name": name,
            "value": check_value(name, value),
            "unit": check_unit(unit),
            "dimensions": dims,
            "timestamp": at,
            "resolution": resolution,
        }

    @requires("put")
    def put(
        self,
        name: str,
        value: float,
        *,
        unit: str = "None",
        dimensions: dict[str, str] | None = None,
        timestamp: float | None = None,
        resolution: int = 60,
    ) -> None:
        """Record one value. ``resolution=1`` makes it a high-resolution metric (sub-minute periods)."""
        point = self._point(name, value, unit, dimensions, timestamp, resolution, clock.now())
        self.backend.put([point])
        if outbox.listeners:
            outbox.tell("metric", self.name, point)

    @requires("put")
    def put_many(self, points: Iterable[dict[str, Any]]) -> int:
        """Record many: dicts with ``name``, ``value`` and optional ``unit``, ``dimensions``, ``timestamp``,
        ``resolution``. All are validated before any is stored."""
        now = clock.now()
        checked = [
            self._point(
                p["name"],
                p["value"],
                p.get("unit", "None"),
                p.get("dimensions"),
                p.get("timestamp"),
                p.get("resolution", 60),
                now,
            )
            for p in points
        ]
        if checked:
            self.backend.put(checked)
            for point in checked if outbox.listeners else ():
                outbox.tell("metric", self.name, point)
        return len(checked)

    def counter(self, name: str, dimensions: dict[str, str] | None = None) -> Counter:
        return Counter(self, name, dimensions)

    def timer(self, name: str, dimensions: dict[str, str] | None = None) -> Timer:
        return Timer(self, name, dimensions)

    # -- reading --------------------------------------------------------------------------------
    @requires("read")
    def query(
        self,
        name: str,
        *,
        statistics: Iterable[str] = ("Average",),
        period: int = 60,
        start: float | None = None,
        end: float | None = None,
        dimensions: dict[str, str] | None = None,
    ) -> list[Datapoint]:
        """Datapoints (oldest first) of one metric: each statistic per period, for periods that had data.

        The start is rounded as CloudWatch rounds it (to the period below a minute, else to the minute,
        5 minutes or hour by its age); the end is exclusive. Percentiles are within 1 %."""
        stats = [check_statistic(s) for s in ([statistics] if isinstance(statistics, str) else statistics)]
        if not stats:
            raise ValidationError("ask for at least one statistic")
        if check_period(period) < 60:
            self._need("high_resolution")  # sub-minute periods exist only for high-resolution metrics
        now = clock.now()
        end = now if end is None else float(end)
        start = end - 3 * 3600 if start is None else float(start)
        if start >= end:
            raise ValidationError("start must be before end")
        if (end - start) / period > MAX_DATAPOINTS:
            raise ValidationError(
                f"{int((end - start) / period)} datapoints asked for; one query returns at "
                f"most {MAX_DATAPOINTS:,}: use a longer period or a shorter range"
            )
        if any(_percentile(s) for s in stats):
            self._need("percentiles")
        rows, unit = self.backend.query(name, dict(dimensions or {}), stats, start, end, period, now)
        return [Datapoint(t, values, unit) for t, values in rows]

    @requires("read")
    def list(self, name: str | None = None, *, dimensions: dict[str, str] | None = None) -> list[tuple[str, dict]]:
        """(metric name, dimensions) pairs, optionally only those with every given dimension value."""
        wanted = dimensions or {}
        return [(n, d) for n, d in self.backend.list(name) if all(d.get(k) == v for k, v in wanted.items())]

    @requires("read")
    def dimension_values(self, name: str, dimension: str) -> builtins.list[str]:  # list: the method above
        return sorted({d[dimension] for _, d in self.backend.list(name) if dimension in d})

    def compact(self, now: float | None = None) -> int:
        """Downsample and expire old data (the worker does this hourly)."""
        return self.backend.compact(now)

    def required_capabilities(self) -> set[str]:
        needs = {"alarms"} if self.alarms else set()
        if any(_percentile(a.statistic) for a in self.alarms.values()):
            needs.add("percentiles")
        if any(a.period < 60 for a in self.alarms.values()):
            needs.add("high_resolution")
        return needs

    def background_work(self) -> bool:
        return True  # CloudWatch evaluates alarms and ages data by itself

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None

    # -- alarms ---------------------------------------------------------------------------------
    def alarm(
        self,
        name: str,
        *,
        metric: str,
        statistic: str,
        period: int,
        threshold: float,
        comparison: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        treat_missing_data: str = "missing",
        dimensions: dict[str, str] | None = None,
        actions: Iterable[Any] = (),
        ok_actions: Iterable[Any] = (),
        insufficient_data_actions: Iterable[Any] = (),
        description: str | None = None,
    ) -> Alarm:
        """Declare an alarm; its state changes publish CloudWatch's alarm message to the action topics."""
        check_statistic(statistic)
        alarm = Alarm(
            name,
            metric,
            statistic,
            period,
            threshold,
            comparison,
            evaluation_periods,
            datapoints_to_alarm or evaluation_periods,
            treat_missing_data,
            dict(dimensions or {}),
            list(actions),
            list(ok_actions),
            list(insufficient_data_actions),
            description,
        )
        if name in self.alarms:
            raise ValidationError(f"alarm {name!r} is declared twice in {self.namespace!r}")
        self._need_once_open("alarms")  # else checked, with what the alarm uses, when the backend opens
        if _percentile(alarm.statistic):
            self._need_once_open("percentiles")
        if alarm.period < 60:
            self._need_once_open("high_resolution")
        alarm.physical = self.config.physical_name("alarm", name)
        self.alarms[name] = alarm
        return alarm

    @requires("alarms")
    def alarm_state(self, name: str) -> str:
        self._need("alarms")
        if name not in self.alarms:
            raise ValidationError(f"no alarm {name!r} in {self.namespace!r}")
        found = self.backend.alarm_state(name, self.alarms[name])
        return found[0] if found else INSUFFICIENT

    @requires("alarms")
    def alarm_history(
        self,
        name: str,
        *,
        type: str | None = None,
        start: float | None = None,
        end: float | None = None,
        limit: int = 100,
    ) -> builtins.list[AlarmHistoryItem]:
        """The alarm's history, newest first, as CloudWatch's DescribeAlarmHistory: ``type`` one of
        ConfigurationUpdate, StateUpdate, Action; ``start``/``end`` UNIX times; ``limit`` 1-100."""
        self._need("alarms")
        if name not in self.alarms:
            raise ValidationError(f"no alarm {name!r} in {self.namespace!r}")
        history.check_query(type, start, end, limit)
        return self.backend.alarm_history(self.alarms[name], type, start, end, limit)

    def evaluate_alarms(self, now: float | None = None) -> builtins.list[tuple[str, str, str]]:
        """Evaluate every alarm on its newest complete periods; returns (alarm, old, new) for changes.

        Locally the worker calls this every second; on AWS CloudWatch evaluates alarms itself."""
        try:
            self._need("alarm_evaluation")
        except NotSupported as exc:
            raise NotSupported(f"{exc}. CloudWatch evaluates alarms on AWS by itself") from None
        self._need("alarms")
        evaluator = cast(AlarmEvaluator, self.backend)  # what alarm_evaluation promises
        now = clock.now() if now is None else now
        changes = []
        for alarm in self.alarms.values():
            p = alarm.period
            last_end = int(now // p * p)  # only complete periods are evaluated
            span = alarm.evaluation_periods + 2
            first = last_end - span * p
            rows, _ = self.backend.query(alarm.metric, alarm.dimensions, [alarm.statistic], first, last_end, p, now)
            by_slot = {int(t): v[alarm.statistic] for t, v in rows}
            values = [(float(first + i * p), by_slot.get(first + i * p)) for i in range(span)]
            breaches = [None if v is None else alarm.breaching(v) for _, v in values]
            new = evaluate(breaches, alarm.datapoints_to_alarm, alarm.evaluation_periods, alarm.treat_missing_data)
            found = self.backend.alarm_state(alarm.name, alarm)
            old, old_reason = (found[0], found[1]) if found else (INSUFFICIENT, "Unchecked: Initial alarm creation")
            opened = [history.created(alarm, now)] if found is None else []
            if new is None or new == old:
                if found is None:
                    evaluator.set_alarm_state(alarm.name, old, old_reason, now, opened)
                continue
            reason = alarm.reason(new, values)
            update = history.state_update(alarm, (old, old_reason), (new, reason), values, now)
            evaluator.set_alarm_state(alarm.name, new, reason, now, [*opened, update])
            changes.append((alarm.name, old, new))
            self._notify(alarm, old, new, reason, now)
        return changes

    def _notify(self, alarm: Alarm, old: str, new: str, reason: str, now: float) -> None:
        import json

        from ..core.config import region
        from ..events import ACCOUNT_ID

        topics = {ALARM: alarm.actions, OK: alarm.ok_actions, INSUFFICIENT: alarm.insufficient_data_actions}[new]
        if not topics:
            return
        message = alarm_message(alarm, self.namespace, old, new, reason, now, region(), ACCOUNT_ID)
        subject = f'{new}: "{message["AlarmName"]}" in {message["Region"]}'[:100]
        done = []  # an Action history item per notification, as CloudWatch records them
        try:
            for topic in topics:
                arn = getattr(topic, "arn", str(topic))
                try:
                    topic.publish(json.dumps(message), subject=subject)
                except Exception as exc:
                    done.append(history.action(alarm, arn, now, f"{type(exc).__name__}: {exc}"))
                    raise
                done.append(history.action(alarm, arn, now))
        finally:
            cast(AlarmEvaluator, self.backend).record_alarm_history(alarm.name, done, now)


def _percentile(statistic: str) -> bool:
    return statistic.startswith("p")  # p50, p99.9: the basic statistics are capitalised
