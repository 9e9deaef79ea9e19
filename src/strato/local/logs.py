"""What ``strato dev`` logs never carries a credential: tokens in query strings (``?token=`` of a
WebSocket connect, presigned URLs' ``X-Amz-Signature`` and ``X-Amz-Credential``), Authorization header
values and bare JWTs are replaced by REDACTED in every line, uvicorn's access log included."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "[REDACTED]"

_QUERY = re.compile(
    r"(?i)(\b(?:token|access_token|id_token|refresh_token|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|signature|authorization|password)=)[^&\s\"'#]+"
)
_HEADER = re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=,]\s*[\"']?(?:bearer\s+|basic\s+)?)[^\s\"',;)\]}]+")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")


def redact(text: str) -> str:
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    return _JWT.sub(REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactFilter(logging.Filter):
    """On a handler: rewrites the message, its arguments (uvicorn's access formatter reads them one by
    one) and any traceback text before the line is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with the filter on every handler, and strato's own loggers
    (which reach the root logger) sent through the same redacting handler at ``level`` (``strato dev
    --log-level``): the request and invocation lines are INFO, so ``--log-level warning`` hides them."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": RedactFilter}
    config["filters"]["trace"] = {"()": "strato.trace.logs.TraceFilter"}  # lines logged in a trace name it
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).extend(["redact", "trace"])
    for formatter in config["formatters"].values():  # `` [trace 1-...]`` appended; JSON lines if asked
        inner = formatter.pop("()", "logging.Formatter")
        formatter.update({"()": "strato.trace.logs.suffixed", "inner": inner})
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["strato"] = {"level": level.upper()}  # no handler of its own: one line, via root
    return config
