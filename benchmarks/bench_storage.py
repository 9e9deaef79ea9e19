"""bucket put/get (1 KiB and 1 MiB): local provider vs plain files with the same (no-)fsync policy and
vs S3 on moto_server; cache get/set: local vs Redis provider vs raw redis-py, plus redis-benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from .indexed_files import IndexedFiles
from .support import Row, ScalePoint, moto_server


def _app(provider: str, data: Path):
    import strato

    app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
    app.config.auto_create = provider == "aws"
    return app


def _timed(fn, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - started)


def _interleaved(fns: list, n: int, chunk: int) -> list[float]:
    """Operations per second of each fn(i) for i in range(n), run in alternating chunks (A, B, C, A, B, C ...)."""
    spent = [0.0] * len(fns)
    for start in range(0, n, chunk):
        for side, fn in enumerate(fns):
            began = time.perf_counter()
            for i in range(start, min(start + chunk, n)):
                fn(i)
            spent[side] += time.perf_counter() - began
    return [n / s for s in spent]


PLAIN = "plain files (no MD5, no index)"
INDEXED = "files + MD5 + rename + SQLite row"


def bucket_rows(quick: bool) -> list[Row]:
    rows = []
    sizes = {"1 KiB": 1024, "1 MiB": 1024 * 1024}
    with tempfile.TemporaryDirectory() as tmp:
        bucket = _app("local", Path(tmp) / "strato").bucket("bench")
        plain = Path(tmp) / "plain"
        plain.mkdir()
        indexed = IndexedFiles(Path(tmp) / "indexed")
        for label, size in sizes.items():
            n = (200 if size > 4096 else 2000) // (4 if quick else 1)
            payload = os.urandom(size)

            def plain_put(i: int, payload: bytes = payload, label: str = label) -> None:
                path = plain / f"{label}-{i}"
                tmp_path = path.with_suffix(".tmp")
                tmp_path.write_bytes(payload)
                os.replace(tmp_path, path)

            def plain_get(i: int, label: str = label) -> None:
                (plain / f"{label}-{i}").read_bytes()

            put_rate, plain_put_rate, indexed_put_rate = _interleaved(
                [
                    lambda i, p=payload, lb=label: bucket.put(f"{lb}/{i}", p),
                    plain_put,
                    lambda i, p=payload, lb=label: indexed.put(f"{lb}/{i}", p),
                ],
                n,
                max(n // 10, 1),
            )
            get_rate, plain_get_rate, indexed_get_rate = _interleaved(
                [
                    lambda i, lb=label: bucket.get(f"{lb}/{i}"),
                    plain_get,
                    lambda i, lb=label: indexed.get(f"{lb}/{i}"),
                ],
                n,
                max(n // 10, 1),
            )
            rows += [
                Row("bucket", f"local put {label}", put_rate, plain_put_rate, PLAIN, "ops/s", "≥ 0.5x (within 2x)"),
                Row("bucket", f"local put {label}", put_rate, indexed_put_rate, INDEXED, "ops/s", "≥ 0.8x"),
                Row("bucket", f"local get {label}", get_rate, plain_get_rate, PLAIN, "ops/s", "≥ 0.5x (within 2x)"),
                Row("bucket", f"local get {label}", get_rate, indexed_get_rate, INDEXED, "ops/s", "≥ 0.8x"),
            ]
        for i in range(1000):  # a page's worth under one prefix, last in key order in both stores
            bucket.put(f"list/{i:04d}", b"x" * 100)
            indexed.put(f"list/{i:04d}", b"x" * 100)
        pages = 20 if quick else 100
        list_rate, indexed_list_rate = _interleaved(
            [lambda i: bucket.list("list/"), lambda i: indexed.list_page("list/")], pages, max(pages // 10, 1)
        )
        rows.append(Row("bucket", "list page of 1,000 keys", list_rate, indexed_list_rate, INDEXED, "pages/s"))
        indexed.close()
        local = {r.metric: r.strato for r in rows}
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        s3 = _app("aws", Path(tmp)).bucket("bench")
        for label, size in sizes.items():
            n = 20 if quick else 60
            payload = os.urandom(size)
            put = _timed(lambda i, p=payload, lb=label: s3.put(f"{lb}/{i}", p), n)
            get = _timed(lambda i, lb=label: s3.get(f"{lb}/{i}"), n)
            rows.append(
                Row("bucket", f"local vs S3 put {label}", local[f"local put {label}"], put, "S3 on moto", "ops/s")
            )
            rows.append(
                Row("bucket", f"local vs S3 get {label}", local[f"local get {label}"], get, "S3 on moto", "ops/s")
            )
    return rows


def cache_rows(quick: bool) -> list[Row]:
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        raw = redis.Redis.from_url(url)
        raw.ping()
    except redis.RedisError:
        print("skipping cache benchmark: no Redis at", url)
        return []
    os.environ["REDIS_URL"] = url
    n = 2000 if quick else 10000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        local = _app("local", Path(tmp)).cache("bench")
        redis_cache = _app("local", Path(tmp) / "r").cache("bench", provider="redis")
        value = {"user": "ana", "n": 1, "tags": ["a", "b"]}
        raw_value = b'\x00j{"user":"ana","n":1,"tags":["a","b"]}'
        set_rate, raw_set = _interleaved(
            [lambda i: redis_cache.set(f"k{i}", value), lambda i: raw.set(f"raw:k{i}", raw_value)], n, n // 10
        )
        get_rate, raw_get = _interleaved(
            [lambda i: redis_cache.get(f"k{i}"), lambda i: raw.get(f"raw:k{i}")], n, n // 10
        )
        local_set = _timed(lambda i: local.set(f"k{i}", value), n // 2)
        local_get = _timed(lambda i: local.get(f"k{i}"), n // 2)
        rows += [
            Row("cache", "Redis provider set", set_rate, raw_set, "raw redis-py SET", "ops/s", "≥ 0.33x (within 3x)"),
            Row("cache", "Redis provider get", get_rate, raw_get, "raw redis-py GET", "ops/s", "≥ 0.33x (within 3x)"),
            Row("cache", "local (SQLite) set vs Redis provider", local_set, set_rate, "Redis provider", "ops/s"),
            Row("cache", "local (SQLite) get vs Redis provider", local_get, get_rate, "Redis provider", "ops/s"),
        ]
        redis_cache.drop()
        raw.delete(*[f"raw:k{i}" for i in range(n)])
    if shutil.which("redis-benchmark"):
        out = subprocess.run(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", "6379", "-t", "get,set", "-n", str(n * 5), "-c", "1", "-q"],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
        found = {}
        for line in out.replace("\r", "\n").splitlines():
            if "requests per second" in line:
                name, rest = line.split(":", 1)
                found[name.strip()] = float(rest.strip().split()[0])
        for op in ("GET", "SET"):
            if op in found:
                rows.append(
                    Row(
                        "cache",
                        f"Redis provider {op.lower()} vs redis-benchmark (1 client)",
                        get_rate if op == "GET" else set_rate,
                        found[op],
                        "redis-benchmark -c 1",
                        "ops/s",
                    )
                )
    return rows


def run(quick: bool = False) -> list[Row]:
    return bucket_rows(quick) + cache_rows(quick)


def scale(quick: bool = False) -> list[ScalePoint]:
    """Bucket cost per operation with 1k / 10k / 100k objects already stored: put (1 KiB, a new key), get
    (a random existing key), list (a page of 1,000 from a random position)."""
    import random

    points = []
    ops = 200 if quick else 1000
    payload = os.urandom(1024)
    with tempfile.TemporaryDirectory() as tmp:
        bucket = _app("local", Path(tmp)).bucket("bench")
        stored = 0
        for size in (1_000, 10_000, 100_000):
            while stored < size:
                bucket.put(f"obj/{stored:07d}", payload)
                stored += 1
            cursors: list[str | None] = [None]  # every page start, collected untimed
            while (cursor := bucket.list("obj/", cursor=cursors[-1]).cursor) is not None:
                cursors.append(cursor)
            started = time.perf_counter()
            for i in range(ops):
                bucket.put(f"new/{size}/{i:05d}", payload)
            put_us = (time.perf_counter() - started) / ops * 1e6
            keys = [f"obj/{random.randrange(size):07d}" for _ in range(ops)]
            started = time.perf_counter()
            for key in keys:
                bucket.get(key)
            get_us = (time.perf_counter() - started) / ops * 1e6
            starts = [random.choice(cursors) for _ in range(ops // 20)]
            started = time.perf_counter()
            for cursor in starts:
                bucket.list("obj/", cursor=cursor)
            list_us = (time.perf_counter() - started) / len(starts) * 1e6
            points += [
                ScalePoint("bucket put 1 KiB (objects stored)", size, put_us),
                ScalePoint("bucket get 1 KiB (objects stored)", size, get_us),
                ScalePoint("bucket list page of 1,000 (objects stored)", size, list_us, "µs/page"),
            ]
    return points
