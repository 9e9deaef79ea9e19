"""What providers are promised: the Protocols a registry implements for facades and providers.

Kept apart from ``context.py`` because a Protocol needs ``typing`` at run time, which the Lambda cold
start of an app should not pay for; providers import these (through ``core.context``) when they open.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .config import Config

if TYPE_CHECKING:
    from .resource import Resource
    from .usage import Counter

T = TypeVar("T")


class Backends(Protocol):
    """Opens the provider backend of a resource (the registry implements it)."""

    def open(self, resource: Resource[Any]) -> Any: ...
    def provider_of(self, resource: Resource[Any]) -> str: ...


class AwsClients(Protocol):
    """boto3 clients by service name, created once and shared (``runtime.aws.AwsSession``). The clients
    themselves are ``Any``: boto3 ships no type information."""

    def client(self, service: str, endpoint_url: str | None = None) -> Any: ...


class ProviderServices(Protocol):
    """What a provider's ``open_backend`` factory may use: settings and things providers share."""

    config: Config

    @property
    def usage(self) -> Counter: ...
    def shared(self, key: str, factory: Callable[[], T]) -> T: ...
    def local_store(self, store_type: Callable[[Path, str], T]) -> T: ...
    def aws(self) -> AwsClients: ...
    def redis(self) -> Any: ...  # a redis-py client: its methods return ResponseT (Awaitable | Any) even when sync
