"""Alarms analysts create at run time, evaluated with CloudWatch's rules (strato.metrics.alarm).

strato's ``metrics.alarm`` declares alarms in code (an ``AWS::CloudWatch::Alarm`` each); here the
definitions are data (a table), so this module evaluates them itself with the same rule CloudWatch
uses: M out of N over the newest complete periods, the four missing-data treatments, and CloudWatch's
alarm message on each state change. Evaluation runs after each ingested batch for the alarms of the
metrics it touched (so an alarm reacts within the ingest → queryable lag) and every minute for all
(missing data turns states too)."""

from __future__ import annotations

import json
import re
from typing import Any

import strato
from strato import ConditionFailed, ValidationError
from strato.metrics.alarm import INSUFFICIENT, Alarm, alarm_message, evaluate
from strato.metrics.stats import check_statistic

NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")
FIELDS = {
    "name": str,
    "applicationId": str,
    "metricName": str,
    "statistic": str,
    "period": int,
    "threshold": (int, float),
    "comparison": str,
    "evaluationPeriods": int,
    "datapointsToAlarm": int,
    "treatMissingData": str,
}


def definition_of(body: Any) -> dict[str, Any]:
    """A checked alarm definition (ValidationError names what is wrong)."""
    if not isinstance(body, dict):
        raise ValidationError("send a JSON object")
    body = {"treatMissingData": "missing", "datapointsToAlarm": body.get("evaluationPeriods"), **body}
    for name, kind in FIELDS.items():
        value = body.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValidationError(f"{name!r} is missing or of the wrong type")
    if not NAME.fullmatch(body["name"]):
        raise ValidationError("name: 1-255 letters, digits, '_', '-' or '.'")
    if body["period"] < 60:
        raise ValidationError("period: ingested metrics are standard resolution, so 60 seconds or a multiple of it")
    dimensions = body.get("dimensions") or {}
    if not isinstance(dimensions, dict) or not all(isinstance(v, str) for v in dimensions.values()):
        raise ValidationError("dimensions must be an object of strings")
    check_statistic(body["statistic"])
    item = {
        "name": body["name"],
        "applicationId": body["applicationId"],
        "metricName": body["metricName"],
        "statistic": body["statistic"],
        "period": body["period"],
        "threshold": float(body["threshold"]),
        "comparison": body["comparison"],
        "evaluationPeriods": body["evaluationPeriods"],
        "datapointsToAlarm": body["datapointsToAlarm"],
        "treatMissingData": body["treatMissingData"],
        "dimensions": dimensions,
    }
    alarm = rule_of(item)  # CloudWatch's limits: periods, M of N, N x period <= 1 day, the comparisons
    item["comparison"] = alarm.comparison
    return item


def rule_of(item: dict[str, Any]) -> Alarm:
    return Alarm(
        item["name"],
        item["metricName"],
        item["statistic"],
        int(item["period"]),
        float(item["threshold"]),
        item["comparison"],
        int(item["evaluationPeriods"]),
        int(item["datapointsToAlarm"]),
        item["treatMissingData"],
        {"ApplicationId": item["applicationId"], **item.get("dimensions", {})},
    )


class Evaluator:
    """Evaluates stored alarms and tells the topic (email) and the ``alarmUpdates`` subscribers."""

    def __init__(self, table: Any, metrics: Any, topic: Any, live: Any, history: Any, keep_days: int) -> None:
        self.table, self.metrics, self.topic, self.live = table, metrics, topic, live
        self.history, self.keep_days = history, keep_days

    def state_of(self, item: dict[str, Any], now: float) -> tuple[str | None, str]:
        rule = rule_of(item)
        p = rule.period
        last_end = int(now // p * p)  # only complete periods count, as CloudWatch evaluates them
        span = rule.evaluation_periods + 2
        first = last_end - span * p
        points = self.metrics.query(
            rule.metric, statistics=[rule.statistic], period=p, start=first, end=last_end, dimensions=rule.dimensions
        )
        by_slot = {int(d.timestamp): d[rule.statistic] for d in points}
        values = [(float(first + i * p), by_slot.get(first + i * p)) for i in range(span)]
        breaches = [None if v is None else rule.breaching(v) for _, v in values]
        new = evaluate(breaches, rule.datapoints_to_alarm, rule.evaluation_periods, rule.treat_missing_data)
        return new, rule.reason(new, values) if new else ""

    def run(self, items: list[dict[str, Any]], now: float | None = None) -> list[tuple[str, str, str]]:
        """Evaluate ``items``; returns (name, old, new) of each state change made here."""
        now = strato.now() if now is None else now
        changes = []
        for item in items:
            new, reason = self.state_of(item, now)
            old = item.get("state", INSUFFICIENT)
            if new is None or new == old:
                continue
            try:  # two evaluators (a batch and the minute tick) may race: one of them tells
                self.table.update(
                    item["name"],
                    set={"state": new, "stateReason": reason, "stateUpdatedAt": now},
                    if_match={"state": old},
                )
            except ConditionFailed:
                continue
            changes.append((item["name"], old, new))
            self.tell(item, old, new, reason, now)
        return changes

    def tell(self, item: dict[str, Any], old: str, new: str, reason: str, now: float) -> None:
        from strato.core.config import region
        from strato.events import ACCOUNT_ID

        rule = rule_of(item)
        rule.actions = [self.topic]
        message = alarm_message(rule, self.metrics.namespace, old, new, reason, now, region(), ACCOUNT_ID)
        subject = f'{new}: "{item["name"]}" in {message["Region"]}'[:100]
        self.topic.publish(json.dumps(message), subject=subject, attributes={"alarm": item["name"]})
        self.history.put(  # what the hourly report lists as fired
            {
                "applicationId": item["applicationId"],
                "sk": f"{now:017.3f}#{item['name']}",
                "alarm": item["name"],
                "state": new,
                "reason": reason,
                "at": now,
                "expiresAt": int(now + self.keep_days * 86400),
            }
        )
        update = {"name": item["name"], "applicationId": item["applicationId"], "state": new}
        self.live.publish("alarmUpdates", {**update, "oldState": old, "stateReason": reason, "timestamp": now})

    def for_metrics(self, touched: set[tuple[str, str]]) -> list[dict[str, Any]]:
        """The alarms watching any (applicationId, metricName) of ``touched`` (one read of all alarms:
        they are few, the applications in a batch many)."""
        every = self.table.iterate("alarm", index="all", page_size=1000)
        return [item for item in every if (item["applicationId"], item["metricName"]) in touched]
