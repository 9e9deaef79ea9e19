"""Each function's production settings in the template: memory, timeout, architecture, reserved and
provisioned concurrency (a ``live`` alias, Application Auto Scaling on its utilisation), environment,
layers and log retention, checked against Lambda's limits and against what its trigger allows.

Rules that need the whole app are checked here rather than on the decorator: the HTTP API's integration
timeout (30 s; a WebSocket API's 29 s), a queue consumer's timeout against the queue's visibility timeout,
and reserved concurrency against the account's (Lambda keeps 100 unreserved).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..core.function_settings import DEFAULT_LOG_RETENTION, MAX_ENV_BYTES, FunctionSettings, check_env

if TYPE_CHECKING:
    from .synth import Function, Template

#: Lambda keeps this much of the account's concurrency unreserved
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html)
UNRESERVED_MINIMUM = 100
DEFAULT_ACCOUNT_CONCURRENCY = 1000  # Lambda's default quota (gettingstarted-limits)
HTTP_INTEGRATION_MAX_S = 30  # HTTP APIs: 50 ms to 30 s; WebSocket APIs: 50 ms to 29 s (TimeoutInMillis)
WEBSOCKET_INTEGRATION_MAX_S = 29
ALIAS = "live"


def settings_for(t: Template, fn: Function) -> FunctionSettings:
    """The function's own settings over the app's defaults (``app.functions(...)``), checked."""
    defaults = getattr(t.app, "function_defaults", None)
    own = fn.settings or FunctionSettings()
    return own.merged(defaults).check(f"function {fn.key!r}")


def timeout_limit(t: Template, fn: Function) -> tuple[int, str] | None:
    """The longest timeout the function's trigger can use, and why."""
    if fn.key == "http":
        return HTTP_INTEGRATION_MAX_S, "API Gateway HTTP APIs time an integration out after 30 s at most"
    if fn.key.startswith("ws-"):
        return WEBSOCKET_INTEGRATION_MAX_S, "API Gateway WebSocket APIs time an integration out after 29 s at most"
    if fn.key.startswith("queue-"):
        queue = t.app.resources.get(("queue", fn.key[len("queue-") :]))
        if queue is not None:
            return (
                queue.visibility_timeout,
                f"Lambda refuses a consumer whose timeout exceeds queue {queue.name!r}'s visibility timeout "
                f"({queue.visibility_timeout} s): raise visibility_timeout= on the queue",
            )
    return None


def configure(t: Template, fn: Function, settings: FunctionSettings, props: dict[str, Any], architecture: str) -> None:
    """Apply the function's settings (``settings_for``) to its properties, over strato's own."""
    where = f"function {fn.key!r}"
    timeout = settings.timeout if settings.timeout is not None else fn.timeout
    limit = timeout_limit(t, fn)
    if limit is not None and settings.timeout is not None and timeout > limit[0]:
        raise ConfigurationError(f"{where}: timeout {timeout} s is over {limit[0]} s: {limit[1]}")
    props["Timeout"] = timeout
    props["MemorySize"] = settings.memory if settings.memory is not None else fn.memory
    if settings.architecture is not None and settings.architecture != architecture:
        from .architecture import for_app

        decided = for_app(t.app)
        if not decided.portable:
            raise ConfigurationError(
                f"{where}: architecture {settings.architecture!r}, but the package every function shares is "
                f"{decided.architecture} ({decided.reason}) and holds native code"
            )
    props["Architectures"] = [settings.architecture or architecture]
    if settings.layers:
        props["Layers"] = list(settings.layers)
    if settings.reserved is not None:
        props["ReservedConcurrentExecutions"] = settings.reserved
    if settings.env:
        variables = props["Environment"]["Variables"]
        check_env(settings.env, where, reserved_by_strato=tuple(variables))
        known = sum(len(k) + len(v) for k, v in variables.items() if isinstance(v, str))
        mine = sum(len(k.encode()) + len(v.encode()) for k, v in settings.env.items())
        if known + mine > MAX_ENV_BYTES:
            raise ConfigurationError(
                f"{where}: its environment variables take {known + mine:,} bytes with strato's own; "
                f"Lambda allows {MAX_ENV_BYTES:,} in all"
            )
        variables.update(settings.env)


def log_retention(settings: FunctionSettings) -> int:
    return settings.log_retention_days or DEFAULT_LOG_RETENTION


