"""Default alarms: what goes wrong unseen in production, told to the app's ``alerts`` topic.

Every dead-letter queue with messages, every other queue whose depth or oldest message's age stays over
a threshold, every function's error rate, each WebSocket API's integration errors, and (given a budget)
the account's estimated charges. On AWS they are CloudWatch alarms (deploy/alarms.py). Locally the queue
and error-rate alarms run through the metrics alarm evaluator (``Metrics.evaluate_alarms``: CloudWatch's
M of N, missing data, states and SNS message), fed at each evaluation with the queues' depth and oldest
age as SQS reports them and with the invocations the dispatchers ran (alerts/invocations.py); the worker
and the test Timekeeper evaluate them like any declared alarm. WebSocket integration errors and billing
are API Gateway's and AWS Billing's own metrics with no local source: those alarms exist on AWS only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..core.context import Context
from ..core.errors import ConfigurationError
from ..core.resource import Resource
from ..metrics import Metrics
from ..metrics.alarm import Alarm, alarm_message
from .invocations import LAMBDA, InvocationMeter, error_rate_alarms
from .invocations import METRIC as ERROR_RATE

if TYPE_CHECKING:
    from ..app import App
    from ..queue import Queue

DEFAULT_QUEUE_DEPTH = 100  # the job service's seed: "depth > 100"
DEFAULT_QUEUE_AGE_S = 900
DEFAULT_ERROR_RATE = 0.05
SQS = "AWS/SQS"
VISIBLE = "ApproximateNumberOfMessagesVisible"
AGE = "ApproximateAgeOfOldestMessage"


class AlarmOptions:
    """``app.alarms(...)``: thresholds, the resources left out, and the monthly budget (USD)."""

    def __init__(self) -> None:
        self.enabled = True
        self.queue_depth = DEFAULT_QUEUE_DEPTH
        self.queue_age = DEFAULT_QUEUE_AGE_S
        self.error_rate = DEFAULT_ERROR_RATE
        self.budget: float | None = None
        self.off: set[str] = set()

    def update(self, **options: Any) -> AlarmOptions:
        off = options.pop("off", None)
        for key, value in options.items():
            if key not in ("enabled", "queue_depth", "queue_age", "error_rate", "budget"):
                raise ConfigurationError(f"app.alarms(): unknown option {key!r}")
            if value is not None:
                setattr(self, key, value)
        if isinstance(self.queue_depth, bool) or not isinstance(self.queue_depth, int) or self.queue_depth < 0:
            raise ConfigurationError(f"app.alarms(queue_depth=): a whole number >= 0, got {self.queue_depth!r}")
        if not isinstance(self.queue_age, int | float) or self.queue_age <= 0:
            raise ConfigurationError(f"app.alarms(queue_age=): seconds > 0, got {self.queue_age!r}")
        if not isinstance(self.error_rate, int | float) or not 0 < self.error_rate < 1:
            raise ConfigurationError(f"app.alarms(error_rate=): a fraction between 0 and 1, got {self.error_rate!r}")
        if self.budget is not None and (not isinstance(self.budget, int | float) or self.budget <= 0):
            raise ConfigurationError(f"app.alarms(budget=): US dollars a month > 0, got {self.budget!r}")
        for item in off or ():
            self.off.add(off_key(item))
        return self

    def wants(self, key: str) -> bool:
        return self.enabled and key not in self.off


def off_key(item: Any) -> str:
    """What ``off=[...]`` names: a queue, a WebSocket API, or a function's key (``"http"``, ``"queue-jobs"``)."""
    if isinstance(item, str):
        return item if ":" in item else f"function:{item}"
    kind = getattr(item, "kind", None)
    if kind in ("queue", "websocket"):
        return f"{kind}:{item.name}"
    raise ConfigurationError(
        f"app.alarms(off=): a queue, a WebSocket API or a function key like 'http', not {item!r}; "
        "a handler's function opts out with @strato.function(alarms=False)"
    )


def dead_letter_queues(app: App) -> list[Queue]:
    """Queues that only ever hold failures: redrive DLQs, topic handler DLQs and webhook DLQs."""
    found: dict[str, Queue] = {}
    for queue in app.of_kind("queue"):
        if queue.dead_letter_for is not None:
            found[queue.name] = queue
    for topic in app.of_kind("topic"):
        for candidate in [topic.webhooks_dlq, *(s.dlq for s in topic.declared)]:
            if candidate is not None and getattr(candidate, "kind", None) == "queue":
                found[candidate.name] = candidate
    return list(found.values())


