"""What every declared resource shares: its context, name, provider choice, lazily opened backend,
declared actions (``allow=``) and the capability check that turns a missing feature into ``NotSupported``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .capabilities import need
from .context import Context
from .hints import Any, ClassVar, Generic, Protocol, TypeVar, cast
from .permissions import resolve


class Backend(Protocol):
    """What every provider backend has: the capabilities it declares."""

    @property
    def capabilities(self) -> frozenset[str]: ...


B = TypeVar("B", bound=Backend)


class Resource(Generic[B]):
    """Base of every facade, generic over its backend Protocol (``Table(Resource[TableBackend])``).
    Subclasses set ``kind``, ``ACTIONS`` (action -> IAM actions) and ``VOCABULARY`` (every capability
    a provider of the kind may declare)."""

    kind: ClassVar[str] = "resource"
    ACTIONS: ClassVar[Mapping[str, Sequence[str]]] = {}
    VOCABULARY: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ctx: Context, name: str, provider: str | None = None, allow: Any = None) -> None:
        self.ctx = ctx
        self.name = name
        self.provider_name = provider
        self._backend: B | None = None
        self.allowed = resolve(self.kind, name, allow, self.ACTIONS)

    @property
    def config(self) -> Any:
        return self.ctx.config

    @property
    def backend(self) -> B:
        """The provider's implementation, opened on first use (so unused providers never load)."""
        if self._backend is None:
            self._backend = cast(B, self.ctx.backends.open(self))
        return self._backend

    @property
    def provider(self) -> str:
        """The provider this resource runs on (``local``, ``aws``, ``redis``, ``postgres``)."""
        return self.ctx.backends.provider_of(self)

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.backend.capabilities)

    def background_work(self) -> bool:
        """Whether AWS would do something for this resource by itself (deliver, expire, evaluate) that the
        local worker must do instead; the worker then runs the loops its backend offers."""
        return False

    def required_capabilities(self) -> set[str]:
        """What the declaration itself needs (a table's ``ttl=``, a FIFO queue): ``Registry.open`` checks
        each when the backend opens, so a provider lacking one fails on first use, not half-way through."""
        return set()

    def _need(self, capability: str) -> None:
        need(self, capability)

    def _need_once_open(self, capability: str) -> None:
        """For a declaration made after the backend opened (a late decorator): check it now. Before that,
        ``required_capabilities`` must name it, and ``Registry.open`` checks it."""
        if self._backend is not None:
            need(self, capability)
