"""The metrics provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

import builtins

from ..core.hints import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .alarm import Alarm
    from .history import AlarmHistoryItem

#: alarm_evaluation: strato evaluates alarms itself (locally, in the worker); CloudWatch does it on AWS
CAPABILITIES = frozenset({"percentiles", "high_resolution", "alarms", "alarm_evaluation"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    # PutMetricData takes no resource ARN; synth narrows it with the cloudwatch:namespace condition key
    "put": ("cloudwatch:PutMetricData",),
    "read": ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"),
    # alarm_state() / alarm_history() read the alarms CloudWatch evaluates on AWS
    "alarms": ("cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"),
}


Series = list[tuple[float, dict[str, float | None]]]


class MetricsBackend(Protocol):
    """Stores points and answers CloudWatch-shaped queries; points and options are validated already."""

    capabilities: frozenset[str]

    def put(self, points: list[dict[str, Any]]) -> None: ...
    def query(
        self, name: str, dimensions: dict[str, str], stats: list[str], start: float, end: float, period: int, now: float
    ) -> tuple[Series, str | None]: ...
    def list(self, name: str | None) -> list[tuple[str, dict[str, str]]]: ...
    def compact(self, now: float | None = None) -> int: ...
    def alarm_state(self, name: str, alarm: Alarm | None = None) -> tuple[str, str, float] | None: ...
    def alarm_history(
        self, alarm: Alarm, kind: str | None, start: float | None, end: float | None, limit: int
    ) -> builtins.list[AlarmHistoryItem]: ...
    def drop(self) -> None: ...


class AlarmEvaluator(MetricsBackend, Protocol):
    """A backend with ``alarm_evaluation``: strato keeps each alarm's state there."""

    def set_alarm_state(
        self, name: str, state: str, reason: str, now: float, history: Sequence[AlarmHistoryItem] = ()
    ) -> None: ...
    def record_alarm_history(self, name: str, history: Sequence[AlarmHistoryItem], now: float) -> None: ...
