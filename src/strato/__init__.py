"""strato: write an AWS serverless backend once, run it locally, deploy it to AWS.

Importing this package is cheap on purpose (Lambda cold start): providers, boto3 and the dev
server's web stack load only when something uses them.
"""

from __future__ import annotations

from .app import App
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
from .core.ids import new_id
from .http import BadRequest, Cors, HTTPError, Request, Response

__version__ = "0.1.0"


def __getattr__(name: str):  # table and user-pool types load on first use, not at import
    if name in ("Page", "Sort"):
        from .table import model

        return getattr(model, name)
    if name == "PasswordPolicy":
        from .auth.passwords import PasswordPolicy

        return PasswordPolicy
    raise AttributeError(f"module 'strato' has no attribute {name!r}")


__all__ = [
    "AccessDenied",
    "App",
    "AuthError",
    "BadRequest",
    "ConditionFailed",
    "ConfigurationError",
    "Cors",
    "GoneError",
    "HTTPError",
    "InvalidToken",
    "ItemTooLarge",
    "NotFound",
    "NotSupported",
    "Page",
    "PasswordPolicy",
    "Request",
    "Response",
    "ServiceUnavailable",
    "Sort",
    "SqlConstraintError",
    "SqlError",
    "StratoError",
    "TransactionCanceled",
    "ValidationError",
    "new_id",
]
