"""AWS-side details of the storage providers that the conformance suites do not see."""

from __future__ import annotations

import boto3

from strato.cache.redis import RedisCache
from strato.cache.tablecache import TableCache


def test_s3_bucket_gets_its_lifecycle_rule_and_private_access(make_app, moto_server):
    app = make_app("aws")
    bucket = app.bucket("results", expire_after_days=30)
    bucket.ensure()
    s3 = boto3.client("s3", endpoint_url=moto_server)
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket.physical_name)["Rules"]
    assert rule["Expiration"] == {"Days": 30} and rule["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket.physical_name)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_cache_on_aws_uses_elasticache_only_when_asked(make_app, moto_server, redis_url, monkeypatch):
    app = make_app("aws")
    monkeypatch.delenv("ELASTICACHE_ENDPOINT", raising=False)
    monkeypatch.setenv("USE_ELASTICACHE", "false")
    assert isinstance(app.cache("a").backend, TableCache)
    monkeypatch.setenv("USE_ELASTICACHE", "true")
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert isinstance(app.cache("b").backend, RedisCache)
    monkeypatch.delenv("USE_ELASTICACHE")
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("ELASTICACHE_ENDPOINT", redis_url.replace("redis://", ""))
    cache = app.cache("c")
    assert isinstance(cache.backend, RedisCache)
    cache.set("k", "via the ElastiCache endpoint")
    assert cache.get("k") == "via the ElastiCache endpoint"
    cache.drop()
