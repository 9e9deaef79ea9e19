"""Capabilities: the optional features of a kind that a provider may lack.

Each kind names its vocabulary (``Resource.VOCABULARY``, from its ``spi.py``); each provider declares
the subset it has (``backend.capabilities``). Using one the provider lacks raises ``NotSupported``
instead of silently doing less.
"""

from __future__ import annotations

from .config import env_token
from .errors import ConfigurationError, NotSupported
from .hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .resource import Resource


def need(resource: Resource[Any], capability: str, backend: Any = None) -> None:
    """Raise ``NotSupported`` unless ``resource``'s provider declares ``capability``.

    ``backend`` is one being opened: the registry checks what the declaration needs before handing it
    out. Otherwise the resource's own backend is asked (a feature used by one call)."""
    if capability not in resource.VOCABULARY:  # a typo in strato itself, not a user error
        raise ConfigurationError(f"{capability!r} is not a capability of a {resource.kind}")
    declared = frozenset((backend if backend is not None else resource.backend).capabilities)
    if capability not in declared:
        why = " (its declaration uses it)" if backend is not None else ""
        has = ", ".join(sorted(declared)) or "none of the optional features"
        variable = f"STRATO_{resource.kind.upper()}_{env_token(resource.name)}_PROVIDER"
        raise NotSupported(
            f"{resource.kind} {resource.name!r}: the {resource.provider} provider does not support {capability}{why}; "
            f"it supports {has}. Choose a provider that does (provider= or {variable}) or do without {capability}"
        )


def check_declared(kind: str, provider: str, declared: frozenset[str], vocabulary: frozenset[str]) -> None:
    """A provider may only declare capabilities its kind names (caught when the backend opens)."""
    unknown = declared - vocabulary
    if unknown:
        raise ConfigurationError(f"the {provider} {kind} provider declares unknown capabilities {sorted(unknown)}")