def queue_alarms(app: App, options: AlarmOptions) -> list[tuple[Queue, Alarm]]:
    """The queue alarms, one definition for CloudWatch and the local evaluator: a DLQ alarms on its first
    message (1 of 1 minute), other queues on depth / oldest age over the threshold 5 minutes running."""
    out: list[tuple[Queue, Alarm]] = []
    dlqs = {q.name for q in dead_letter_queues(app)}
    for queue in app.of_kind("queue"):
        if not options.wants(f"queue:{queue.name}"):
            continue
        dims = {"QueueName": queue.physical_name}

        def alarm(
            name: str, metric: str, threshold: float, periods: int, description: str, dims: dict[str, str] = dims
        ) -> Alarm:
            return Alarm(
                name, metric, "Maximum", 60, threshold, ">", periods, periods, "notBreaching", dims,
                description=description,
            )  # fmt: skip

        if queue.name in dlqs:
            message = f"dead letter queue {queue.name} has messages"
            out.append((queue, alarm(f"dlq-{queue.name}-has-messages", VISIBLE, 0, 1, message)))
            continue
        depth = f"queue {queue.name} has held more than {options.queue_depth} messages for 5 minutes"
        age = f"queue {queue.name}'s oldest message has waited over {options.queue_age:g} s for 5 minutes"
        out.append((queue, alarm(f"queue-{queue.name}-depth", VISIBLE, options.queue_depth, 5, depth)))
        out.append((queue, alarm(f"queue-{queue.name}-age", AGE, options.queue_age, 5, age)))
    return out


class DefaultAlarms(Metrics):
    """The default alarms the local evaluator runs: a metrics resource of strato's own (not the app's
    namespace), its datapoints sampled from the queues at each evaluation."""

    def __init__(self, ctx: Context, app: App, options: AlarmOptions) -> None:
        Resource.__init__(self, ctx, "strato-default-alarms", None, None)  # no namespace rule: AWS/ is ours
        self.namespace = "strato/default-alarms"
        self.retention_days = 1
        self._app = app
        self.options = options
        self.topic: Any = None
        self._last_sample: float | None = None
        self.meter: InvocationMeter | None = None
        if self.config.provider == "local":  # on AWS, CloudWatch counts invocations itself
            self.meter = InvocationMeter(app, lambda points: self.backend.put(points))
            _register(self.meter)

    @property
    def alarms(self) -> dict[str, Alarm]:  # type: ignore[override]  # recomputed: queues come later
        found = {}
        every = [alarm for _, alarm in queue_alarms(self._app, self.options)]
        for alarm in [*every, *error_rate_alarms(self._app, self.options)]:
            alarm.actions = [self.topic] if self.topic is not None else []
            alarm.physical = self.config.physical_name("alarm", alarm.name)
            found[alarm.name] = alarm
        return found

    def sample(self, now: float) -> None:
        """Each queue's metrics at ``now``, and for the whole minutes since the last sample (SQS reports a
        value every minute; nothing here ran in between, so the queue held what it holds now)."""
        minutes = [now]
        if self._last_sample is not None:
            start = int(self._last_sample // 60 + 1) * 60
            minutes = [*[float(m) for m in range(start, int(now), 60)][-10:], now]
        self._last_sample = now
        points = []
        for queue, alarm in queue_alarms(self._app, self.options):
            stats = queue.stats()
            value = stats.depth if alarm.metric == VISIBLE else (stats.oldest_age or 0.0)
            for at in minutes:
                points.append(
                    {
                        "name": alarm.metric,
                        "value": float(value),
                        "unit": "Count" if alarm.metric == VISIBLE else "Seconds",
                        "dimensions": alarm.dimensions,
                        "timestamp": at,
                        "resolution": 60,
                    }
                )
        unique = {(p["name"], json.dumps(p["dimensions"], sort_keys=True), p["timestamp"]): p for p in points}
        invocations = self.meter.points() if self.meter is not None else []
        if unique or invocations:
            self.backend.put([*unique.values(), *invocations])

    def evaluate_alarms(self, now: float | None = None) -> list[tuple[str, str, str]]:
        from ..core import clock

        at = clock.now() if now is None else now
        self.sample(at)
        return super().evaluate_alarms(at)

    def _notify(self, alarm: Alarm, old: str, new: str, reason: str, now: float) -> None:
        """As Metrics does, with the metric's own namespace (AWS/SQS) in the message."""
        from ..core.config import region
        from ..events import ACCOUNT_ID
        from ..metrics.alarm import ALARM

        if new != ALARM or not alarm.actions:
            return
        namespace = LAMBDA if alarm.metric == ERROR_RATE else SQS
        message = alarm_message(alarm, namespace, old, new, reason, now, region(), ACCOUNT_ID)
        subject = f'{new}: "{message["AlarmName"]}" in {message["Region"]}'[:100]
        for topic in alarm.actions:
            topic.publish(json.dumps(message), subject=subject)

    def required_capabilities(self) -> set[str]:
        return {"alarms"}


def _register(meter: InvocationMeter) -> None:
    """Have the dispatchers tell ``meter`` of every invocation for as long as its app lives (the meters of
    apps gone are pruned here, never while a dispatcher iterates over them)."""
    import weakref

    from ..dispatch import base

    ref = weakref.ref(meter)

    def tell(source: str, handler: str, raised: bool) -> None:
        live = ref()
        if live is not None:
            live(source, handler, raised)

    tell.alive = lambda: ref() is not None  # type: ignore[attr-defined]
    base.meters = [m for m in base.meters if getattr(m, "alive", lambda: True)()] + [tell]
