"""Shared fixtures: a moto_server process, Redis, and apps bound to each provider.

Nothing here can reach AWS: credentials are fake, the metadata service is disabled, and every
AWS endpoint points at loopback (moto_server, or a closed port until moto starts).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # closed until the moto fixture replaces it
    }
)
os.environ.pop("STRATO_PROVIDER", None)

REQUIRE_SERVICES = os.environ.get("STRATO_REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def gateway_event(method: str, path: str, headers=(), domain: str = "127.0.0.1") -> dict:
    """An API Gateway HTTP API (payload 2.0) event for a request with no body, as ``strato dev`` builds it."""
    from strato.events.apigw_http import http_event

    return http_event(
        method=method,
        raw_path=path,
        raw_query="",
        headers=list(headers),
        body=b"",
        source_ip="127.0.0.1",
        route_key="$default",
        path_parameters=None,
        domain=domain,
    )


def wait_until(predicate, timeout: float = 20.0, every: float = 0.02, what: str = "the condition"):
    """Poll ``predicate`` until it returns something truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def service_missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (STRATO_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{what} not reachable on this machine")


@pytest.fixture(scope="session")
def moto_server():
    """A real moto_server process on a free loopback port; AWS_ENDPOINT_URL points at it."""
    port = free_port()
    # moto checks TOTP codes only when asked to (against its one fixed secret)
    env = {**os.environ, "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "moto_atomic.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port, 30, proc)
    except RuntimeError as exc:
        proc.kill()
        service_missing(f"moto_server ({exc})")
    endpoint = f"http://127.0.0.1:{port}"
    previous = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    os.environ["AWS_ENDPOINT_URL"] = previous
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("STRATO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing(f"Redis at {url} ({exc})")
    return url


@pytest.fixture(scope="session")
def postgres_url():
    url = os.environ.get("STRATO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # any failure means "not available"
        service_missing(f"PostgreSQL at {url} ({exc})")
    return url


@pytest.fixture
def postgres_schema(postgres_url, monkeypatch):
    """A fresh schema for one test; STRATO_SQL_MAIN_URL points at it."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    monkeypatch.setenv("STRATO_SQL_MAIN_URL", f"{postgres_url}?options=-csearch_path%3D{schema}")
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def make_app(tmp_path, request, monkeypatch):
    """make_app(provider) -> a fresh App on that provider with a unique name (isolated data)."""
    import strato

    apps = []

    def make(provider: str = "local", **kwargs):
        if provider == "aws":
            request.getfixturevalue("moto_server")
        if provider == "redis":
            monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
        app = strato.App(
            f"t{uuid.uuid4().hex[:10]}",
            provider="aws" if provider == "aws" else "local",
            data_dir=tmp_path / f"data{len(apps)}",
            **kwargs,
        )
        app.config.auto_create = provider == "aws"
        apps.append(app)
        return app

    yield make
    for app in apps:
        for (kind, _), resource in list(app.resources.items()):
            if kind in ("table", "kv", "queue", "topic", "sql", "user_pool") and resource._backend is not None:
                try:
                    resource.drop()
                except Exception:
                    pass
        app.close()


def moto_gap(request, provider: str, reason: str) -> None:
    """Mark this test's aws case as a known moto gap: it must still fail (strict), the assertion stays."""
    if provider == "aws":
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"moto_server gap: {reason}"))


class DevServer:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path, data_dir: Path | None = None) -> None:
        self.url = url
        self.proc = proc
        self.log = log
        self.data_dir = data_dir

    @property
    def secret_headers(self) -> dict[str, str]:
        """The header the private /_strato/ endpoints need (the secret `strato dev` wrote in its data dir)."""
        from strato.runtime.devsecret import internal_headers

        assert self.data_dir is not None
        return internal_headers(self.data_dir)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_dev_server(
    app_spec: str, data_dir: Path, *extra: str, env: dict | None = None, port: int | None = None
) -> DevServer:
    port = port or free_port()
    log = data_dir.parent / f"dev-{port}.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    proc_env = {**os.environ, "STRATO_PROVIDER": "local", **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strato.cli",
            "dev",
            app_spec,
            "--port",
            str(port),
            "--data",
            str(data_dir),
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=proc_env,
        cwd=ROOT,
    )
    try:
        wait_for_port(port, 30, proc)
    except RuntimeError as exc:
        proc.kill()
        raise RuntimeError(f"{exc}\n{log.read_text(errors='replace')}") from exc
    return DevServer(f"http://127.0.0.1:{port}", proc, log, data_dir)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def dev_server(tmp_path):
    """dev_server("path/app.py") -> a running `strato dev` subprocess on a free port."""
    started = []

    def start(app_spec: str, *extra: str, env: dict | None = None) -> DevServer:
        server = start_dev_server(app_spec, tmp_path / f"data{len(started)}", *extra, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server.proc)


@pytest.fixture(scope="session")
def strato_moto(moto_server):
    """The test kit's aws provider uses the suite's moto_server rather than starting its own."""
    return moto_server
