"""Builds provider backends for declared resources and owns what they share.

Backends are created on first use, so an app that never touches its table never opens SQLite,
and an app on the local provider never imports boto3.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, ServiceUnavailable

if TYPE_CHECKING:
    from .app import App
    from .kv import KV
    from .table import Table


class Providers:
    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.RLock()
        self._shared: dict[str, Any] = {}

    ALLOWED = {"kv": ("local", "aws", "redis"), "cache": ("local", "aws", "redis"), "sql": ("local", "aws", "postgres")}

    def name_of(self, resource: Any) -> str:
        allowed = self.ALLOWED.get(resource.kind, ("local", "aws"))
        return self.app.config.provider_for(resource.kind, resource.name, resource.provider_name, allowed)

    def _get(self, key: str, factory: Any) -> Any:
        with self._lock:
            if key not in self._shared:
                self._shared[key] = factory()
            return self._shared[key]

    def local_tables(self) -> Any:
        from .table.local import LocalTableStore

        config = self.app.config
        return self._get("local-tables", lambda: LocalTableStore(config.data_dir, config.durability))

    def user_pool_backend(self, pool: Any) -> Any:
        if self.name_of(pool) == "aws":
            from .auth.cognito import CognitoUserPoolBackend

            return CognitoUserPoolBackend(
                self.aws(), pool, self.app.config.physical_name("user_pool", pool.name), self.app.config.auto_create
            )
        from .auth.local import LocalAuthStore, LocalUserPoolBackend

        config = self.app.config
        store = self._get("local-auth", lambda: LocalAuthStore(config.data_dir, config.durability))
        return LocalUserPoolBackend(store, pool)

    def meetings_backend(self, meetings: Any) -> Any:
        if self.name_of(meetings) == "aws":
            from .meetings.chime import ChimeMeetingsBackend

            return ChimeMeetingsBackend(self.aws())
        from .meetings.local import LocalMeetingsBackend, LocalMeetingStore
        from .meetings.signalling import signalling_url

        config = self.app.config
        store = self._get("local-meetings", lambda: LocalMeetingStore(config.data_dir, config.durability))
        return LocalMeetingsBackend(store, meetings, lambda: signalling_url(config.data_dir, meetings.name))

    def metrics_backend(self, metrics: Any) -> Any:
        if self.name_of(metrics) == "aws":
            from .config import in_lambda
            from .metrics.aws import CloudWatchMetricsBackend

            return CloudWatchMetricsBackend(
                self.aws(), metrics.namespace, emf=in_lambda(), auto_create=self.app.config.auto_create
            )
        from .metrics.local import LocalMetricsBackend, LocalMetricsStore

        config = self.app.config
        store = self._get("local-metrics", lambda: LocalMetricsStore(config.data_dir, config.durability))
        return LocalMetricsBackend(store, metrics.namespace, metrics.retention_days)

    def aws(self) -> Any:
        from .aws import AwsSession

        return self._get("aws", AwsSession)

    def redis(self) -> Any:
        def connect() -> Any:
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

        return self._get("redis", connect)

    def table_backend(self, table: Table) -> Any:
        provider = self.name_of(table)
        physical = self.app.config.physical_name(table.kind, table.name)
        if provider == "aws":
            from .table.aws import DynamoTableBackend

            return DynamoTableBackend(
                self.aws(),
                table.schema,
                physical,
                self.app.config.auto_create,
                streaming=lambda: bool(getattr(table, "stream_handlers", None)),
            )
        from .table.local import LocalTableBackend

        backend = LocalTableBackend(
            self.local_tables(),
            table.schema,
            f"{table.kind}_{table.name}",
            streaming=lambda: bool(getattr(table, "stream_handlers", None)),
        )
        backend.usage = self.app.usage
        return backend

    def messaging(self) -> Any:
        from .queue.local import MessagingStore

        config = self.app.config
        return self._get("messaging", lambda: MessagingStore(config.data_dir, config.durability))

    def queue_backend(self, queue: Any) -> Any:
        if self.name_of(queue) == "aws":
            from .queue.aws import SqsQueueBackend

            return SqsQueueBackend(
                self.aws(), queue, self.app.config.physical_name("queue", queue.name), self.app.config.auto_create
            )
        from .queue.local import LocalQueueBackend

        backend = LocalQueueBackend(self.messaging(), queue)
        backend.usage = self.app.usage
        return backend

    def topic_backend(self, topic: Any) -> Any:
        if self.name_of(topic) == "aws":
            from .topic.aws import SnsTopicBackend

            return SnsTopicBackend(self.aws(), topic, self.app.config.auto_create)
        from .topic.local import LocalTopicBackend

        backend = LocalTopicBackend(self.messaging(), topic, self.app.config.data_dir)
        backend.usage = self.app.usage
        return backend

    def websocket_backend(self, ws: Any) -> Any:
        if self.name_of(ws) == "aws":
            from .websocket.aws import ApiGatewayWsBackend

            return ApiGatewayWsBackend(self.aws(), ws)
        from .websocket.local import LocalWsBackend

        return LocalWsBackend(ws, self.app.config.data_dir)

    def bucket_backend(self, bucket: Any) -> Any:
        if self.name_of(bucket) == "aws":
            from .bucket.aws import S3BucketBackend

            return S3BucketBackend(self.aws(), bucket, self.app.config.auto_create)
        from .bucket.local import BucketStore, LocalBucketBackend

        config = self.app.config
        store = self._get("buckets", lambda: BucketStore(config.data_dir, config.durability))
        backend = LocalBucketBackend(store, bucket, config.data_dir)
        backend.usage = self.app.usage
        return backend

    def cache_backend(self, cache: Any) -> Any:
        provider = self.name_of(cache)
        if provider == "aws" and (
            os.environ.get("USE_ELASTICACHE", "").lower() in ("1", "true") or os.environ.get("ELASTICACHE_ENDPOINT")
        ):
            provider = "redis"
        if provider == "redis":
            from .cache.redis import RedisCache

            return RedisCache(self.redis(), self.app.config.physical_name("cache", cache.name))
        from .cache.tablecache import TableCache
        from .table import Table

        table = Table(self.app, cache.name, "p", "k", ttl="exp", provider=provider, decimals=True)
        table.kind = "cache"
        return TableCache(table)

    def sql_backend(self, sql: Any) -> Any:
        if self.name_of(sql) in ("aws", "postgres"):
            from .sql.postgres import PostgresBackend

            return PostgresBackend(sql.name, self.aws())
        from .sql.sqlite import SqliteBackend

        return SqliteBackend(self.app.config.data_dir, sql.name, self.app.config.durability)

    def kv_backend(self, kv: KV) -> Any:
        provider = self.name_of(kv)
        if provider == "redis":
            from .kv.redis import RedisKV

            return RedisKV(self.redis(), self.app.config.physical_name("kv", kv.name))
        from .kv.tablekv import TableKV
        from .table import Table

        table = Table(self.app, kv.name, "p", "k", ttl="exp", provider=provider)
        table.kind = "kv"
        return TableKV(table)

    def close(self) -> None:
        with self._lock:
            for key in ("local-tables", "messaging", "buckets"):
                store = self._shared.pop(key, None)
                if store is not None:
                    store.close()
            client = self._shared.pop("redis", None)
            if client is not None:
                client.close()
