"""What a declared resource is given instead of the App: its settings and a way to its backend.

Facades never see the App, the registry or a provider module: they see a :class:`Context`, so a
facade can be built and tested with any object that fits these Protocols.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import Config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .resource import Resource
    from .services import AwsClients as AwsClients
    from .services import Backends as Backends
    from .services import ProviderServices as ProviderServices
    from .usage import Counter

_SERVICES = ("AwsClients", "Backends", "ProviderServices")


def __getattr__(name: str) -> object:
    """The provider Protocols live in ``services`` (they need ``typing``); importing them from here
    still works, and loads that module only then."""
    if name in _SERVICES:
        from . import services

        return getattr(services, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
