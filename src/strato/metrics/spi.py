"""The metrics provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

CAPABILITIES = frozenset({"percentiles", "high_resolution", "alarms"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    # PutMetricData takes no resource ARN; synth narrows it with the cloudwatch:namespace condition key
    "put": ("cloudwatch:PutMetricData",),
    "read": ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"),
}
