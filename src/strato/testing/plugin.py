"""The pytest plugin of strato (entry point ``pytest11``): fixtures to test an app in-process, in
milliseconds, against the local provider or boto3 on a moto server.

    def test_create(client, drain, outbox):
        assert client.post("/jobs", json={"n": 1}).status == 202
        drain()                                   # the queue consumer runs here, in this thread
        assert outbox.topic("done")[0].json() == {"n": 1}

Which app: ``strato_app = path/to/app.py`` in the ini options, ``@pytest.mark.strato_app("...")`` on a
test, or ``strato_app("...")`` in it. Only ``pytest`` is imported when the plugin loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .apps import AppUnderTest
    from .client import Client
    from .clock import Clock
    from .meters import Metrics, Usage
    from .outbox import Outbox


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("strato_app", "the app strato's fixtures load unless a test names another (path.py or module)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "strato_providers(*names): run the test once per provider: local, aws (boto3 against a moto server "
        "on a free loopback port, with fake credentials)",
    )
    config.addinivalue_line("markers", "strato_app(spec): the app strato's fixtures load for this test")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("strato_providers")
    if marker is not None and "strato_provider" in metafunc.fixturenames:
        providers = list(marker.args) or ["local"]
        metafunc.parametrize("strato_provider", providers, indirect=True, ids=providers)


@pytest.fixture
def strato_provider(request: pytest.FixtureRequest) -> str:
    """The provider this test runs against: ``local`` unless ``strato_providers`` says otherwise."""
    return str(getattr(request, "param", os.environ.get("STRATO_TEST_PROVIDER", "local")))


@pytest.fixture(scope="session")
def strato_moto() -> Iterator[str]:
    """The endpoint of a moto server for the session, started on first use."""
    from .moto import MotoServer

    with MotoServer() as endpoint:
        yield endpoint


@pytest.fixture
def strato_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    strato_provider: str,
) -> Iterator[AppUnderTest]:
    """``strato_app("app.py")`` loads the app afresh, with a data directory of its own; it is closed (and
    on aws its resources deleted) when the test ends."""
    from .apps import AppUnderTest
    from .moto import FAKE_AWS

    provider = strato_provider
    marker = request.node.get_closest_marker("strato_app")
    default = marker.args[0] if marker is not None and marker.args else request.config.getini("strato_app") or None
    if provider == "aws":
        for name, value in FAKE_AWS.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)

    def endpoint() -> str:
        return str(request.getfixturevalue("strato_moto"))

    apps = AppUnderTest(
        tmp_path_factory.mktemp("strato"),
        provider,
        default,
        request.config.rootpath,
        monkeypatch.setenv,
        endpoint,
    )
    yield apps
    apps.close()


@pytest.fixture
def client(strato_app: AppUnderTest) -> Client:
    """An in-process HTTP client of the app under test (the dispatcher Lambda uses, no sockets)."""
    from .client import Client

    return Client(lambda: strato_app.app)


@pytest.fixture
def drain(strato_app: AppUnderTest) -> Any:
    """``drain()`` runs queue consumers, topic deliveries, stream handlers and bucket events in this thread
    until nothing is left, raising the first handler exception."""

    def run(*, timeout: float = 30.0) -> int:
        return strato_app.drain(timeout=timeout)

    return run


@pytest.fixture
def clock(strato_app: AppUnderTest) -> Iterator[Clock]:
    """Virtual time for everything strato times, frozen until the test moves it: ``clock.advance(60)``,
    ``clock.set(datetime(...))``, ``clock.now()``."""
    from .clock import Clock

    virtual = Clock(strato_app.current).start()
    yield virtual
    virtual.stop()


@pytest.fixture
def outbox(strato_app: AppUnderTest) -> Iterator[Outbox]:
    """What the app sent while the test ran: ``outbox.queue(name)``, ``.topic(name)``, ``.websocket(name)``."""
    from .outbox import Outbox

    box = Outbox(lambda: strato_app.app).start()
    yield box
    box.stop()


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    """The metric data points the app put while the test ran: ``metrics.values("Latency")``."""
    from .meters import Metrics

    recorded = Metrics().start()
    yield recorded
    recorded.stop()


@pytest.fixture
def usage(strato_app: AppUnderTest) -> Usage:
    """The app's billable counts: ``usage["lambda", "invocations"]``, ``usage.cost()``."""
    from .meters import Usage

    return Usage(lambda: strato_app.app)
