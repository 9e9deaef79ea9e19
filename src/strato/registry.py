"""The registry: which module builds each (kind, provider) backend, and everything those backends share.

Adding a primitive is one folder plus its rows here. Provider modules are imported only when a
resource of that kind first opens on that provider, so an app on the local provider never imports
boto3, and one that never touches its table never opens SQLite. ``close()`` closes every backend and
shared store it opened.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable

from .core.config import Config
from .core.errors import ConfigurationError, ServiceUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, TypeVar

    from .core.resource import Resource
    from .core.usage import Counter
    from .runtime.aws import AwsSession

    T = TypeVar("T")

#: (kind, provider) -> "module:function" taking (resource, services) and returning the backend
FACTORIES: dict[tuple[str, str], str] = {
    ("table", "local"): "strato.table.local:open_backend",
    ("table", "aws"): "strato.table.aws:open_backend",
    ("kv", "local"): "strato.kv.tablekv:open_backend",
    ("kv", "aws"): "strato.kv.tablekv:open_backend",
    ("kv", "redis"): "strato.kv.redis:open_backend",
    ("cache", "local"): "strato.cache.tablecache:open_backend",
    ("cache", "aws"): "strato.cache.tablecache:open_backend",
    ("cache", "redis"): "strato.cache.redis:open_backend",
    ("bucket", "local"): "strato.bucket.local:open_backend",
    ("bucket", "aws"): "strato.bucket.aws:open_backend",
    ("queue", "local"): "strato.queue.local:open_backend",
    ("queue", "aws"): "strato.queue.aws:open_backend",
    ("topic", "local"): "strato.topic.local:open_backend",
    ("topic", "aws"): "strato.topic.aws:open_backend",
    ("websocket", "local"): "strato.websocket.local:open_backend",
    ("websocket", "aws"): "strato.websocket.aws:open_backend",
    ("sql", "local"): "strato.sql.sqlite:open_backend",
    ("sql", "aws"): "strato.sql.postgres:open_backend",
    ("sql", "postgres"): "strato.sql.postgres:open_backend",
    ("metrics", "local"): "strato.metrics.local:open_backend",
    ("metrics", "aws"): "strato.metrics.aws:open_backend",
    ("user_pool", "local"): "strato.auth.local:open_backend",
    ("user_pool", "aws"): "strato.auth.cognito:open_backend",
    ("meetings", "local"): "strato.meetings.local:open_backend",
    ("meetings", "aws"): "strato.meetings.chime:open_backend",
    ("workflow", "local"): "strato.workflow.local:open_backend",
    ("workflow", "aws"): "strato.workflow.aws:open_backend",
}


def providers_of(kind: str) -> tuple[str, ...]:
    return tuple(p for (k, p) in FACTORIES if k == kind)


class Registry:
    """Opens backends for one App and owns what they share (SQLite stores, boto3 clients, Redis)."""

    def __init__(self, config: Config, usage_of: Callable[[], Counter]) -> None:
        self.config = config
        self._usage_of = usage_of
        self._lock = threading.RLock()
        self._shared: dict[str, Any] = {}

    @property
    def usage(self) -> Counter:
        return self._usage_of()

    def provider_of(self, resource: Resource) -> str:
        """Explicit ``provider=``, then ``STRATO_<KIND>_<NAME>_PROVIDER``, then the app's provider."""
        return self.config.provider_for(
            resource.kind, resource.name, resource.provider_name, providers_of(resource.kind)
        )

    def open(self, resource: Resource) -> Any:
        from .core.capabilities import check_declared, need

        provider = self.provider_of(resource)
        module_name, function = FACTORIES[(resource.kind, provider)].split(":")
        factory = getattr(importlib.import_module(module_name), function)
        backend = factory(resource, self)
        check_declared(resource.kind, provider, frozenset(backend.capabilities), resource.VOCABULARY)
        for capability in sorted(resource.required_capabilities()):
            need(resource, capability, backend)
        return backend

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One instance of ``key`` per app (a SQLite store, a client, a pool); ``close()`` closes it."""
        with self._lock:
            if key not in self._shared:
                self._shared[key] = factory()
            found: T = self._shared[key]  # what factory() made for this key
            return found

    def local_store(self, store_type: Callable[[Path, str], T]) -> T:
        """The app's one instance of a local SQLite store (``store_type(data_dir, durability)``)."""
        key = f"store:{getattr(store_type, '__module__', '')}.{getattr(store_type, '__qualname__', store_type)}"
        return self.shared(key, lambda: store_type(self.config.data_dir, self.config.durability))

    def aws(self) -> AwsSession:
        from .runtime.aws import AwsSession

        return self.shared("aws", AwsSession)

    def redis(self) -> Any:
        return self.shared("redis", _connect_redis)

    def adopt(self, previous: Registry) -> bool:
        """Share ``previous``'s open things (``strato dev --reload``: the App of a reload keeps the SQLite
        files, their checkpointers and the clients the App it replaces opened): both registries then hold
        one dict, and only the newer one is to be closed. False, and nothing shared, if this registry has
        opened something already or the two differ in data dir or durability."""
        if self._shared or (self.config.data_dir, self.config.durability) != (
            previous.config.data_dir,
            previous.config.durability,
        ):
            return False
        with previous._lock:
            self._shared, self._lock = previous._shared, previous._lock
        return True

    def close(self) -> None:
        """Close everything opened through :meth:`shared` (files, pools, sockets); providers put every
        closeable thing there, so nothing stays open after ``App.close()``."""
        with self._lock:
            shared, self._shared = self._shared, {}
        for thing in shared.values():
            close = getattr(thing, "close", None)
            if callable(close):
                close()


def _connect_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigurationError("the redis provider needs redis-py: pip install 'strato[redis]'") from None
    url = os.environ.get("REDIS_URL") or os.environ.get("ELASTICACHE_ENDPOINT") or "redis://127.0.0.1:6379/0"
    if "://" not in url:
        scheme = "rediss" if os.environ.get("REDIS_TLS", "").lower() in ("1", "true") else "redis"
        url = f"{scheme}://{url}"
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"cannot reach Redis at {url}: {exc}") from exc
    return client


if TYPE_CHECKING:  # mypy checks that the registry is what facades and providers are promised
    from .core.context import Backends, ProviderServices

    def _serves_providers(registry: Registry) -> ProviderServices:
        return registry

    def _opens_backends(registry: Registry) -> Backends:
        return registry
