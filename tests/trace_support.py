"""What the tracing tests share: ``traced``, a tracer writing to a fresh span store, installed for one test."""

from __future__ import annotations

import pytest

from strato.trace import SpanStore, Tracer, install


@pytest.fixture
def traced(tmp_path):
    store = SpanStore(tmp_path / "spans")
    tracer = Tracer([store.add])
    previous = install(tracer)
    yield tracer, store
    install(previous)
    store.close()
