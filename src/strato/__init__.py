"""strato: write an AWS serverless backend once, run it locally, deploy it to AWS.

Importing this package is cheap on purpose (Lambda cold start): every public name loads its module
on first use, and providers, boto3 and the dev server's web stack load only when something uses them.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:  # what mypy and editors see; at run time __getattr__ below loads each on first use
    from .app import App
    from .auth.passwords import PasswordPolicy
    from .core.clock import now
    from .core.errors import (
        AccessDenied,
        AuthError,
        ConditionFailed,
        ConfigurationError,
        GoneError,
        InvalidToken,
        ItemTooLarge,
        NotFound,
        NotSupported,
        ServiceUnavailable,
        SqlConstraintError,
        SqlError,
        StratoError,
        TransactionCanceled,
        ValidationError,
    )
    from .core.function_settings import FunctionSettings, Provisioned, function
    from .core.ids import new_id
    from .http import BadRequest, Cors, HTTPError, Request, Response
    from .table.model import Page, Sort
    from .trace.context import trace_id

#: public name -> the module that defines it; nothing is imported until a name is first used
_HOMES = {
    "App": ".app",
    "new_id": ".core.ids",
    **dict.fromkeys(("function", "FunctionSettings", "Provisioned"), ".core.function_settings"),
    "now": ".core.clock",
    "PasswordPolicy": ".auth.passwords",
    "Page": ".table.model",
    "Sort": ".table.model",
    "trace_id": ".trace.context",
    **dict.fromkeys(("BadRequest", "Cors", "HTTPError", "Request", "Response"), ".http"),
    **dict.fromkeys(
        (
            "AccessDenied",
            "AuthError",
            "ConditionFailed",
            "ConfigurationError",
            "GoneError",
            "InvalidToken",
            "ItemTooLarge",
            "NotFound",
            "NotSupported",
            "ServiceUnavailable",
            "SqlConstraintError",
            "SqlError",
            "StratoError",
            "TransactionCanceled",
            "ValidationError",
        ),
        ".core.errors",
    ),
}


def __getattr__(name: str) -> object:
    """``strato.App``, ``from strato import Table``-style names load their module on first use (PEP 562),
    so ``import strato`` costs a Lambda cold start nothing it does not use."""
    from importlib import import_module

    home = _HOMES.get(name)
    if home is None:  # a subpackage (``strato.queue.Message``) that nothing has imported yet
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'strato' has no attribute {name!r}") from None
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "AccessDenied",
    "App",
    "AuthError",
    "BadRequest",
    "ConditionFailed",
    "ConfigurationError",
    "Cors",
    "FunctionSettings",
    "GoneError",
    "HTTPError",
    "InvalidToken",
    "ItemTooLarge",
    "NotFound",
    "NotSupported",
    "Page",
    "PasswordPolicy",
    "Provisioned",
    "Request",
    "Response",
    "ServiceUnavailable",
    "Sort",
    "SqlConstraintError",
    "SqlError",
    "StratoError",
    "TransactionCanceled",
    "ValidationError",
    "function",
    "new_id",
    "now",
    "trace_id",
]
