"""How one Lambda function runs in production: memory, timeout, architecture, concurrency, environment,
layers, log retention, and whether it gets the default error-rate alarm.

Declared on the handler (``@strato.function(memory=1024)`` stacked on any handler decorator, or
``function=`` on ``app.http()`` / ``app.websocket()``) and checked here against Lambda's own limits, so
a bad value fails on the line that declares it rather than half-way through a CloudFormation deploy.
What depends on other functions or on the trigger (reserved concurrency across the account, the HTTP
integration timeout, a queue's visibility timeout) is checked by ``strato synth`` (deploy/functions.py).

Kept free of ``dataclasses`` and ``typing``: handlers are decorated during a Lambda cold start.
"""

from __future__ import annotations

import re

from .errors import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

# Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MEMORY_MB = (128, 10_240)
MAX_TIMEOUT_S = 900
MAX_LAYERS = 5
MAX_ENV_BYTES = 4 * 1024  # all of a function's environment variables together
ARCHITECTURES = ("arm64", "x86_64")
# PutRetentionPolicy's allowed values, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
DEFAULT_LOG_RETENTION = 30
# Lambda's reserved variables cannot be set by a function's configuration (Lambda "Defined runtime
# environment variables": the reserved ones are listed there)
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
_ENV_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
_LAYER_ARN = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$"
)
ATTRIBUTE = "__strato_function__"


