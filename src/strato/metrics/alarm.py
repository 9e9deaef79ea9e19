"""Alarms with CloudWatch's semantics: M out of N datapoints, the four missing-data treatments, the
three states, and the SNS message CloudWatch sends on a state change.

The evaluation rule is worked out from the two tables in the CloudWatch user guide ("How alarm state
is evaluated when data is missing") and is tested against every row of both: the evaluation range
is N + 2 periods; with at least N real datapoints in it the newest N decide; with fewer, breaching /
notBreaching fill the gaps as few times as possible, while missing / ignore decide from what is
there (ignore keeps the state where missing would say INSUFFICIENT_DATA or ALARM on a gap).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.errors import ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
RETAIN = None
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (">=", lambda v, t: v >= t),
    "GreaterThanThreshold": (">", lambda v, t: v > t),
    "LessThanThreshold": ("<", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("<=", lambda v, t: v <= t),
}
_SHORT = {symbol: name for name, (symbol, _) in COMPARISONS.items()}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
_WORDS = {">=": "greater than or equal to", ">": "greater than", "<": "less than", "<=": "less than or equal to"}


def evaluate(breaches: Sequence[bool | None], m: int, n: int, treat: str) -> str | None:
    """The new state from the evaluation range (oldest first; True breaching, False not, None missing),
    or None to keep the current state."""
    real = [b for b in breaches if b is not None]
    if len(real) >= n:
        return ALARM if sum(real[-n:]) >= m else OK
    if treat in ("breaching", "notBreaching"):
        filled = sum(real) + (n - len(real) if treat == "breaching" else 0)
        return ALARM if filled >= m else OK
    if not real:
        return INSUFFICIENT if treat == "missing" else RETAIN
    if sum(real) >= m:
        return ALARM
    if not all(real):
        return OK
    newest = max(i for i, b in enumerate(breaches) if b is not None)
    window = breaches[max(0, newest - n + 1) : newest + 1]
    if any(b is None for b in window):  # a gap among the newest N periods: not enough to say ALARM
        return INSUFFICIENT if treat == "missing" else RETAIN
    return ALARM if treat == "missing" else RETAIN


@dataclass
class Alarm:
    name: str
    metric: str
    statistic: str
    period: int
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    dimensions: dict[str, str] = field(default_factory=dict)
    actions: list[Any] = field(default_factory=list)
    ok_actions: list[Any] = field(default_factory=list)
    insufficient_data_actions: list[Any] = field(default_factory=list)
    description: str | None = None
    physical: str = ""  # the AWS alarm name, <app>-<stage>-<name>; set by the facade

    def __post_init__(self) -> None:
        if not self.name or not self.name.isascii() or len(self.name) > 255:
            raise ValidationError(f"alarm name {self.name!r}: 1-255 ASCII characters")
        self.comparison = _SHORT.get(self.comparison, self.comparison)
        if self.comparison not in COMPARISONS:
            raise ValidationError(f"comparison {self.comparison!r}: use one of {sorted(COMPARISONS)} or >=, >, <, <=")
        if self.treat_missing_data not in TREATMENTS:
            raise ValidationError(f"treat_missing_data {self.treat_missing_data!r}: use one of {TREATMENTS}")
        if not (self.period in (10, 30) or (self.period >= 60 and self.period % 60 == 0)):
            raise ValidationError(f"alarm period {self.period}: use 10, 30 or a multiple of 60 seconds")
        if self.evaluation_periods < 1 or not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValidationError("need 1 <= datapoints_to_alarm <= evaluation_periods")
        if self.evaluation_periods * self.period > 86_400:
            raise ValidationError("evaluation_periods x period cannot exceed one day (CloudWatch's limit)")
        if not isinstance(self.threshold, (int, float)) or math.isnan(self.threshold):
            raise ValidationError(f"threshold must be a number, got {self.threshold!r}")

    def breaching(self, value: float) -> bool:
        return COMPARISONS[self.comparison][1](value, self.threshold)

    def reason(self, state: str, values: Sequence[tuple[float, float | None]]) -> str:
        symbol = COMPARISONS[self.comparison][0]
        real = [(t, v) for t, v in values if v is not None][-self.evaluation_periods :]
        if state == INSUFFICIENT:
            return (
                f"Insufficient Data: {len(real)} datapoint{'s' if len(real) != 1 else ''} were unknown "
                f"in the last {self.evaluation_periods} periods."
            )
        shown = ", ".join(f"{v:g} ({_stamp(t)})" for t, v in reversed(real))
        count = (
            sum(1 for _, v in real if self.breaching(v))
            if state == ALARM
            else sum(1 for _, v in real if not self.breaching(v))
        )
        verb = "was" if count == 1 else "were"
        relation = _WORDS[symbol] if state == ALARM else f"not {_WORDS[symbol]}"
        return (
            f"Threshold Crossed: {count} out of the last {len(real)} datapoints [{shown}] {verb} {relation} the "
            f"threshold ({self.threshold:g}) (minimum {self.datapoints_to_alarm} datapoint"
            f"{'s' if self.datapoints_to_alarm != 1 else ''} for "
            f"{'OK -> ALARM' if state == ALARM else 'ALARM -> OK'} transition)."
        )


def _stamp(at: float) -> str:
    from datetime import UTC, datetime  # formatting an alarm message, not declaring an alarm

    return datetime.fromtimestamp(at, UTC).strftime("%d/%m/%y %H:%M:%S")


REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-west-2": "EU (London)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}


def alarm_message(
    alarm: Alarm, namespace: str, old: str, new: str, reason: str, at: float, region: str, account: str
) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an alarm's SNS actions."""

    def arns(topics: list[Any]) -> list[str]:
        return [t.arn if hasattr(t, "arn") else str(t) for t in topics]

    percentile = alarm.statistic.startswith("p")
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric,
        "Namespace": namespace,
        "StatisticType": "ExtendedStatistic" if percentile else "Statistic",
        "Unit": None,
        "Dimensions": [{"value": v, "name": k} for k, v in alarm.dimensions.items()],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "ComparisonOperator": alarm.comparison,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data,
        "EvaluateLowSampleCountPercentile": "",
    }
    if percentile:
        trigger["ExtendedStatistic"] = alarm.statistic
    else:
        trigger["Statistic"] = alarm.statistic.upper() if alarm.statistic != "SampleCount" else "SAMPLE_COUNT"
    physical = alarm.physical or alarm.name
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return {
        "AlarmName": physical,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": when,
        "NewStateValue": new,
        "NewStateReason": reason,
        "StateChangeTime": when,
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{physical}",
        "OldStateValue": old,
        "OKActions": arns(alarm.ok_actions),
        "AlarmActions": arns(alarm.actions),
        "InsufficientDataActions": arns(alarm.insufficient_data_actions),
        "Trigger": trigger,
    }
