"""What a declared resource is given instead of the App: its settings and a way to its backend.

Facades never see the App, the registry or a provider module: they see a :class:`Context`, so a
facade can be built and tested with any object that fits these Protocols.
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


class Context:
    """The app-facing half of a resource: settings, usage counting, backends and companions.

    ``declare`` adds a companion resource to the app (a DLQ, a connection table), ``find`` looks one
    up by kind and name (``name=None``: the only one of that kind, or None). A plain class, not a
    dataclass: importing ``dataclasses`` would cost every Lambda cold start a few milliseconds.
    """

    __slots__ = ("app_name", "backends", "config", "declare", "find", "usage_of")

    def __init__(
        self,
        app_name: str,
        config: Config,
        backends: Backends,
        usage_of: Callable[[], Counter],
        declare: Callable[[Resource[Any]], Resource[Any]],
        find: Callable[[str, str | None], Any],
    ) -> None:
        self.app_name = app_name
        self.config = config
        self.backends = backends
        self.usage_of = usage_of
        self.declare = declare
        self.find = find

    @property
    def usage(self) -> Counter:
        return self.usage_of()