class Provisioned:
    """Provisioned concurrency on the function's ``live`` alias: ``minimum`` environments kept warm, and with
    ``maximum`` above it, Application Auto Scaling tracking ``target`` utilisation between the two."""

    def __init__(self, minimum: int, maximum: int | None = None, target: float = 0.7) -> None:
        self.minimum = minimum
        self.maximum = minimum if maximum is None else maximum
        self.target = target

    def check(self, where: str) -> None:
        for label, value in (("minimum", self.minimum), ("maximum", self.maximum)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{where}: provisioned {label} must be a whole number >= 1, got {value!r}")
        if self.maximum < self.minimum:
            raise ConfigurationError(
                f"{where}: provisioned maximum ({self.maximum}) is below its minimum ({self.minimum})"
            )
        if isinstance(self.target, bool) or not isinstance(self.target, int | float) or not 0 < self.target < 1:
            raise ConfigurationError(
                f"{where}: provisioned target utilisation is a fraction between 0 and 1 (0.7 = 70 %), "
                f"got {self.target!r}"
            )

    @property
    def scales(self) -> bool:
        return self.maximum > self.minimum

    def __repr__(self) -> str:
        return f"Provisioned({self.minimum}, {self.maximum}, target={self.target})"


class FunctionSettings:
    """Every field None means "strato's default for this kind of function" (see docs/production.md)."""

    FIELDS = (
        "memory",
        "timeout",
        "architecture",
        "reserved",
        "provisioned",
        "env",
        "layers",
        "log_retention_days",
        "alarms",
    )

    def __init__(
        self,
        *,
        memory: int | None = None,
        timeout: int | None = None,
        architecture: str | None = None,
        reserved: int | None = None,
        provisioned: int | Provisioned | None = None,
        env: Mapping[str, str] | None = None,
        layers: Sequence[str] | None = None,
        log_retention_days: int | None = None,
        alarms: bool | None = None,
    ) -> None:
        self.memory = memory
        self.timeout = timeout
        self.architecture = architecture
        self.reserved = reserved
        self.provisioned = Provisioned(provisioned) if isinstance(provisioned, int) else provisioned
        self.env = dict(env) if env is not None else None
        self.layers = list(layers) if layers is not None else None
        self.log_retention_days = log_retention_days
        self.alarms = alarms

    @classmethod
    def of(cls, value: FunctionSettings | Mapping[str, Any] | None, where: str) -> FunctionSettings | None:
        """``function=`` as given: settings, a dict of the same keywords, or None."""
        if value is None:
            return None
        if isinstance(value, FunctionSettings):
            return value.check(where)
        if not isinstance(value, dict):
            raise ConfigurationError(f"{where}: function= takes strato.function(...) or a dict, not {value!r}")
        unknown = sorted(set(value) - set(cls.FIELDS))
        if unknown:
            raise ConfigurationError(f"{where}: unknown function setting(s) {unknown}; use {list(cls.FIELDS)}")
        return cls(**value).check(where)

    def merged(self, defaults: FunctionSettings | None) -> FunctionSettings:
        """These settings over the app's defaults (``app.functions(...)``); env and layers are combined."""
        if defaults is None:
            return self
        out = FunctionSettings()
        for name in self.FIELDS:
            mine, theirs = getattr(self, name), getattr(defaults, name)
            setattr(out, name, theirs if mine is None else mine)
        if self.env is not None and defaults.env is not None:
            out.env = {**defaults.env, **self.env}
        if self.layers is not None and defaults.layers is not None:
            out.layers = [*defaults.layers, *(x for x in self.layers if x not in defaults.layers)]
        return out

    def check(self, where: str) -> FunctionSettings:
        """Lambda's per-function limits; raises ConfigurationError naming ``where`` and the rule broken."""
        low, high = MEMORY_MB
        if self.memory is not None and (_not_int(self.memory) or not low <= self.memory <= high):
            raise ConfigurationError(f"{where}: memory is {low} to {high:,} MB (Lambda's limit), got {self.memory!r}")
        if self.timeout is not None and (_not_int(self.timeout) or not 1 <= self.timeout <= MAX_TIMEOUT_S):
            raise ConfigurationError(
                f"{where}: timeout is 1 to {MAX_TIMEOUT_S} seconds (Lambda's 15-minute limit), got {self.timeout!r}"
            )
        if self.architecture is not None and self.architecture not in ARCHITECTURES:
            raise ConfigurationError(f"{where}: architecture is one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.reserved is not None and (_not_int(self.reserved) or self.reserved < 0):
            raise ConfigurationError(
                f"{where}: reserved concurrency is a whole number >= 0 (0 stops the function), got {self.reserved!r}"
            )
        if self.provisioned is not None:
            if not isinstance(self.provisioned, Provisioned):
                raise ConfigurationError(f"{where}: provisioned= takes a number or strato.Provisioned(min, max)")
            self.provisioned.check(where)
            if self.reserved is not None and self.provisioned.maximum > self.reserved:
                raise ConfigurationError(
                    f"{where}: provisioned concurrency ({self.provisioned.maximum}) cannot exceed the function's "
                    f"reserved concurrency ({self.reserved}); Lambda refuses it"
                )
        if self.layers is not None:
            if len(self.layers) > MAX_LAYERS:
                raise ConfigurationError(
                    f"{where}: at most {MAX_LAYERS} layers per function (Lambda's limit), got {len(self.layers)}"
                )
            for arn in self.layers:
                if not isinstance(arn, str) or not _LAYER_ARN.match(arn):
                    raise ConfigurationError(
                        f"{where}: layer {arn!r} is not a layer version ARN "
                        "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)"
                    )
        if self.env is not None:
            check_env(self.env, where)
        if self.log_retention_days is not None and self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigurationError(
                f"{where}: log_retention_days {self.log_retention_days!r} is not one CloudWatch Logs accepts: "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.FIELDS if getattr(self, n) is not None)
        return f"FunctionSettings({shown})"


def check_env(env: Mapping[str, str], where: str, reserved_by_strato: Sequence[str] = ()) -> int:
    """Names Lambda accepts, none of Lambda's reserved ones; returns the bytes they take (keys + values)."""
    size = 0
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise ConfigurationError(
                f"{where}: environment variable name {key!r}: a letter, then letters, digits or _ (Lambda's rule)"
            )
        if key in RESERVED_ENV or key in reserved_by_strato or key.startswith("STRATO_"):
            raise ConfigurationError(f"{where}: environment variable {key} is reserved (by Lambda or strato)")
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: environment variable {key} must be a string, got {value!r}")
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ENV_BYTES:
        raise ConfigurationError(
            f"{where}: environment variables take {size:,} bytes; Lambda allows {MAX_ENV_BYTES:,} in all"
        )
    return size


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def function(**settings: Any) -> Callable[[F], F]:
    """``@strato.function(memory=1024, reserved=10, provisioned=strato.Provisioned(5, 100, target=0.7))``
    above or below a handler decorator: the settings of the Lambda function that handler runs in."""
    parsed = FunctionSettings(**settings).check("@strato.function")

    def attach(fn: F) -> F:
        setattr(fn, ATTRIBUTE, parsed)
        return fn

    return attach


def settings_of(handler: object) -> FunctionSettings | None:
    """What ``@strato.function`` attached to a handler (bound methods: their function), if anything."""
    found = getattr(handler, ATTRIBUTE, None)
    if found is None:
        found = getattr(getattr(handler, "__func__", None), ATTRIBUTE, None)
    return found if isinstance(found, FunctionSettings) else None


def one_of(handlers: Sequence[object], where: str) -> FunctionSettings | None:
    """The settings of a function several handlers share (a bucket's watchers, a WebSocket API's routes):
    at most one of them may carry ``@strato.function``, or all the same ones."""
    found = {id(s): s for s in (settings_of(h) for h in handlers) if s is not None}
    if len(found) > 1:
        raise ConfigurationError(
            f"{where}: its handlers run in one Lambda function, and {len(found)} of them declare "
            "@strato.function settings; declare them once"
        )
    return next(iter(found.values()), None)


def websocket_settings(ws: Any) -> FunctionSettings | None:
    """``app.websocket(..., function=...)``, or ``@strato.function`` on one of its route handlers."""
    declared = getattr(ws, "function_settings", None)
    on_handlers = one_of(list(ws.handlers.values()), f"websocket {ws.name!r}")
    if declared is not None and on_handlers is not None:
        raise ConfigurationError(
            f"websocket {ws.name!r}: function settings are given both on app.websocket(function=) and on a handler"
        )
    return declared or on_handlers


def function_name(app: str, stage: str, key: str) -> str:
    """``<app>-<stage>-<key>``, within Lambda's 64 characters (trimmed with a stable hash if longer)."""
    import hashlib

    name = re.sub(r"[^A-Za-z0-9-_]", "-", f"{app}-{stage}-{key}")
    if len(name) > 64:
        name = name[:55] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name
