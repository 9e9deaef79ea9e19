"""What every conformance suite's capability test shares, after Dapr's conformance suites: a provider
declares a subset of its kind's vocabulary, and each capability it leaves out raises ``NotSupported``
when used, storing and changing nothing.

Each suite has a table ``USES = {capability: lambda resource: <a use of it>}`` covering the whole
vocabulary (so a new capability cannot be added without a use), and ``ALSO``: the other places a
capability is used. Most real providers declare every capability, so each suite also runs its tables
against a double: the real local backend, re-classed to a subclass that declares no capability (or
lacks just one), and opened through the registry (``lacking``), so the uses that come with a
declaration (a table's ``ttl=``, a FIFO queue) fail when it opens. ``ALSO`` runs against the doubles
that lack one capability, where no other missing one can be refused first.

A few capabilities are a field of a report rather than a call (a queue's ``stats().oldest_age``):
their absence reads as None instead of raising. Suites name those in ``soft``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

import strato
from strato.registry import FACTORIES

Use = Callable[[Any], Any]

#: kind -> (the real factory, the capabilities the double keeps), while a test points the registry at ``open_bare``
REAL_FACTORIES: dict[str, tuple[str, frozenset[str]]] = {}
_BARE_CLASSES: dict[tuple[type, frozenset[str]], type] = {}


def open_bare(resource: Any, services: Any) -> Any:
    """A registry factory: the kind's real backend, as a subclass that declares no capability (or only some)."""
    factory, keep = REAL_FACTORIES[resource.kind]
    module, function = factory.split(":")
    backend = getattr(importlib.import_module(module), function)(resource, services)
    real = type(backend)
    if (real, keep) not in _BARE_CLASSES:
        _BARE_CLASSES[real, keep] = type(f"Bare{real.__name__}", (real,), {"capabilities": keep})
    vars(backend).pop("capabilities", None)  # a backend that sets them per instance (kv on a table)
    backend.__class__ = _BARE_CLASSES[real, keep]
    return backend


def without_capabilities(
    monkeypatch: pytest.MonkeyPatch, kind: str, provider: str = "local", *, keep: Iterable[str] = ()
) -> None:
    """For this test, the registry opens ``kind`` on ``provider`` as a double declaring only ``keep``."""
    monkeypatch.setitem(REAL_FACTORIES, kind, (FACTORIES[(kind, provider)], frozenset(keep)))
    monkeypatch.setitem(FACTORIES, (kind, provider), f"{__name__}:open_bare")


EVERYTHING = "everything"


def double_cases(vocabulary: frozenset[str]) -> list[str]:
    """What the double lacks, one test each: every capability at once, then each one alone."""
    return [EVERYTHING, *sorted(vocabulary)]


def lacking(monkeypatch: pytest.MonkeyPatch, kind: str, missing: str, vocabulary: frozenset[str]) -> list[str]:
    """Point the registry at a double that lacks ``missing`` (or everything); returns what it lacks."""
    keep = frozenset() if missing == EVERYTHING else vocabulary - {missing}
    without_capabilities(monkeypatch, kind, keep=keep)
    return sorted(vocabulary - keep)


def assert_absent(
    resource: Any,
    uses: Mapping[str, Use],
    *,
    state: Use = lambda resource: None,
    soft: Iterable[str] = (),
    also: Iterable[tuple[str, Use]] = (),
) -> list[str]:
    """(a) ``uses`` covers the vocabulary and the provider declares only capabilities in it; (b) each one it
    leaves out raises NotSupported naming it (a ``soft`` one reads as None) and ``state(resource)`` is the same
    after the use as before. ``also`` adds (capability, use) pairs, other places a capability is used; they
    run when it is the only one missing (with more missing, another could rightly be refused first).
    Returns the capabilities it found missing."""
    vocabulary = frozenset(resource.VOCABULARY)
    assert set(uses) == vocabulary, f"uses for {sorted(vocabulary ^ set(uses))} are missing or unknown"
    declared = resource.capabilities
    assert declared <= vocabulary, f"declares unknown {sorted(declared - vocabulary)}"
    missing = sorted(vocabulary - declared)
    soft = set(soft)
    runs = [(c, uses[c]) for c in missing] + [(c, u) for c, u in also if [c] == missing]
    for capability, use in runs:
        before = state(resource)
        if capability in soft:
            assert use(resource) is None, f"{capability} is missing, so it should read as None"
        else:
            with pytest.raises(strato.NotSupported, match=rf"does not support {re.escape(capability)}\b"):
                use(resource)
        assert state(resource) == before, f"a refused use of {capability} changed something"
    return missing