def provisioned(t: Template, fn: Function, settings: FunctionSettings, props: dict[str, Any]) -> None:
    """A version and a ``live`` alias holding the provisioned environments; with a maximum above the
    minimum, a scalable target and a target-tracking policy on LambdaProvisionedConcurrencyUtilization.
    The triggers are pointed at the alias (provisioned concurrency only serves the alias's invocations)."""
    wanted = settings.provisioned
    if wanted is None:
        return
    # a new version whenever the code (its key is its hash) or the configuration changes
    config = hashlib.sha256(json.dumps(props, sort_keys=True).encode()).hexdigest()[:12]
    version = t.add(
        f"{fn.logical}Version",
        "AWS::Lambda::Version",
        {
            "FunctionName": {"Ref": fn.logical},
            "Description": {"Fn::Sub": f"strato code ${{CodeKey}} configuration {config}"},
        },
    )
    alias = t.add(
        f"{fn.logical}Alias",
        "AWS::Lambda::Alias",
        {
            "FunctionName": {"Ref": fn.logical},
            "FunctionVersion": {"Fn::GetAtt": [version, "Version"]},
            "Name": ALIAS,
            "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": wanted.minimum},
        },
    )
    if wanted.scales:
        target = t.add(
            f"{fn.logical}ScalableTarget",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            {
                "ServiceNamespace": "lambda",
                "ScalableDimension": "lambda:function:ProvisionedConcurrency",
                "ResourceId": {"Fn::Sub": f"function:${{{fn.logical}}}:{ALIAS}"},
                "MinCapacity": wanted.minimum,
                "MaxCapacity": wanted.maximum,
            },
            DependsOn=[alias],
        )
        t.add(
            f"{fn.logical}ScalingPolicy",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            {
                "PolicyName": f"{fn.logical}-provisioned-utilization",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": target},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": float(wanted.target),
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"
                    },
                },
            },
        )
    t.aliases[fn.logical] = alias


def retarget(t: Template) -> None:
    """Point every trigger (integrations, event source mappings, subscriptions, permissions, schedules)
    at the ``live`` alias of the functions that have one."""
    if not t.aliases:
        return
    own = {"AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::ApplicationAutoScaling::ScalableTarget"}
    for logical_id, resource in t.resources.items():
        if resource["Type"] in own or logical_id in t.aliases:
            continue
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            target = resource["Properties"].get("FunctionName", {}).get("Ref")
            if target in t.aliases:
                resource["Properties"]["Qualifier"] = ALIAS
            continue
        resource["Properties"] = _swap(resource["Properties"], t.aliases)


def _swap(value: Any, aliases: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "Ref" and inner in aliases:
                return {"Ref": aliases[inner]}
            if key == "Fn::GetAtt" and isinstance(inner, list) and inner[0] in aliases and inner[1] == "Arn":
                return {"Ref": aliases[inner[0]]}  # an alias's Ref is its ARN
            if key == "Fn::Sub" and isinstance(inner, str):
                for function, alias in aliases.items():
                    inner = inner.replace(f"${{{function}.Arn}}", f"${{{alias}}}")
                return {"Fn::Sub": inner}
        return {k: _swap(v, aliases) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, aliases) for v in value]
    return value


def check_account(t: Template, chosen: dict[str, FunctionSettings]) -> None:
    """Reserved (or, without it, provisioned) concurrency across the app within what Lambda lets an account
    reserve: its concurrency quota minus the 100 it keeps unreserved."""
    account = getattr(t.app, "account_concurrency", None) or DEFAULT_ACCOUNT_CONCURRENCY
    taken = {}
    for key, s in chosen.items():
        if s.reserved is not None:
            taken[key] = s.reserved
        elif s.provisioned is not None:
            taken[key] = s.provisioned.maximum
    total = sum(taken.values())
    if total > account - UNRESERVED_MINIMUM:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(taken.items()))
        raise ConfigurationError(
            f"reserved/provisioned concurrency adds up to {total} ({shown}); an account with {account} concurrent "
            f"executions can reserve {account - UNRESERVED_MINIMUM} (Lambda keeps {UNRESERVED_MINIMUM} unreserved). "
            "Lower them, or declare a raised quota with app.functions(account_concurrency=N)"
        )


def provisioned_in(template: dict[str, Any]) -> list[Any]:
    """The provisioned concurrency a template keeps (each alias's minimum), for ``strato cost``."""
    from ..cost import Provisioned

    resources = template["Resources"]
    out = []
    for resource in resources.values():
        config = resource["Properties"].get("ProvisionedConcurrencyConfig")
        if resource["Type"] != "AWS::Lambda::Alias" or not config:
            continue
        function = resources[resource["Properties"]["FunctionName"]["Ref"]]["Properties"]
        out.append(
            Provisioned(
                function["FunctionName"],
                config["ProvisionedConcurrentExecutions"],
                function["MemorySize"],
                function["Architectures"][0],
            )
        )
    return out
