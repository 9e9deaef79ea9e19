"""Capabilities: the optional features of a kind that a provider may lack.

Each kind names its vocabulary (``Resource.VOCABULARY``, from its ``spi.py``); each provider declares
the subset it has (``backend.capabilities``). Using one the provider lacks raises ``NotSupported``
instead of silently doing less.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigurationError, NotSupported

if TYPE_CHECKING:
    from .resource import Resource


def need(resource: Resource, capability: str) -> None:
    """Raise ``NotSupported`` unless ``resource``'s provider declares ``capability``."""
    if capability not in resource.VOCABULARY:  # a typo in strato itself, not a user error
        raise ConfigurationError(f"{capability!r} is not a capability of a {resource.kind}")
    if capability not in resource.backend.capabilities:
        raise NotSupported(
            f"{resource.kind} {resource.name!r}: the {resource.provider} provider does not support {capability}"
        )


def check_declared(kind: str, provider: str, declared: frozenset[str], vocabulary: frozenset[str]) -> None:
    """A provider may only declare capabilities its kind names (caught when the backend opens)."""
    unknown = declared - vocabulary
    if unknown:
        raise ConfigurationError(f"the {provider} {kind} provider declares unknown capabilities {sorted(unknown)}")
