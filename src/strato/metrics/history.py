"""Alarm history in CloudWatch's DescribeAlarmHistory shape: one item per state change, one per action
(a notification) it sent and one when the alarm is first created, written by the evaluation itself so it
exists whether or not anyone watched.

An item mirrors CloudWatch's ``AlarmHistoryItem``: ``HistoryItemType`` ConfigurationUpdate, StateUpdate
or Action, a ``HistorySummary`` of at most 255 characters ("Alarm updated from OK to ALARM") and
``HistoryData``, a JSON document of at most 4,095 characters with the old and the new state. CloudWatch
keeps an alarm's history for two weeks (the mon-describe-alarm-history reference); the local store keeps
as long, and at most ``PER_ALARM`` items per alarm, so a flapping alarm cannot grow it without bound.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..core.errors import ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass

    from .alarm import Alarm
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

TYPES = ("ConfigurationUpdate", "StateUpdate", "Action")
RETENTION = 14 * 86_400  # "retains the history of active and deleted alarms for two weeks"
PER_ALARM = 200  # the local bound on top of the retention
MAX_RECORDS = 100  # DescribeAlarmHistory's MaxRecords: 1-100
SUMMARY_LIMIT, DATA_LIMIT = 255, 4095
REASON_LIMIT = 1023  # StateReason: at most 1,023 characters


@dataclass
class AlarmHistoryItem:
    """One ``AlarmHistoryItem``: ``alarm`` is the declared (logical) name, ``data`` the parsed HistoryData."""

    alarm: str
    timestamp: float
    type: str
    summary: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm,
            "AlarmType": "MetricAlarm",
            "Timestamp": self.timestamp,
            "HistoryItemType": self.type,
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data, separators=(",", ":")),
        }


def _iso(at: float) -> str:
    from datetime import UTC, datetime  # an alarm changed state, not a cold start

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def state_update(
    alarm: Alarm,
    old: tuple[str, str],
    new: tuple[str, str],
    values: Sequence[tuple[float, float | None]],
    now: float,
) -> AlarmHistoryItem:
    """The StateUpdate item CloudWatch writes when ``alarm`` goes from ``old`` to ``new`` (state, reason)."""
    recent = [v for _, v in values if v is not None][-alarm.evaluation_periods :]  # oldest first
    reason_data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(values[0][0]) if values else _iso(now),
        "period": alarm.period,
        "recentDatapoints": recent,
        "threshold": float(alarm.threshold),
        "evaluatedDatapoints": [{"timestamp": _iso(t), "value": v} for t, v in reversed(values) if v is not None],
    }
    del reason_data["evaluatedDatapoints"][alarm.evaluation_periods :]  # newest first, as CloudWatch lists them
    reason_data["extendedStatistic" if alarm.statistic.startswith("p") else "statistic"] = alarm.statistic
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old[0], "stateReason": old[1][:REASON_LIMIT]},
        "newState": {"stateValue": new[0], "stateReason": new[1][:REASON_LIMIT], "stateReasonData": reason_data},
    }
    for key in ("evaluatedDatapoints", "recentDatapoints"):  # HistoryData is at most 4,095 characters
        while len(json.dumps(data, separators=(",", ":"))) > DATA_LIMIT and (points := reason_data[key]):
            half = max(1, len(points) // 2)  # the oldest half goes: the tail of a newest-first list
            del points[slice(-half, None) if key == "evaluatedDatapoints" else slice(half)]
    return AlarmHistoryItem(alarm.name, now, "StateUpdate", f"Alarm updated from {old[0]} to {new[0]}", data)


def created(alarm: Alarm, now: float) -> AlarmHistoryItem:
    """The ConfigurationUpdate item of an alarm's creation (locally: its first evaluation)."""
    summary = f'Alarm "{alarm.physical or alarm.name}" created'[:SUMMARY_LIMIT]
    data = {
        "type": "Create",
        "version": "1.0",
        "createdAlarm": {
            "metricName": alarm.metric,
            "statistic": alarm.statistic,
            "period": alarm.period,
            "threshold": float(alarm.threshold),
            "comparisonOperator": alarm.comparison,
            "evaluationPeriods": alarm.evaluation_periods,
            "datapointsToAlarm": alarm.datapoints_to_alarm,
            "treatMissingData": alarm.treat_missing_data,
            "stateValue": "INSUFFICIENT_DATA",
        },
    }
    return AlarmHistoryItem(alarm.name, now, "ConfigurationUpdate", summary, data)


def action(alarm: Alarm, arn: str, now: float, error: str | None = None) -> AlarmHistoryItem:
    """The Action item of one notification sent on a state change (or of its failure, with why)."""
    verb = "Successfully executed" if error is None else "Failed to execute"
    data: dict[str, Any] = {
        "actionState": "Succeeded" if error is None else "Failed",
        "stateUpdateTimestamp": int(now * 1000),
        "notificationResource": arn,
    }
    if error is not None:
        data["error"] = error[:1000]
    return AlarmHistoryItem(alarm.name, now, "Action", f"{verb} action {arn}"[:SUMMARY_LIMIT], data)


def check_query(kind: str | None, start: float | None, end: float | None, limit: int) -> None:
    """DescribeAlarmHistory's input rules, as a typed error instead of a 400 from CloudWatch."""
    if kind is not None and kind not in TYPES:
        raise ValidationError(f"history type {kind!r}: use one of {TYPES}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RECORDS:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_RECORDS}, got {limit!r}")
    if start is not None and end is not None and start > end:
        raise ValidationError("start must not be after end")
