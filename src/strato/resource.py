"""What every declared resource shares: its app, name, provider choice, lazily built backend and
the capability check that turns a missing feature into ``NotSupported``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import NotSupported

if TYPE_CHECKING:
    from .app import App


class Resource:
    kind = "resource"

    def __init__(self, app: App, name: str, provider: str | None = None, allow: Any = None) -> None:
        from .permissions import resolve

        self.app = app
        self.name = name
        self.provider_name = provider
        self._backend: Any = None
        self.allowed = resolve(self.kind, name, allow)

    def _make_backend(self) -> Any:
        raise NotImplementedError

    @property
    def backend(self) -> Any:
        """The provider's implementation, built on first use (so unused providers never load)."""
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    @property
    def capabilities(self) -> frozenset[str]:
        return self.backend.capabilities

    def _need(self, capability: str) -> None:
        if capability not in self.backend.capabilities:
            raise NotSupported(
                f"{self.kind} {self.name!r}: the {self.app.providers.name_of(self)} provider "
                f"does not support {capability}"
            )
