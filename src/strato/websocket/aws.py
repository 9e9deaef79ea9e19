"""The AWS WebSocket provider: API Gateway's management API (``apigatewaymanagementapi``).

The management endpoint is ``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}``: from
``STRATO_WEBSOCKET_<NAME>_ENDPOINT`` (set by the template for functions that are not WebSocket
handlers), or learnt from the first WebSocket event a function receives. ``AWS_ENDPOINT_URL`` still
wins, so tests and emulators work unchanged.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..core.config import env_token
from ..core.context import AwsClients, ProviderServices
from ..core.errors import ConfigurationError, GoneError, ItemTooLarge, ServiceUnavailable, StratoError
from ..runtime.aws import error_code

if TYPE_CHECKING:
    from . import WebSocketApi


def _translate(exc: BaseException, connection_id: str) -> StratoError:
    code = error_code(exc)
    if code == "GoneException":
        return GoneError(f"connection {connection_id!r} is gone (410)")
    if code == "PayloadTooLargeException":
        return ItemTooLarge(f"message to {connection_id!r} is over API Gateway's 128 KB limit")
    if code in ("LimitExceededException", "TooManyRequestsException"):
        return ServiceUnavailable(f"API Gateway throttled a post to {connection_id!r}")
    return StratoError(f"API Gateway management call for {connection_id!r} failed: {code or exc}")


class ApiGatewayWsBackend:
    capabilities = frozenset({"send", "broadcast", "info", "close", "binary"})

    def __init__(self, session: AwsClients, ws: WebSocketApi) -> None:
        self.session = session
        self.ws = ws
        token = env_token(ws.name)
        self.endpoint = os.environ.get(f"STRATO_WEBSOCKET_{token}_ENDPOINT")
        api_id = os.environ.get(f"STRATO_WEBSOCKET_{token}_API_ID")
        if self.endpoint is None and api_id:  # derived from the API id, region and stage
            from ..runtime.aws import region

            self.endpoint = f"https://{api_id}.execute-api.{region()}.amazonaws.com/{ws.config.stage}"
        self.public_url = os.environ.get(f"STRATO_WEBSOCKET_{token}_URL")

    def learn_endpoint(self, event: dict[str, Any]) -> None:
        if self.endpoint is None:
            context = event.get("requestContext") or {}
            if context.get("domainName") and context.get("stage"):
                self.endpoint = f"https://{context['domainName']}/{context['stage']}"

    @property
    def client(self) -> Any:
        if any(k in os.environ for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")):
            return self.session.client("apigatewaymanagementapi")
        if self.endpoint is None:
            raise ConfigurationError(
                f"websocket {self.ws.name!r}: set STRATO_WEBSOCKET_{env_token(self.ws.name)}"
                "_ENDPOINT (the deploy step does) to post from outside a WebSocket handler"
            )
        return self.session.client("apigatewaymanagementapi", endpoint_url=self.endpoint)

    def client_url(self) -> str:
        if self.public_url:
            return self.public_url
        if self.endpoint:
            return self.endpoint.replace("https://", "wss://", 1)
        raise ConfigurationError(f"websocket {self.ws.name!r}: set STRATO_WEBSOCKET_{env_token(self.ws.name)}_URL")

    def send(self, connection_id: str, raw: bytes, text: bool) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=raw)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc

    def broadcast(self, ids: list[str], raw: bytes, text: bool) -> list[str]:
        def one(connection_id: str) -> str | None:
            try:
                self.send(connection_id, raw, text)
            except GoneError:
                return connection_id
            return None

        with ThreadPoolExecutor(max_workers=16) as pool:
            return [i for i in pool.map(one, ids) if i is not None]

    def broadcast_all(self, raw: bytes, text: bool) -> int | None:
        """None: API Gateway cannot list connections, so the facade sends to the registry's ids."""
        return None

    def close(self, connection_id: str) -> None:
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc

    def describe(self, connection_id: str) -> dict[str, Any]:
        try:
            return self.client.get_connection(ConnectionId=connection_id)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc


def open_backend(ws: WebSocketApi, services: ProviderServices) -> ApiGatewayWsBackend:
    """The registry's factory: the API Gateway management API of the deployed WebSocket API."""
    return ApiGatewayWsBackend(services.aws(), ws)
