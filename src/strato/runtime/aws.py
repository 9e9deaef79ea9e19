"""boto3 clients, created lazily and shared: importing strato never imports boto3.

Endpoints come from boto3's own ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables,
so the same code talks to AWS, to moto_server in tests, or to any compatible endpoint.
"""

from __future__ import annotations

import threading

from ..core.config import region
from ..core.errors import ConfigurationError
from ..core.hints import Any

_lock = threading.Lock()
__all__ = ["AwsSession", "error_code", "region"]


class AwsSession:
    """One boto3 session and its clients (boto3 clients are thread-safe; sessions are not)."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        key = f"{service}@{endpoint_url}" if endpoint_url else service
        found = self._clients.get(key)
        if found is not None:
            return found
        with _lock:
            if key not in self._clients:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError:  # pragma: no cover - depends on the install
                    raise ConfigurationError("the AWS provider needs boto3: pip install 'strato[aws]'") from None
                # request compression off: our PutMetricData batches stay under 1 MB uncompressed, and
                # moto_server cannot read botocore's gzip bodies, so the tested path is the shipped one
                config = Config(
                    region_name=region(),
                    retries={"mode": "standard", "max_attempts": 5},
                    max_pool_connections=32,
                    disable_request_compression=True,
                )
                extra = {"endpoint_url": endpoint_url} if endpoint_url else {}
                client = boto3.session.Session().client(service, config=config, **extra)
                client.meta.events.register("before-sign", _trace_header)
                self._clients[key] = client
        return self._clients[key]


def _trace_header(request: Any, **_: Any) -> None:
    """Each AWS call made inside a trace carries its ``X-Amzn-Trace-Id``, as the X-Ray SDK's patched
    clients send it (SQS takes it for the messages' AWSTraceHeader when none is set explicitly):
    https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html"""
    from ..trace.context import HEADER, outgoing_header

    header = outgoing_header()
    if header is not None:
        if HEADER in request.headers:  # a retry signs the same request again
            del request.headers[HEADER]
        request.headers[HEADER] = header


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
