"""``strato_app``: the app under test, loaded afresh for each test with its own data directory, on the
provider the test runs against (``local``, or ``aws`` = boto3 against a moto server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import App
    from .drain import Drain

PROVIDERS = ("local", "aws")


class AppUnderTest:
    """Call it with a path (``"app.py"``, ``"examples/notes/app.py:app"``) or a module (``"notes.app"``)
    to load that app; the other fixtures (``client``, ``drain``, ``clock``...) use the app loaded last, or
    the default one (the ``strato_app`` ini option or ``@pytest.mark.strato_app(...)``) when none was."""

    def __init__(
        self,
        data_root: Path,
        provider: str,
        default: str | None,
        rootdir: Path,
        setenv: Callable[[str, str], None],
        aws_endpoint: Callable[[], str],
    ) -> None:
        if provider not in PROVIDERS:
            raise ConfigurationError(f"strato_providers: {provider!r} is not one of {', '.join(PROVIDERS)}")
        self.data_root = data_root
        self.provider = provider
        self.default = default
        self.rootdir = rootdir
        self._setenv = setenv
        self._aws_endpoint = aws_endpoint
        self.loaded: list[tuple[App, Drain]] = []

    def __call__(self, spec: str | None = None, *, provider: str | None = None) -> App:
        from ..loader import load_app
        from .drain import Drain

        spec = spec or self.default
        if not spec:
            raise ConfigurationError(
                "no app to load: call strato_app('path/to/app.py'), mark the test "
                "@pytest.mark.strato_app('path/to/app.py'), or set strato_app = ... in the pytest ini options"
            )
        provider = provider or self.provider
        data_dir = self.data_root / f"app{len(self.loaded)}"
        self._setenv("STRATO_DATA_DIR", str(data_dir))
        self._setenv("STRATO_PROVIDER", provider)
        if provider == "aws":
            self._setenv("AWS_ENDPOINT_URL", self._aws_endpoint())
            self._setenv("STRATO_STAGE", f"t{uuid.uuid4().hex[:8]}")  # names no other test uses
        app = load_app(self._resolve(spec), fresh=True)
        if app.config.data_dir != data_dir and Path(app.config.data_dir).resolve() != data_dir.resolve():
            raise ConfigurationError(
                f"{spec}: the app sets its own data_dir ({app.config.data_dir}); the test kit gives each test "
                "its own, through STRATO_DATA_DIR: leave data_dir= out of strato.App(...)"
            )
        app.config.auto_create = provider == "aws"
        app.ensure()
        self.loaded.append((app, Drain(app)))
        return app

    def _resolve(self, spec: str) -> str:
        """A relative path is tried from the working directory, then from pytest's rootdir."""
        target, _, attr = spec.partition(":")
        if target.endswith(".py") and not Path(target).is_absolute() and not Path(target).exists():
            candidate = self.rootdir / target
            if candidate.exists():
                target = str(candidate)
        return f"{target}:{attr}" if attr else target

    @property
    def app(self) -> App:
        """The app loaded last (the default app, loaded now, if none was)."""
        if not self.loaded:
            self()
        return self.loaded[-1][0]

    def current(self) -> App | None:
        """The app loaded last, else the default one (loaded now), else None when the test names none."""
        if not self.loaded and not self.default:
            return None
        return self.app

    @property
    def drain(self) -> Drain:
        if not self.loaded:
            self()
        return self.loaded[-1][1]

    def close(self) -> None:
        for app, drain in reversed(self.loaded):
            drain.close()
            for gateway in app.__dict__.get("_kit_gateways", {}).values():
                from ..websocket.local import unregister_gateway

                unregister_gateway(app.config.data_dir, gateway.api.name)
            if app.config.provider == "aws":
                _drop_all(app)
            app.close()
        self.loaded.clear()


def _drop_all(app: App) -> None:
    """Delete what the test made on the moto server (each test has its own stage, so nothing is shared)."""
    for resource in list(app.resources.values()):
        if getattr(resource, "_backend", None) is not None and hasattr(resource, "drop"):
            try:
                resource.drop()
            except Exception:  # best effort: the server is the test's, and goes with the session
                pass
