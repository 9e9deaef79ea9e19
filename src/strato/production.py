"""What ``App`` offers for production: function defaults, tags, default alarms and the ``alerts`` topic.

A mixin so app.py stays the place resources are declared; every method imports what it needs on call
(nothing here runs in a Lambda cold start unless the app calls it at import).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .alerts import AlarmOptions, DefaultAlarms
    from .core.function_settings import FunctionSettings
    from .topic import Topic


class Production:
    function_defaults: FunctionSettings | None = None
    account_concurrency: int | None = None
    declared_tags: dict[str, str] | None = None
    _alarm_options: AlarmOptions | None = None
    _default_alarms: DefaultAlarms | None = None

    def functions(self, *, account_concurrency: int | None = None, **defaults: Any) -> None:
        """Settings every function starts from (``memory=``, ``architecture=``, ``log_retention_days=``,
        ``layers=``, ...: see ``strato.function``); ``account_concurrency`` is the account's Lambda quota
        when it was raised above 1,000 (reserved concurrency is checked against it)."""
        from .core.errors import ConfigurationError
        from .core.function_settings import FunctionSettings

        self.function_defaults = FunctionSettings(**defaults).check("app.functions()")
        if account_concurrency is not None:
            if isinstance(account_concurrency, bool) or not isinstance(account_concurrency, int):
                raise ConfigurationError(f"account_concurrency is a whole number, got {account_concurrency!r}")
            self.account_concurrency = account_concurrency

    def tags(self, tags: dict[str, str]) -> dict[str, str]:
        """``app.tags({"CostCenter": "42", "Owner": "data"})``: on the stack and every taggable resource."""
        from .core.tags import check

        self.declared_tags = check({**(self.declared_tags or {}), **check(tags)})
        return dict(self.declared_tags)

    def alarms(
        self,
        *,
        enabled: bool | None = None,
        queue_depth: int | None = None,
        queue_age: float | None = None,
        error_rate: float | None = None,
        budget: float | None = None,
        off: Any = (),
    ) -> AlarmOptions:
        """The default alarms' thresholds (``queue_depth=100`` messages, ``queue_age=900`` s, ``error_rate=0.05``),
        ``budget=`` a monthly USD limit for the billing alarm, and ``off=[queue, ws_api, "http"]`` to leave
        resources out. ``enabled=False`` turns them all off."""
        options = self._alarms_options()
        options.update(
            enabled=enabled, queue_depth=queue_depth, queue_age=queue_age, error_rate=error_rate, budget=budget, off=off
        )
        if options.enabled:
            self.alerts  # noqa: B018  (declares the topic and, locally, the evaluator)
        return options

    def _alarms_options(self) -> AlarmOptions:
        if self._alarm_options is None:
            from .alerts import AlarmOptions

            self._alarm_options = AlarmOptions()
        return self._alarm_options

    @property
    def alerts(self) -> Topic:
        """The topic the default alarms notify (``alerts``; the app's own if it declared one): subscribe a
        handler, an email address or a webhook to it."""
        app: Any = self
        topic = app.resources.get(("topic", "alerts")) or app.topic("alerts")
        if self._default_alarms is None:
            from .alerts import DefaultAlarms

            self._default_alarms = app._declare(DefaultAlarms(app.context, app, self._alarms_options()))
        self._default_alarms.topic = topic
        return topic
