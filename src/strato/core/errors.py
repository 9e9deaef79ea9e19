"""The error types every provider raises.

A provider translates its engine's failures (sqlite3, botocore, redis) into these, so
application code and the conformance suites see the same exception on every provider.
Each carries an HTTP status so the HTTP dispatcher can answer with a sensible 4xx.
"""

from __future__ import annotations


class StratoError(Exception):
    """Base class of every error strato raises on purpose."""

    status: int = 500
    code: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(StratoError, ValueError):
    """The input can never succeed as given (bad key, bad value, bad option)."""

    status = 400
    code = "ValidationError"


def parse_json(text: str | bytes, what: str) -> object:
    """``json.loads``, with malformed input as a ValidationError naming ``what`` and where it broke."""
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: malformed, or an integer over 4,300 digits
        raise ValidationError(f"{what} is not JSON: {json_problem(exc)}") from None


def json_problem(exc: BaseException) -> str:
    """Why ``json.loads`` refused a document, in words for a 400."""
    import json

    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deep"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 (byte {exc.start})"
    return "a number has too many digits" if "digits" in str(exc) else str(exc)


def utf8(text: str, what: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (JSON's ``"\\ud800"`` decodes to one) is a ValidationError."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode (a lone surrogate at position {exc.start})") from None


class ItemTooLarge(ValidationError):
    """An item, value or payload is over the limit the AWS service enforces."""

    status = 413
    code = "ItemTooLarge"


class NotFound(StratoError, LookupError):
    """The named thing does not exist."""

    status = 404
    code = "NotFound"


class ConditionFailed(StratoError):
    """A conditional write did not apply because the stored item did not match."""

    status = 409
    code = "ConditionalCheckFailed"


class TransactionCanceled(StratoError):
    """A transaction was rolled back as a whole; `reasons` has one entry per operation.

    Each reason is None for an operation that would have succeeded, or a short code such as
    "ConditionalCheckFailed" for the operation that made the transaction fail, as
    DynamoDB's CancellationReasons do.
    """

    status = 409
    code = "TransactionCanceled"

    def __init__(self, message: str, reasons: list[str | None]) -> None:
        super().__init__(message)
        self.reasons = reasons


class NotSupported(StratoError, NotImplementedError):
    """The provider does not have this capability; it says so instead of doing less."""

    status = 501
    code = "NotSupported"


class AccessDenied(StratoError, PermissionError):
    """The app did not declare this action on this resource (the local mirror of IAM)."""

    status = 403
    code = "AccessDenied"


class ServiceUnavailable(StratoError):
    """A backing service could not be reached or throttled past our retries."""

    status = 503
    code = "ServiceUnavailable"


class ConfigurationError(StratoError):
    """The app or its environment is set up in a way that cannot work."""

    status = 500
    code = "ConfigurationError"


class GoneError(StratoError):
    """The WebSocket connection is closed or never existed (API Gateway's 410 GoneException)."""

    status = 410
    code = "GoneException"


class SqlError(StratoError):
    """The database refused a statement; ``message`` is the engine's own words."""

    status = 500
    code = "SqlError"


class SqlConstraintError(SqlError):
    """A unique, foreign-key, not-null or check constraint was violated."""

    status = 409
    code = "ConstraintViolation"


class AuthError(StratoError):
    """A sign-in, token or user-pool operation was refused; ``code`` is Cognito's exception name."""

    status = 400
    code = "NotAuthorizedException"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class InvalidToken(AuthError):
    """A JWT failed verification (signature, algorithm, expiry, issuer, audience, use, revocation)."""

    status = 401
    code = "InvalidToken"
